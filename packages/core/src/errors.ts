/**
 * modelserve's one error vocabulary: every code, the gRPC status it travels as (number and name),
 * and the error class core throws. Dependency-free and exported on its own subpath
 * (`@modelserve/core/errors`), so the server and the remote client share this table without
 * loading the rest of core (onnxruntime among it).
 */

/**
 * Each code and the gRPC status it becomes, in gRPC's order; the value is the status number.
 * Core throws the first nine; the rest name what a server or the network may answer a client.
 */
export const Code = {
  /** The caller cancelled the request. */
  Cancelled: 1,
  /** A failure whose cause is not known (a thrown value that is not a ModelServeError, an unnamed status). */
  Unknown: 2,
  /** The request is malformed: names, datatypes, shapes or contents do not match the model. */
  InvalidArgument: 3,
  /** The request's deadline passed before it could be answered. */
  DeadlineExceeded: 4,
  /** The named model or version does not exist in the repository. */
  NotFound: 5,
  /** What the request would create exists already. */
  AlreadyExists: 6,
  /** The caller is known but may not call this method (a token that does not grant it). */
  PermissionDenied: 7,
  /** A queue or limit is full; retry later. */
  ResourceExhausted: 8,
  /** The operation does not fit the current state (e.g. loading a model that is unloading). */
  FailedPrecondition: 9,
  /** The operation was abandoned part-way (a conflict with another one). */
  Aborted: 10,
  /** A value is past the range the operation accepts. */
  OutOfRange: 11,
  /** The operation exists in the protocol but this server does not implement it. */
  Unimplemented: 12,
  /** A bug or a backend failure; the message is safe to show, the cause is logged. */
  Internal: 13,
  /** The model, version or server cannot serve now (loading, draining, unreachable); retry elsewhere. */
  Unavailable: 14,
  /** Data was lost or corrupted. */
  DataLoss: 15,
  /** The call carries no valid credentials. */
  Unauthenticated: 16,
} as const;

/** Why an operation failed, by name (`'InvalidArgument'`). */
export type ErrorCode = keyof typeof Code;

/** A gRPC status number that names a failure (1–16; OK is not an error). */
export type StatusCode = (typeof Code)[ErrorCode];

/** Every error code, for exhaustive tables and tests. */
export const errorCodes: readonly ErrorCode[] = Object.keys(Code) as ErrorCode[];

const codeByStatus = new Map<number, ErrorCode>(errorCodes.map((code) => [Code[code], code]));

/** The gRPC status number of a code: `InvalidArgument` → 3. */
export function statusOf(code: ErrorCode): StatusCode {
  return Code[code];
}

/** The gRPC status name of a code: `InvalidArgument` → `INVALID_ARGUMENT`, as grpc-js's `status` enum spells it. */
export function statusNameOf(code: ErrorCode): string {
  return code.replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase();
}

/** The code of a gRPC status number; undefined for OK and numbers gRPC does not define. */
export function codeOfStatus(status: number): ErrorCode | undefined {
  return codeByStatus.get(status);
}

/** An error with a code and a message that says what was expected and what was got. */
export class ModelServeError extends Error {
  override readonly name = 'ModelServeError';
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }

  /** Wraps any thrown value; an unknown value becomes `Internal` and keeps the value as `cause`. */
  static from(reason: unknown, fallbackMessage = 'internal error'): ModelServeError {
    if (reason instanceof ModelServeError) return reason;
    return new ModelServeError('Internal', fallbackMessage, { cause: reason });
  }
}

/** Shorthand for `new ModelServeError('InvalidArgument', message)`. */
export function invalidArgument(message: string): ModelServeError {
  return new ModelServeError('InvalidArgument', message);
}
