/**
 * The one error type of modelserve's core. Transports map `code` to their own statuses at the
 * edge (the server maps it to gRPC status codes in one table).
 */

/** Why an operation failed; each code names the gRPC status it becomes. */
export type ErrorCode =
  /** The request is malformed: names, datatypes, shapes or contents do not match the model. */
  | 'InvalidArgument'
  /** The named model or version does not exist in the repository. */
  | 'NotFound'
  /** The model or version exists but cannot serve now (loading, unloading, failed); retry elsewhere. */
  | 'Unavailable'
  /** A queue or limit is full; retry later. */
  | 'ResourceExhausted'
  /** The request's deadline passed before it could be answered. */
  | 'DeadlineExceeded'
  /** The caller cancelled the request. */
  | 'Cancelled'
  /** The operation does not fit the current state (e.g. loading a model that is unloading). */
  | 'FailedPrecondition'
  /** The operation exists in the protocol but this server does not implement it. */
  | 'Unimplemented'
  /** A bug or a backend failure; the message is safe to show, the cause is logged. */
  | 'Internal';

/** Every error code, for exhaustive tables and tests. */
export const errorCodes: readonly ErrorCode[] = [
  'InvalidArgument',
  'NotFound',
  'Unavailable',
  'ResourceExhausted',
  'DeadlineExceeded',
  'Cancelled',
  'FailedPrecondition',
  'Unimplemented',
  'Internal',
];

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
