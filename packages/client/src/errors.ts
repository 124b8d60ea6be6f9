/**
 * The SDK's error: core's vocabulary (`@modelserve/core/errors`, one table of codes and gRPC
 * statuses) as a client sees it, by gRPC status number, with the endpoint that answered.
 */
import type { status } from '@grpc/grpc-js';
import { codeOfStatus, ModelServeError as CoreError, statusNameOf, statusOf, type ErrorCode } from '@modelserve/core/errors';

const UNKNOWN = statusOf('Unknown') as number as status;

/** Every failure the SDK reports: the gRPC status, the server's details, and the endpoint that answered. */
export class ModelServeError extends Error {
  /** The gRPC status code (`@grpc/grpc-js`'s `status` enum). */
  readonly code: status;
  /** The status name, e.g. `INVALID_ARGUMENT`. */
  readonly codeName: string;
  /** The server's message (or the SDK's, for failures it decided itself). */
  readonly details: string;
  /** `host:port` of the endpoint that answered; undefined when no endpoint was reached. */
  readonly endpoint: string | undefined;

  constructor(code: status, details: string, endpoint?: string, options?: { cause?: unknown }) {
    const errorCode = codeOfStatus(code);
    const codeName = errorCode === undefined ? `CODE_${code}` : statusNameOf(errorCode);
    super(`${codeName}: ${details}${endpoint === undefined ? '' : ` (${endpoint})`}`, options);
    this.name = 'ModelServeError';
    this.code = code;
    this.codeName = codeName;
    this.details = details;
    this.endpoint = endpoint;
  }

  /** The code by name, as core spells it (`InvalidArgument`); undefined for a status gRPC does not define. */
  get errorCode(): ErrorCode | undefined {
    return codeOfStatus(this.code);
  }

  /**
   * A ModelServeError from whatever a call failed with: a grpc-js status error keeps its status, a
   * core error its code (by the shared table), anything else becomes `fallback` (default UNKNOWN).
   */
  static from(error: unknown, endpoint?: string, fallback: status = UNKNOWN): ModelServeError {
    if (error instanceof ModelServeError) return error;
    if (error instanceof CoreError) return new ModelServeError(statusOf(error.code) as number as status, error.message, endpoint, { cause: error });
    const e = error as { code?: unknown; details?: unknown; message?: unknown } | null | undefined;
    const code = typeof e?.code === 'number' && codeOfStatus(e.code) !== undefined ? (e.code as status) : fallback;
    const details = typeof e?.details === 'string' ? e.details : typeof e?.message === 'string' ? e.message : String(error);
    return new ModelServeError(code, details, endpoint);
  }
}

/** The error of a call or stream the caller aborted. */
export function cancelledByCaller(): ModelServeError {
  return new ModelServeError(statusOf('Cancelled') as number as status, 'cancelled by the caller');
}
