import { status as GrpcStatus, type sendUnaryData, type ServiceError, Metadata } from '@grpc/grpc-js';
import { ModelServeError, type Logger } from '@modelserve/core';
import { TensorCodecError } from '@modelserve/proto';

/** A status code and a message safe to show to the caller. */
export interface CallStatus {
  code: GrpcStatus;
  details: string;
}

/**
 * The status to answer for any thrown value. Known errors keep their status (a ModelServeError's
 * `code` is its gRPC status number, core's one table) and their details, never the decorated
 * `message`; anything else becomes INTERNAL with a generic message, and the value is logged, never sent.
 */
export function callStatusOf(error: unknown, logger: Logger): CallStatus {
  if (error instanceof TensorCodecError) return { code: GrpcStatus.INVALID_ARGUMENT, details: error.message };
  if (error instanceof ModelServeError) {
    if (error.errorCode === 'Internal') logger.error({ err: error, cause: error.cause }, 'internal error');
    return { code: error.code, details: error.details };
  }
  logger.error({ err: error }, 'unexpected error');
  return { code: GrpcStatus.INTERNAL, details: 'internal error' };
}

/** A `ServiceError` for a unary callback. */
export function serviceErrorOf(error: unknown, logger: Logger): Partial<ServiceError> {
  const { code, details } = callStatusOf(error, logger);
  return { code, details, metadata: new Metadata() };
}

/** Runs a unary handler's body and answers its result, or its error as a status. */
export function answer<T>(callback: sendUnaryData<T>, logger: Logger, body: () => T | Promise<T>): void {
  Promise.resolve()
    .then(body)
    .then(
      (value) => callback(null, value),
      (error: unknown) => callback(serviceErrorOf(error, logger)),
    );
}
