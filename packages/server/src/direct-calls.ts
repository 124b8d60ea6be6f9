/**
 * The fast path: the inference methods answered straight off grpc-js's HTTP/2 streams.
 *
 * Why. grpc-js 1.14 spends about 40% of a unary call's CPU above Node's HTTP/2 layer (an
 * intercepting call, a stream decoder, a Writable per call, several closures and promises; the
 * README's Benchmarks section has the measured echo rates). For an inference server that is the
 * budget the model runs in.
 * grpc-js offers no public way to share its port and sessions, so the fast path reads its internals.
 *
 * What it serves. Only the methods in `directCallPaths` (Predict, PredictStream, ModelInfer,
 * ModelStreamInfer), and of those only calls whose messages arrive uncompressed with a gRPC content
 * type. It takes the HTTP/2 stream before grpc-js does, reads the messages itself
 * (direct-calls-reader.ts) and calls the very handler grpc-js would have called, the ingress
 * pipeline included (ingress.ts), with a call object offering what grpc-js's `ServerUnaryCall`
 * (direct-calls-unary.ts) or `ServerDuplexStream` (direct-calls-stream.ts, the subset `serveStream`
 * uses) offers. Everything else (admin, OIP metadata, health, reflection, a compressed call) goes
 * on to grpc-js unchanged.
 *
 * What it refuses. `serveCallsDirectly` installs nothing and says why when the grpc-js loaded is not
 * in `testedGrpcJsVersions`, when its internals lack the shape read here, when the server has
 * interceptors, when channelz is on (calls answered directly would not be counted in it), when the
 * bound credentials carry interceptors, or when a listed method is neither unary nor bidirectional.
 *
 * What it must match. Statuses, messages and headers follow grpc-js's own (its
 * server-interceptors.ts): size limits, deadlines (`grpc-timeout`), a missing or second request
 * message, deserialization and serialization failures, a handler that throws. Two deliberate
 * differences: no `date` header, and a truncated message or a compressed flag without
 * `grpc-encoding` is INVALID_ARGUMENT naming the problem. test/src/direct-calls.test.ts compares the
 * two paths header by header. Before adding a version to `testedGrpcJsVersions`, run that suite.
 */
