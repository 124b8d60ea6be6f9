/**
 * Requests that are not valid protobuf. grpc-js answers a request it cannot deserialize with
 * INTERNAL ("Error deserializing request"), which blames the server; modelserve answers
 * INVALID_ARGUMENT naming the method and protobuf's reason. Deserializers are made tolerant (a
 * parse failure becomes a marker object) and the ingress pipeline (ingress.ts) refuses the marker.
 */
import { status, type ServiceDefinition } from '@grpc/grpc-js';
import { invalidArgument } from '@modelserve/core';

const reason = Symbol('malformed request');

/** The marker a tolerant deserializer returns for bytes that do not parse. */
interface Malformed {
  readonly [reason]: string;
}

/** Whether `value` is the marker of a request that did not parse. */
export function isMalformed(value: unknown): value is Malformed {
  return typeof value === 'object' && value !== null && reason in value;
}

/** The INVALID_ARGUMENT status for a malformed request. */
export function malformedStatus(request: Malformed): { code: status; details: string } {
  return { code: status.INVALID_ARGUMENT, details: request[reason] };
}

/** A service definition whose request deserializers never throw. */
export function tolerantService<S extends ServiceDefinition>(service: S): S {
  const copy: Record<string, unknown> = {};
  for (const [name, method] of Object.entries(service)) {
    const deserialize = method.requestDeserialize;
    copy[name] = {
      ...method,
      requestDeserialize: (bytes: Buffer) => {
        try {
          return deserialize(bytes);
        } catch (error) {
          return { [reason]: `the request to ${method.path} is not a valid protobuf message: ${(error as Error).message}` } satisfies Malformed;
        }
      },
    };
  }
  return copy as S;
}

/** Throws INVALID_ARGUMENT for a malformed request (for stream handlers that answer each request in-band). */
export function assertWellFormed(request: unknown): void {
  if (isMalformed(request)) throw invalidArgument(request[reason]);
}
