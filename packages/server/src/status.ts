import { status as GrpcStatus, type sendUnaryData, type ServiceError, Metadata } from '@grpc/grpc-js';
import { Code, ModelServeError, type ErrorCode, type Logger } from '@modelserve/core';
import { TensorCodecError } from '@modelserve/proto';

/**
 * Each error code's gRPC status: core's one table (`Code`, whose values are gRPC's status numbers),
 * typed as grpc-js's enum; status.test.ts checks every number and name against grpc-js's own.
 */
export const grpcStatusOf: Readonly<Record<ErrorCode, GrpcStatus>> = Code as Readonly<Record<ErrorCode, number>> as Readonly<Record<ErrorCode, GrpcStatus>>;

/** A status code and a message safe to show to the caller. */
export interface CallStatus {
  code: GrpcStatus;
  details: string;
}

/**
 * The status to answer for any thrown value. Known errors keep their message; anything else
 * becomes INTERNAL with a generic message, and the value is logged, never sent.
 */
export function callStatusOf(error: unknown, logger: Logger): CallStatus {
  if (error instanceof TensorCodecError) return { code: GrpcStatus.INVALID_ARGUMENT, details: error.message };
  if (error instanceof ModelServeError) {
    if (error.code === 'Internal') logger.error({ err: error, cause: error.cause }, 'internal error');
    return { code: grpcStatusOf[error.code], details: error.message };
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
