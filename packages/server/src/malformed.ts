/**
 * Requests that are not valid protobuf. grpc-js answers a request it cannot deserialize with
 * INTERNAL ("Error deserializing request"), which blames the server; modelserve answers
 * INVALID_ARGUMENT naming the method and protobuf's reason. Deserializers are made tolerant (a
 * parse failure becomes a marker object) and every handler refuses the marker.
 */
import { Metadata, status, type ServiceDefinition } from '@grpc/grpc-js';
import { invalidArgument } from '@modelserve/core';

const reason = Symbol('malformed request');

/** The marker a tolerant deserializer returns for bytes that do not parse. */
interface Malformed {
  readonly [reason]: string;
}

function isMalformed(value: unknown): value is Malformed {
  return typeof value === 'object' && value !== null && reason in value;
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

/** Throws INVALID_ARGUMENT for a malformed request (for requests that arrive on a stream). */
export function assertWellFormed(request: unknown): void {
  if (isMalformed(request)) throw invalidArgument(request[reason]);
}

type UnaryHandler = (call: { request: unknown }, callback: (error: object | null) => void) => void;

/** `handlers` with every unary method answering INVALID_ARGUMENT to a malformed request. */
export function refuseMalformed<T extends object>(handlers: T): T {
  const wrapped: Record<string, unknown> = { ...(handlers as Record<string, unknown>) };
  for (const [name, handler] of Object.entries(handlers)) {
    if (typeof handler !== 'function' || handler.length < 2) continue; // streaming handlers take (call) only
    const inner = handler as UnaryHandler;
    wrapped[name] = (call: { request: unknown }, callback: (error: object | null) => void) => {
      if (isMalformed(call.request)) return callback({ code: status.INVALID_ARGUMENT, details: call.request[reason], metadata: new Metadata() });
      return inner(call, callback);
    };
  }
  return wrapped as T;
}
