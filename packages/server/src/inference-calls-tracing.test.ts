import { EventEmitter } from 'node:events';
import { Metadata, type sendUnaryData, type ServerDuplexStream, type ServerUnaryCall } from '@grpc/grpc-js';
import { ModelServeError, silentLogger, type InferenceRequest, type InferenceResponse, type ModelRegistry, type RequestTrace } from '@modelserve/core';
import { describe, expect, it } from 'vitest';
import { serveStreamInference, serveUnaryInference, type StreamCodec } from './inference-calls.js';
import type { RequestSpan, RequestTracing } from './tracing-hooks.js';

const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

/** Wire messages are `{ model, version? }`; the fake registry answers version 3, or fails with `error`. */
type Wire = { model: string; version?: string; error?: ModelServeError };
const seenTraces: Array<RequestTrace | undefined> = [];
const registry = {
  infer(request: InferenceRequest & { error?: ModelServeError }): Promise<InferenceResponse> {
    seenTraces.push(request.trace);
    if (request.error !== undefined) return Promise.reject(request.error);
    return Promise.resolve({ model: request.model, version: 3, id: '', outputs: [] });
  },
} as unknown as ModelRegistry;
const codec: StreamCodec<Wire, string, string> = {
  decode: (wire) => ({ request: { model: wire.model, version: wire.version, inputs: [], error: wire.error } as InferenceRequest, encode: (r) => `${r.model}:${r.version}` }),
  ok: (_request, response) => response,
  failed: (_request, { details }) => `failed: ${details}`,
};

/** A tracer that samples every request and records what it was told. */
function recordingTracing() {
  const started: Array<{ method: string; traceparent: string | undefined; tracestate: string | undefined }> = [];
  const ended: Array<{ model: string | undefined; version: number | undefined; status: string; trace: RequestTrace }> = [];
  const tracing: RequestTracing = {
    ratio: 1,
    setRatio: () => undefined,
    startRequest(method, parent, state): RequestSpan {
      started.push({ method, traceparent: parent, tracestate: state });
      const trace: RequestTrace = { context: `span-${started.length}` };
      return { trace, end: (model, version, status) => void ended.push({ model, version, status, trace }) };
    },
  };
  return { tracing, started, ended };
}

function metadataWith(headers: Record<string, string>): Metadata {
  const metadata = new Metadata();
  for (const [k, v] of Object.entries(headers)) metadata.set(k, v);
  return metadata;
}

function unaryCall(request: Wire, metadata: Metadata): ServerUnaryCall<Wire, string> {
  const call = Object.assign(new EventEmitter(), { request, metadata, getPath: () => '/modelserve.v1.Predictor/Predict', getDeadline: () => Infinity, cancelled: false });
  return call as unknown as ServerUnaryCall<Wire, string>;
}

function answerOf(request: Wire, metadata: Metadata, tracing: RequestTracing | undefined): Promise<string> {
  return new Promise((resolve, reject) => {
    const callback: sendUnaryData<string> = (error, value) => (error ? reject(error) : resolve(value!));
    serveUnaryInference(registry, silentLogger, codec, unaryCall(request, metadata), callback, tracing === undefined ? {} : { tracing });
  });
}

describe('traced inference calls', () => {
  it("start a span with the method and the call's trace headers, hand its trace to core and end it with the answer", async () => {
    const { tracing, started, ended } = recordingTracing();
    seenTraces.length = 0;
    expect(await answerOf({ model: 'm' }, metadataWith({ traceparent, tracestate: 'a=1' }), tracing)).toBe('m:3');
    expect(started).toEqual([{ method: 'modelserve.v1.Predictor/Predict', traceparent, tracestate: 'a=1' }]);
    expect(seenTraces).toEqual([{ context: 'span-1' }]);
    expect(ended).toEqual([{ model: 'm', version: 3, status: 'OK', trace: { context: 'span-1' } }]);
  });

  it('end the span with the status a failure is answered with, and the version asked for', async () => {
    const { tracing, ended } = recordingTracing();
    await expect(answerOf({ model: 'm', version: '2', error: new ModelServeError('NotFound', 'no such model') }, new Metadata(), tracing)).rejects.toMatchObject({ code: 5 });
    expect(ended).toMatchObject([{ model: 'm', version: 2, status: 'NOT_FOUND' }]);
  });

  it('hand core no trace when the request is not sampled, or when tracing is off', async () => {
    seenTraces.length = 0;
    const unsampled: RequestTracing = { ratio: 0, setRatio: () => undefined, startRequest: () => undefined };
    expect(await answerOf({ model: 'm' }, new Metadata(), unsampled)).toBe('m:3');
    expect(await answerOf({ model: 'm' }, new Metadata(), undefined)).toBe('m:3');
    expect(seenTraces).toEqual([undefined, undefined]);
  });

  it("give each message of a stream its own span, continuing the call's traceparent", async () => {
    const { tracing, started, ended } = recordingTracing();
    const written: string[] = [];
    const call = Object.assign(new EventEmitter(), {
      metadata: metadataWith({ traceparent }),
      getPath: () => '/inference.GRPCInferenceService/ModelStreamInfer',
      getDeadline: () => Infinity,
      cancelled: false,
      write: (message: string) => written.push(message) > 0,
      end: () => call.emit('finished'),
      pause: () => undefined,
      resume: () => undefined,
    });
    const finished = new Promise((resolve) => call.once('finished', resolve));
    serveStreamInference(registry, silentLogger, codec, call as unknown as ServerDuplexStream<Wire, string>, 4, { tracing });
    call.emit('data', { model: 'a' });
    call.emit('data', { model: 'b', error: new ModelServeError('InvalidArgument', 'bad input') });
    call.emit('end');
    await finished;
    expect(written.sort()).toEqual(['a:3', 'failed: bad input']);
    expect(started.map((s) => [s.method, s.traceparent])).toEqual([
      ['inference.GRPCInferenceService/ModelStreamInfer', traceparent],
      ['inference.GRPCInferenceService/ModelStreamInfer', traceparent],
    ]);
    expect(ended.map((e) => [e.model, e.status]).sort()).toEqual([
      ['a', 'OK'],
      ['b', 'INVALID_ARGUMENT'],
    ]);
  });
});
