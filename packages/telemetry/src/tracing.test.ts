import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { hrTimeToMilliseconds } from '@opentelemetry/core';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { RequestTrace, RunTrace } from '@modelserve/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Tracing, type TracedRequest } from './tracing.js';

const callerTraceId = '4bf92f3577b34da6a3ce929d0e0e4736';
const callerSpanId = '00f067aa0ba902b7';
const sampledParent = `00-${callerTraceId}-${callerSpanId}-01`;
const unsampledParent = `00-${callerTraceId}-${callerSpanId}-00`;
const predict = 'modelserve.v1.Predictor/Predict';

let exporter: InMemorySpanExporter;
let tracing: Tracing;
beforeEach(() => {
  exporter = new InMemorySpanExporter();
  tracing = new Tracing({ exporter });
});
afterEach(() => tracing.shutdown());

const spans = (): ReadableSpan[] => exporter.getFinishedSpans();
const named = (name: string): ReadableSpan[] => spans().filter((s) => s.name === name);
const only = (name: string): ReadableSpan => {
  const found = named(name);
  expect(found).toHaveLength(1);
  return found[0]!;
};
const ms = (span: ReadableSpan): { start: number; end: number } => ({ start: hrTimeToMilliseconds(span.startTime), end: hrTimeToMilliseconds(span.endTime) });

/** A `performance.now()` reading at least 1 ms after the last one. */
function later(): number {
  const start = performance.now();
  while (performance.now() - start < 1);
  return performance.now();
}

/** What core's batcher does with traced requests: queue them, run them as one batch of `samples`, then tell the observer. */
function serveAsOneRun(requests: TracedRequest[], samples: number, model = 'mnist_mlp', version = 2): RunTrace {
  const traces: RequestTrace[] = requests.map((r) => r.trace);
  for (const t of traces) t.queuedAt = performance.now();
  const run: RunTrace = { startedAt: later(), samples, traces };
  for (const t of traces) t.run = run;
  run.endedAt = later();
  tracing.versionObserver(model, version).tracedRun(run);
  return run;
}

describe('a request span', () => {
  it("continues the caller's trace from its traceparent", () => {
    const request = tracing.startRequest(predict, sampledParent, 'vendor=abc')!;
    expect(request).toBeDefined();
    request.end('mnist_mlp', 2, 'OK');
    const span = only(predict);
    expect(span.spanContext().traceId).toBe(callerTraceId);
    expect(span.parentSpanContext?.spanId).toBe(callerSpanId);
    expect(span.parentSpanContext?.isRemote).toBe(true);
    expect(span.spanContext().traceState?.get('vendor')).toBe('abc');
    expect(span.kind).toBe(SpanKind.SERVER);
  });

  it('carries the RPC, model, version, batch size and status', () => {
    const request = tracing.startRequest(predict, sampledParent, undefined)!;
    serveAsOneRun([request], 4);
    request.end('mnist_mlp', 2, 'OK');
    expect(only(predict).attributes).toEqual({
      'rpc.system': 'grpc',
      'rpc.service': 'modelserve.v1.Predictor',
      'rpc.method': 'Predict',
      'modelserve.model': 'mnist_mlp',
      'modelserve.version': 2,
      'modelserve.batch_size': 4,
      'modelserve.status': 'OK',
      'rpc.grpc.status_code': 0,
    });
    expect(only(predict).status.code).toBe(SpanStatusCode.UNSET);
  });

  it("marks the server's failures as errors and leaves the caller's unmarked", () => {
    const unavailable = tracing.startRequest(predict, sampledParent, undefined)!;
    unavailable.end('mnist_mlp', undefined, 'UNAVAILABLE');
    const notFound = tracing.startRequest(predict, sampledParent, undefined)!;
    notFound.end('nope', undefined, 'NOT_FOUND');
    const [first, second] = named(predict);
    expect(first!.attributes).toMatchObject({ 'modelserve.status': 'UNAVAILABLE', 'rpc.grpc.status_code': 14 });
    expect(first!.attributes['modelserve.version']).toBeUndefined();
    expect(first!.status).toEqual({ code: SpanStatusCode.ERROR, message: 'UNAVAILABLE' });
    expect(second!.attributes).toMatchObject({ 'modelserve.status': 'NOT_FOUND', 'rpc.grpc.status_code': 5 });
    expect(second!.status.code).toBe(SpanStatusCode.UNSET);
  });

  it('has queue and compute children, in that order, inside it', () => {
    const request = tracing.startRequest(predict, sampledParent, undefined)!;
    const run = serveAsOneRun([request], 1);
    request.end('mnist_mlp', 2, 'OK');
    const parent = only(predict);
    const queue = only('queue');
    const compute = only('compute');
    for (const child of [queue, compute]) {
      expect(child.spanContext().traceId).toBe(callerTraceId);
      expect(child.parentSpanContext?.spanId).toBe(parent.spanContext().spanId);
    }
    expect(ms(queue).start).toBeCloseTo(performance.timeOrigin + request.trace.queuedAt!, 0);
    expect(ms(queue).end).toBeCloseTo(performance.timeOrigin + run.startedAt, 0);
    expect(ms(compute).start).toBeCloseTo(ms(queue).end, 3);
    expect(ms(compute).end).toBeCloseTo(performance.timeOrigin + run.endedAt!, 0);
    expect(ms(parent).start).toBeLessThanOrEqual(ms(queue).start);
    expect(ms(queue).start).toBeLessThanOrEqual(ms(queue).end);
    expect(ms(compute).end).toBeLessThanOrEqual(ms(parent).end);
  });

  it('has only a queue child, up to its end, when it never ran', () => {
    const request = tracing.startRequest(predict, sampledParent, undefined)!;
    request.trace.queuedAt = performance.now();
    request.end('mnist_mlp', undefined, 'DEADLINE_EXCEEDED');
    expect(named('compute')).toHaveLength(0);
    expect(ms(only('queue')).end).toBeCloseTo(ms(only(predict)).end, 3);
  });

  it('is ended once, however often end is called', () => {
    const request = tracing.startRequest(predict, sampledParent, undefined)!;
    request.end('mnist_mlp', 2, 'OK');
    request.end('mnist_mlp', 2, 'INTERNAL');
    expect(named(predict)).toHaveLength(1);
  });
});

