/** What the ingress pipeline's handlers read from a call, whichever transport carried it. */
import type { Metadata } from '@grpc/grpc-js';

/**
 * The accessor of one request header's first text value. Calls answered directly implement it by
 * reading the HTTP/2 header itself, without building the call's metadata (direct-calls-call.ts).
 */
export const requestHeader = Symbol('modelserve.requestHeader');

/** A server call as the pipeline's handlers see it: grpc-js's metadata, and optionally a cheaper header accessor. */
export interface IngressCall {
  readonly metadata: Metadata;
  [requestHeader]?(name: string): string | undefined;
}

/** One request header's first value: through the call's accessor when it has one, else its metadata. */
export function headerOf(call: IngressCall, name: string): string | undefined {
  if (call[requestHeader] !== undefined) return call[requestHeader](name);
  const value = call.metadata.get(name)[0];
  return value === undefined ? undefined : String(value);
}
