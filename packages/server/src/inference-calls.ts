/**
 * The one inference path every API shares: a wire request is decoded into a core request, the
 * registry answers it, and the result is encoded back. modelserve.v1 and the Open Inference
 * Protocol differ only in their two conversions and in how a stream reports a failed request.
 */
import type { sendUnaryData, ServerDuplexStream, ServerUnaryCall } from '@grpc/grpc-js';
import type { CancelSignal, InferenceRequest, InferenceResponse, Logger, ModelRegistry } from '@modelserve/core';
import { CallCancellation, deadlineOf } from './call-deadline.js';
import { headerOf, type IngressCall } from './ingress-call.js';
import { assertWellFormed } from './malformed.js';
import { callStatusOf, serviceErrorOf, type CallStatus } from './status.js';
import { type OpenStreams, serveStream } from './stream.js';
import { statusNameOf, type RequestSpan, type RequestTracing, type TraceOrigin } from './tracing-hooks.js';

/** What a call adds to each of its requests. */
export interface CallContext {
  /** The call's deadline, `Date.now()` milliseconds. */
  deadline: number | undefined;
  signal: CancelSignal;
  /** gRPC metadata `x-routing-key`: sticky routing between versions (e.g. a user id). */
  routingKey: string | undefined;
}

/** How one API's messages map to core requests and back. */
export interface InferenceCodec<Req, Res> {
  /** A core request from a wire request; throws (codec or core errors) for a malformed one. */
  decode(request: Req, context: CallContext): { request: InferenceRequest; encode(response: InferenceResponse): Res };
}

/** The metadata key that carries a routing key. */
export const routingKeyHeader = 'x-routing-key';

function routingKeyOf(call: IngressCall): string | undefined {
  return headerOf(call, routingKeyHeader);
}

/** How a stream answers: the response for a success, and the in-band answer for a failure. */
export interface StreamCodec<Req, Res, StreamRes> extends InferenceCodec<Req, Res> {
  ok(request: Req, response: Res): StreamRes;
  failed(request: Req, status: CallStatus): StreamRes;
}

/** Inference requests accepted and not yet answered, across every API: what a drain waits for. */
export class InflightRequests {
  active = 0;
}

/** What every inference API shares beyond the registry. */
export interface InferenceCallOptions {
  /** Milliseconds added before each answer (tests and demos of a slow replica); 0 for none. */
  delayMs?: number;
  /** Counts requests in flight, for draining. */
  inflight?: InflightRequests;
  /** The open streams, which a drain tells to end. */
  streams?: OpenStreams;
  /** Traces requests (a span each, continuing the call's W3C `traceparent`). Default: none. */
  tracing?: RequestTracing;
}

/** A call's method (`modelserve.v1.Predictor/Predict`) and trace headers: read once per call, only when tracing is on. */
function traceOriginOf(call: IngressCall & { getPath(): string }): TraceOrigin {
  return { method: call.getPath().slice(1), traceparent: headerOf(call, 'traceparent'), tracestate: headerOf(call, 'tracestate') };
}

/** The span of a request of a call from `origin`, when tracing is on and samples it. */
function spanOf(tracing: RequestTracing | undefined, origin: TraceOrigin | undefined): RequestSpan | undefined {
  return tracing === undefined || origin === undefined ? undefined : tracing.startRequest(origin.method, origin.traceparent, origin.tracestate);
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs one request through the registry. A sampled request's `span` (started before decoding)
 * goes to core with the request and ends with the outcome once the answer is ready.
 */
async function infer<Req, Res>(
  registry: ModelRegistry,
  codec: InferenceCodec<Req, Res>,
  request: Req,
  context: CallContext,
  options: InferenceCallOptions,
  span: RequestSpan | undefined,
): Promise<Res> {
  const counter = options.inflight;
  if (counter !== undefined) counter.active++;
  let core: InferenceRequest | undefined;
  let response: InferenceResponse | undefined;
  try {
    const decoded = codec.decode(request, context);
    core = decoded.request;
    if (span !== undefined) core.trace = span.trace;
    response = await registry.infer(core);
    if (options.delayMs !== undefined && options.delayMs > 0) await sleep(options.delayMs);
    const encoded = decoded.encode(response);
    span?.end(response.model, response.version, 'OK');
    return encoded;
  } catch (error) {
    span?.end(core?.model, response?.version ?? requestedVersion(core), statusNameOf(error));
    throw error;
  } finally {
    if (counter !== undefined) counter.active--;
  }
}

/** The version a request names, when it names one. */
function requestedVersion(request: InferenceRequest | undefined): number | undefined {
  const version = Number(request?.version); // NaN for undefined, 0 for ''
  return Number.isInteger(version) && version > 0 ? version : undefined;
}

/** Answers a unary inference call; the call's deadline and cancellation reach the queue. */
export function serveUnaryInference<Req, Res>(
  registry: ModelRegistry,
  logger: Logger,
  codec: InferenceCodec<Req, Res>,
  call: ServerUnaryCall<Req, Res>,
  callback: sendUnaryData<Res>,
  options: InferenceCallOptions = {},
): void {
  const cancellation = new CallCancellation(call);
  const context: CallContext = { deadline: deadlineOf(call), signal: cancellation, routingKey: routingKeyOf(call) };
  const span = options.tracing === undefined ? undefined : spanOf(options.tracing, traceOriginOf(call));
  infer(registry, codec, call.request, context, options, span).then(
    (response) => {
      cancellation.finish();
      callback(null, response);
    },
    (error: unknown) => {
      cancellation.finish();
      callback(serviceErrorOf(error, logger));
    },
  );
}

/** Answers a bidirectional inference stream: each request once, failures in-band (see serveStream). */
export function serveStreamInference<Req, Res, StreamRes>(
  registry: ModelRegistry,
  logger: Logger,
  codec: StreamCodec<Req, Res, StreamRes>,
  call: ServerDuplexStream<Req, StreamRes>,
  maxInflight: number,
  options: InferenceCallOptions = {},
): void {
  const deadline = deadlineOf(call);
  const routingKey = routingKeyOf(call);
  // Every message of the stream gets a span continuing the call's trace headers.
  const origin = options.tracing === undefined ? undefined : traceOriginOf(call);
  serveStream<Req, StreamRes>(call, {
    maxInflight,
    deadline,
    ...(options.streams !== undefined ? { streams: options.streams } : {}),
    handle: async (request, signal) => {
      try {
        // A unary call's malformed request never gets here (ingress.ts); a stream answers it in-band.
        assertWellFormed(request);
        return codec.ok(request, await infer(registry, codec, request, { deadline, signal, routingKey }, options, spanOf(options.tracing, origin)));
      } catch (error) {
        return codec.failed(request, callStatusOf(error, logger));
      }
    },
  });
}
