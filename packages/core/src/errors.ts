/**
 * modelserve's one error vocabulary: every code, the gRPC status it travels as (number and name),
 * and the one error class that core throws, the server answers and the client reports. Dependency-free and exported on its own subpath
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
const statusNames = new Map<ErrorCode, string>(errorCodes.map((code) => [code, code.replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase()]));

/** The gRPC status name of a code: `InvalidArgument` → `INVALID_ARGUMENT`, as grpc-js's `status` enum spells it. */
export function statusNameOf(code: ErrorCode): string {
  return statusNames.get(code)!;
}

/** The code of a gRPC status number; undefined for OK and numbers gRPC does not define. */
export function codeOfStatus(status: number): ErrorCode | undefined {
  return codeByStatus.get(status);
}

/** What `ModelServeError.from` makes of a value that is not a ModelServeError. */
export interface FromOptions {
  /** The endpoint that answered, kept on the new error. */
  endpoint?: string | undefined;
  /** The code of a value that carries no known gRPC status. Default: `Unknown`. */
  fallback?: ErrorCode | number;
  /** The details of such a value. Default: its own text (see `detailsOf`). */
  details?: string;
}

/**
 * modelserve's one error, thrown by core, answered by the server and reported by the client and its
 * in-process twin alike. Shaped as grpc-js's `ServiceError`: `code` is the gRPC status number
 * (`err.code === status.UNAVAILABLE`), `details` the text a caller sees; `errorCode` names the
 * code as this table does. The server sends `details`, never `message`.
 */
export class ModelServeError extends Error {
  override readonly name = 'ModelServeError';
  /** The gRPC status number (grpc-js's `status` enum), e.g. 3. */
  readonly code: number;
  /** The code by name (`InvalidArgument`); undefined for a status gRPC does not define. */
  readonly errorCode: ErrorCode | undefined;
  /** The status name (`INVALID_ARGUMENT`), or `CODE_<n>` for a status gRPC does not define. */
  readonly codeName: string;
  /** What was expected and what was got, without decoration: the text the server answers. */
  readonly details: string;
  /** `host:port` of the endpoint that answered; undefined in core, in-process, and before any endpoint was reached. */
  readonly endpoint: string | undefined;

  /** `code` by name (`'InvalidArgument'`) or by gRPC status number; the message reads `INVALID_ARGUMENT: details (endpoint)`. */
  constructor(code: ErrorCode | StatusCode | number, details: string, options?: { endpoint?: string | undefined; cause?: unknown }) {
    const errorCode = typeof code === 'number' ? codeOfStatus(code) : code;
    const codeName = errorCode === undefined ? `CODE_${code}` : statusNameOf(errorCode);
    const endpoint = options?.endpoint;
    super(`${codeName}: ${details}${endpoint === undefined ? '' : ` (${endpoint})`}`, options !== undefined && 'cause' in options ? { cause: options.cause } : undefined);
    this.code = typeof code === 'number' ? code : Code[code];
    this.errorCode = errorCode;
    this.codeName = codeName;
    this.details = details;
    this.endpoint = endpoint;
  }

  /**
   * Any thrown value as a ModelServeError: a ModelServeError as it is, a gRPC status error (a
   * numeric `code` gRPC defines, e.g. grpc-js's `ServiceError`) with its status and details,
   * anything else as `options.fallback` (default `Unknown`). A new error keeps the value as `cause`.
   */
  static from(reason: unknown, options: FromOptions = {}): ModelServeError {
    if (reason instanceof ModelServeError) return reason;
    const status = (reason as { code?: unknown } | null | undefined)?.code;
    const known = typeof status === 'number' && codeOfStatus(status) !== undefined;
    const code = known ? status : (options.fallback ?? 'Unknown');
    const details = known ? detailsOf(reason) : (options.details ?? detailsOf(reason));
    return new ModelServeError(code, details, { endpoint: options.endpoint, cause: reason });
  }
}

/** The text of a thrown value, without decoration: its `details` (a ModelServeError, a gRPC status error), else its `message`, else `String(reason)`. */
export function detailsOf(reason: unknown): string {
  const e = reason as { details?: unknown; message?: unknown } | null | undefined;
  return typeof e?.details === 'string' ? e.details : typeof e?.message === 'string' ? e.message : String(reason);
}

/** Shorthand for what core answers a thrown value with: a ModelServeError as it is, anything else `Internal` with a generic message (a bug's text never reaches a caller) and the value as `cause`. */
export function internalError(reason: unknown): ModelServeError {
  return ModelServeError.from(reason, { fallback: 'Internal', details: 'internal error' });
}

/** Shorthand for `new ModelServeError('InvalidArgument', message)`. */
export function invalidArgument(message: string): ModelServeError {
  return new ModelServeError('InvalidArgument', message);
}