describe("a batch run's span", () => {
  it('links to the span of every request it served, and is kept whatever the ratio', () => {
    const requests = [tracing.startRequest(predict, sampledParent, undefined)!, tracing.startRequest('inference.GRPCInferenceService/ModelInfer', sampledParent, undefined)!];
    const run = serveAsOneRun(requests, 3);
    for (const r of requests) r.end('mnist_mlp', 2, 'OK');
    const span = only('run');
    expect(span.links.map((l) => l.context.spanId).sort()).toEqual(requests.map((r) => (r.trace.context as { spanContext(): { spanId: string } }).spanContext().spanId).sort());
    expect(span.attributes).toEqual({ 'modelserve.model': 'mnist_mlp', 'modelserve.version': 2, 'modelserve.batch_size': 3, 'modelserve.traced_requests': 2 });
    expect(span.spanContext().traceId).not.toBe(callerTraceId);
    expect(span.parentSpanContext).toBeUndefined();
    expect(ms(span)).toEqual({ start: expect.closeTo(performance.timeOrigin + run.startedAt, 0), end: expect.closeTo(performance.timeOrigin + run.endedAt!, 0) });
  });

  it('is also made through the registry observer tracing offers alone', () => {
    const request = tracing.startRequest(predict, sampledParent, undefined)!;
    const run: RunTrace = { startedAt: performance.now(), endedAt: performance.now(), samples: 1, traces: [request.trace] };
    const observer = tracing.inferenceObserver().version('m', 1);
    observer.queued(0);
    observer.ran(1, 0, 1);
    observer.tracedRun!(run);
    expect(only('run').links).toHaveLength(1);
  });
});

describe('sampling', () => {
  it('creates no span with ratio 0 and no traceparent, and does once the ratio is 1', () => {
    expect(tracing.ratio).toBe(0);
    expect(tracing.startRequest(predict, undefined, undefined)).toBeUndefined();
    expect(spans()).toHaveLength(0);
    tracing.setRatio(1);
    expect(tracing.ratio).toBe(1);
    const request = tracing.startRequest(predict, undefined, undefined);
    expect(request).toBeDefined();
    request!.end('mnist_mlp', 1, 'OK');
    expect(only(predict).parentSpanContext).toBeUndefined();
  });

  it('follows a caller that did not sample, whatever the ratio', () => {
    tracing.setRatio(1);
    expect(tracing.startRequest(predict, unsampledParent, undefined)).toBeUndefined();
    expect(spans()).toHaveLength(0);
  });

  it('treats a malformed traceparent as none', () => {
    expect(tracing.startRequest(predict, 'not-a-traceparent', undefined)).toBeUndefined();
    tracing.setRatio(1);
    const request = tracing.startRequest(predict, 'not-a-traceparent', undefined)!;
    request.end('m', 1, 'OK');
    expect(only(predict).parentSpanContext).toBeUndefined();
  });

  it('samples about the ratio of root requests', () => {
    tracing.setRatio(0.25);
    let sampled = 0;
    for (let i = 0; i < 4000; i++) if (tracing.startRequest(predict, undefined, undefined) !== undefined) sampled++;
    expect(sampled / 4000).toBeGreaterThan(0.2);
    expect(sampled / 4000).toBeLessThan(0.3);
  });

  it('refuses a ratio outside 0 to 1', () => {
    expect(() => tracing.setRatio(1.5)).toThrow(/from 0 to 1, got 1.5/);
    expect(() => tracing.setRatio(Number.NaN)).toThrow(RangeError);
    expect(() => new Tracing({ exporter, ratio: -1 })).toThrow(RangeError);
    expect(tracing.ratio).toBe(0);
  });

  it('needs somewhere to send spans', () => {
    expect(() => new Tracing({})).toThrow(/otlpEndpoint or an exporter/);
  });
});
