/**
 * The SDK's error is core's (`@modelserve/core/errors`, dependency-free): one class for the server,
 * the remote client and the in-process twin, shaped as grpc-js's `ServiceError` (`code` is the gRPC
 * status number) with the endpoint that answered.
 */
import { ModelServeError } from '@modelserve/core/errors';

export { ModelServeError };

/** The error of a call or stream the caller aborted. */
export function cancelledByCaller(): ModelServeError {
  return new ModelServeError('Cancelled', 'cancelled by the caller');
}
