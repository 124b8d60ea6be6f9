import { status } from '@grpc/grpc-js';

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

  constructor(code: status, details: string, endpoint?: string) {
    const codeName = status[code] ?? `CODE_${code}`;
    super(`${codeName}: ${details}${endpoint === undefined ? '' : ` (${endpoint})`}`);
    this.name = 'ModelServeError';
    this.code = code;
    this.codeName = codeName;
    this.details = details;
    this.endpoint = endpoint;
  }

  /** A ModelServeError from whatever a grpc-js call failed with. */
  static from(error: unknown, endpoint?: string): ModelServeError {
    if (error instanceof ModelServeError) return error;
    const e = error as { code?: unknown; details?: unknown; message?: unknown };
    const code = typeof e.code === 'number' && status[e.code] !== undefined ? (e.code as status) : status.UNKNOWN;
    const details = typeof e.details === 'string' ? e.details : typeof e.message === 'string' ? e.message : String(error);
    return new ModelServeError(code, details, endpoint);
  }
}