import type { Server } from '@grpc/grpc-js';
import { createRequire } from 'node:module';
import type { Http2Server, IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import type { CallLimits, DirectCall, RegisteredMethod } from './direct-calls-call.js';
import { DirectDuplexCall } from './direct-calls-stream.js';
import { DirectUnaryCall } from './direct-calls-unary.js';

/** The grpc-js versions whose internals the fast path was checked against (pinned in every package.json). */
export const testedGrpcJsVersions: readonly string[] = ['1.14.7'];

/** The methods the fast path takes over: the inference methods, unary and bidirectional. */
export const directCallPaths: readonly string[] = [
  '/modelserve.v1.Predictor/Predict',
  '/modelserve.v1.Predictor/PredictStream',
  '/inference.GRPCInferenceService/ModelInfer',
  '/inference.GRPCInferenceService/ModelStreamInfer',
];

/** What `serveCallsDirectly` serves, and the limits it enforces as grpc-js does (-1: none). */
export interface DirectCallOptions extends CallLimits {
  /** Methods taken over, by path; those the server does not register are ignored. Default `directCallPaths`. */
  paths?: readonly string[];
  /** The grpc-js version to check against `testedGrpcJsVersions`. Default: the one loaded (a test names another). */
  grpcJsVersion?: string;
}

/** Whether the fast path was installed, and if not, why (for the log). */
export type DirectCallsInstall = { installed: true } | { installed: false; reason: string };

type StreamListener = (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, flags: number) => void;
type CallClass = new (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, method: RegisteredMethod, limits: CallLimits) => DirectCall;

/** The private state of grpc-js 1.14's `Server` that the fast path reads. */
interface GrpcJsInternals {
  http2Servers: Map<Http2Server, unknown>;
  handlers: Map<string, RegisteredMethod>;
  interceptors: unknown[];
  channelzEnabled: boolean;
  boundPorts: Map<string, { credentials: { _getInterceptors(): unknown[] } }>;
  onStreamOpened(stream: ServerHttp2Stream): void;
}

/** The version of the grpc-js this package loads (the one whose `Server` startServer builds). */
export function loadedGrpcJsVersion(): string {
  return (createRequire(import.meta.url)('@grpc/grpc-js/package.json') as { version: string }).version;
}

/**
 * Serves `server`'s methods in `options.paths` directly on its HTTP/2 streams (call after
 * `bindAsync`). When it refuses, it changes nothing and grpc-js answers every call.
 */
export function serveCallsDirectly(server: Server, options: DirectCallOptions): DirectCallsInstall {
  const version = options.grpcJsVersion ?? loadedGrpcJsVersion();
  if (!testedGrpcJsVersions.includes(version)) return refused(`grpc-js ${version} is not a version the fast path was tested with (${testedGrpcJsVersions.join(', ')})`);
  const internals = grpcJsInternals(server);
  if (typeof internals === 'string') return refused(`grpc-js's server internals are not as the fast path reads them: ${internals}`);
  if (internals.interceptors.length > 0) return refused(`the server has ${internals.interceptors.length} interceptor(s), which calls answered directly would skip`);
  if (internals.channelzEnabled) return refused('channelz is enabled (grpc.enable_channelz is not 0), and calls answered directly would not be counted in it');
  for (const [port, { credentials }] of internals.boundPorts) {
    if (credentials._getInterceptors().length > 0) return refused(`the credentials bound to ${port} carry interceptors, which calls answered directly would skip`);
  }
  const servers = [...internals.http2Servers.keys()];
  if (servers.length === 0) return refused('the server is not bound yet (call after bindAsync)');
  if (servers.some((s) => s.listenerCount('stream') === 0)) return refused('a bound HTTP/2 server has no grpc-js stream listener to hand calls on to');
  const calls = new Map<string, { method: RegisteredMethod; Call: CallClass }>();
  for (const path of options.paths ?? directCallPaths) {
    const method = internals.handlers.get(path);
    if (method === undefined) continue;
    if (method.type !== 'unary' && method.type !== 'bidi') return refused(`${path} is a ${method.type} method: the fast path serves unary and bidirectional ones`);
    calls.set(path, { method, Call: method.type === 'unary' ? DirectUnaryCall : DirectDuplexCall });
  }
  const limits: CallLimits = { maxReceiveMessageBytes: options.maxReceiveMessageBytes, maxSendMessageBytes: options.maxSendMessageBytes };
  for (const http2Server of servers) {
    const grpcListeners = http2Server.listeners('stream') as StreamListener[];
    http2Server.removeAllListeners('stream');
    http2Server.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, flags: number) => {
      const call = readsDirectly(headers) ? calls.get(headers[':path']!) : undefined;
      if (call === undefined) {
        for (const listener of grpcListeners) listener.call(http2Server, stream, headers, flags);
        return;
      }
      internals.onStreamOpened.call(server, stream); // grpc-js's idle timeout counts the stream
      new call.Call(stream, headers, call.method, limits).start();
    });
  }
  return { installed: true };
}

const refused = (reason: string): DirectCallsInstall => ({ installed: false, reason });

/** `server`'s private state with the types the fast path relies on, or what does not match. */
function grpcJsInternals(server: Server): GrpcJsInternals | string {
  const s = server as unknown as Record<string, unknown>;
  const { http2Servers, handlers, interceptors, channelzEnabled, boundPorts, onStreamOpened } = s;
  if (!(http2Servers instanceof Map)) return 'no http2Servers map';
  if (!(handlers instanceof Map)) return 'no handlers map';
  if (typeof onStreamOpened !== 'function') return 'no onStreamOpened method';
  if (!Array.isArray(interceptors)) return 'no interceptors array';
  if (typeof channelzEnabled !== 'boolean') return 'no channelzEnabled flag';
  if (!(boundPorts instanceof Map)) return 'no boundPorts map';
  for (const port of boundPorts.values() as IterableIterator<unknown>) {
    const credentials = (port as { credentials?: { _getInterceptors?: unknown } } | null)?.credentials;
    if (typeof credentials?._getInterceptors !== 'function') return 'a bound port without credentials._getInterceptors';
  }
  for (const method of handlers.values() as IterableIterator<unknown>) if (!isRegisteredMethod(method)) return 'a registered method without func, serialize, deserialize, type and path';
  return s as unknown as GrpcJsInternals;
}

/** Whether grpc-js keeps a method the way 1.14 does. */
function isRegisteredMethod(value: unknown): value is RegisteredMethod {
  if (typeof value !== 'object' || value === null) return false;
  const m = value as Record<string, unknown>;
  return typeof m['func'] === 'function' && typeof m['serialize'] === 'function' && typeof m['deserialize'] === 'function' && typeof m['type'] === 'string' && typeof m['path'] === 'string';
}

/** A gRPC request whose messages arrive uncompressed (grpc-js handles the rest). */
function readsDirectly(headers: IncomingHttpHeaders): boolean {
  const contentType = headers['content-type'];
  const encoding = headers['grpc-encoding'];
  return typeof contentType === 'string' && contentType.startsWith('application/grpc') && (encoding === undefined || encoding === 'identity');
}
