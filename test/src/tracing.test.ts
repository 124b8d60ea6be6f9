/**
 * OpenTelemetry traces end to end (issue 17): calls carrying a W3C `traceparent` on both APIs, unary
 * and streamed, over both transports (the fast path and grpc-js), reach an OTLP/HTTP receiver as
 * spans continuing the caller's trace, with queue and compute children and a run span linked to
 * them; TraceSetting reads and changes the sampling ratio at run time. The exporter of
 * `@opentelemetry/exporter-trace-otlp-http` sends OTLP as JSON, which the receiver here reads.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { Metadata, status } from '@grpc/grpc-js';
import { encodeRawTensorData, type oip, type PredictResponse__Output } from '@modelserve/proto';
import { Tracing } from '@modelserve/telemetry';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from './support/eventually.js';
import { fixtureRepository } from './support/fixtures.js';
import { failure, startTestServer, unary, type TestServer } from './support/server.js';
import { collect } from './support/stream.js';
import { fp32, wire } from './support/tensors.js';

/** A span as the receiver got it: ids in hex, times in ms, attributes as plain values. */
interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  start: number;
  end: number;
  attributes: Record<string, unknown>;
  links: Array<{ traceId: string; spanId: string }>;
}

/** OTLP/JSON encodes ids as hex; protobuf-JSON mappings use base64. Either way, hex. */
const hexId = (id: string | undefined): string => (id === undefined || id === '' ? '' : /^[0-9a-f]+$/i.test(id) && (id.length === 32 || id.length === 16) ? id.toLowerCase() : Buffer.from(id, 'base64').toString('hex'));

type AnyValue = { stringValue?: string; intValue?: string | number; doubleValue?: number; boolValue?: boolean };
const valueOf = (v: AnyValue): unknown => v.stringValue ?? (v.intValue !== undefined ? Number(v.intValue) : (v.doubleValue ?? v.boolValue));

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  startTimeUnixNano: string | number;
  endTimeUnixNano: string | number;
  attributes?: Array<{ key: string; value: AnyValue }>;
  links?: Array<{ traceId: string; spanId: string }>;
}
interface OtlpRequest {
  resourceSpans?: Array<{ resource?: { attributes?: Array<{ key: string; value: AnyValue }> }; scopeSpans?: Array<{ spans?: OtlpSpan[] }> }>;
}

/** An OTLP/HTTP traces receiver on 127.0.0.1: POST /v1/traces, JSON bodies. */
class OtlpReceiver {
  readonly spans: ReceivedSpan[] = [];
  readonly serviceNames = new Set<string>();
  private readonly server: HttpServer = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/traces') {
        res.writeHead(404).end();
        return;
      }
      const body = Buffer.concat(chunks);
      const text = (req.headers['content-encoding'] === 'gzip' ? gunzipSync(body) : body).toString('utf8');
      this.add(JSON.parse(text) as OtlpRequest);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v1/traces`;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private add(request: OtlpRequest): void {
    for (const resourceSpans of request.resourceSpans ?? []) {
      for (const a of resourceSpans.resource?.attributes ?? []) if (a.key === 'service.name') this.serviceNames.add(String(valueOf(a.value)));
      for (const scope of resourceSpans.scopeSpans ?? []) {
        for (const s of scope.spans ?? []) {
          this.spans.push({
            traceId: hexId(s.traceId),
            spanId: hexId(s.spanId),
            parentSpanId: hexId(s.parentSpanId),
            name: s.name,
            start: Number(BigInt(s.startTimeUnixNano) / 1000n) / 1000,
            end: Number(BigInt(s.endTimeUnixNano) / 1000n) / 1000,
            attributes: Object.fromEntries((s.attributes ?? []).map((a) => [a.key, valueOf(a.value)])),
            links: (s.links ?? []).map((l) => ({ traceId: hexId(l.traceId), spanId: hexId(l.spanId) })),
          });
        }
      }
    }
  }
}

/** A caller's sampled trace: its ids, and the `traceparent` metadata that carries them. */
function callerTrace(): { traceId: string; spanId: string; metadata: Metadata } {
  const traceId = randomBytes(16).toString('hex');
  const spanId = randomBytes(8).toString('hex');
  const metadata = new Metadata();
  metadata.set('traceparent', `00-${traceId}-${spanId}-01`);
  metadata.set('tracestate', 'caller=test');
  return { traceId, spanId, metadata };
}

const tinyInput = fp32('input', [1, 4], [5.1, 3.5, 1.4, 0.2]);
const predictRequest = (id = '') => ({ model_name: 'tiny_mlp', model_version: '1', id, inputs: [wire(tinyInput)] });
const modelInferRequest = {
  model_name: 'tiny_mlp',
  model_version: '1',
  inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4] }],
  raw_input_contents: [encodeRawTensorData(tinyInput)],
};

for (const directCalls of [true, false]) {
  describe(`traces, with calls answered ${directCalls ? 'directly (the fast path)' : 'by grpc-js'}`, () => {
    let receiver: OtlpReceiver;
    let tracing: Tracing;
    let t: TestServer;
    beforeAll(async () => {
      receiver = new OtlpReceiver();
      tracing = new Tracing({ otlpEndpoint: await receiver.listen(), ratio: 0 });
      t = await startTestServer({ modelRepository: await fixtureRepository(), directCalls, tracing });
    });
    afterAll(async () => {
      await t.close();
      await tracing.shutdown();
      await receiver.close();
    });

    const predict = (metadata: Metadata) => unary<PredictResponse__Output>((cb) => t.predictor.Predict(predictRequest(), metadata, cb));
    const modelInfer = (metadata: Metadata) => unary<oip.ModelInferResponse__Output>((cb) => t.inference.ModelInfer(modelInferRequest, metadata, cb));
    const traceSetting = (settings: Record<string, string[]>) =>
      unary<oip.TraceSettingResponse__Output>((cb) => t.inference.TraceSetting({ settings: Object.fromEntries(Object.entries(settings).map(([k, value]) => [k, { value }])) }, cb));
    const settingValues = (r: oip.TraceSettingResponse__Output) => Object.fromEntries(Object.entries(r.settings).map(([k, v]) => [k, v.value]));

    /** The spans of `traceId`, once its server span and both children have arrived (after a flush). */
    async function spansOf(traceId: string): Promise<ReceivedSpan[]> {
      await tracing.forceFlush();
      const of = () => receiver.spans.filter((s) => s.traceId === traceId);
      await eventually(() => of().length >= 3, 10_000, `the spans of trace ${traceId} at the receiver`);
      return of();
    }

    /** Checks a request's server span and its children; returns the server span. */
    function checkRequestSpans(spans: ReceivedSpan[], method: string, caller: { spanId: string } | undefined): ReceivedSpan {
      const server = spans.find((s) => s.name === method);
      expect(server, `a ${method} span`).toBeDefined();
      expect(server!.parentSpanId).toBe(caller?.spanId ?? '');
      expect(server!.attributes).toMatchObject({
        'rpc.system': 'grpc',
        'modelserve.model': 'tiny_mlp',
        'modelserve.version': 1,
        'modelserve.batch_size': 1,
        'modelserve.status': 'OK',
        'rpc.grpc.status_code': status.OK,
      });
      const queue = spans.find((s) => s.name === 'queue');
      const compute = spans.find((s) => s.name === 'compute');
      expect(queue?.parentSpanId).toBe(server!.spanId);
      expect(compute?.parentSpanId).toBe(server!.spanId);
      expect(queue!.start).toBeGreaterThanOrEqual(server!.start - 1);
      expect(queue!.end).toBeLessThanOrEqual(compute!.start + 1e-3);
      expect(compute!.start).toBeLessThanOrEqual(compute!.end);
      expect(compute!.end).toBeLessThanOrEqual(server!.end + 1);
      return server!;
    }

    /** The run span linked to `span`, once it has arrived. */
    async function runLinkedTo(span: ReceivedSpan): Promise<ReceivedSpan> {
      const linked = () => receiver.spans.find((s) => s.name === 'run' && s.links.some((l) => l.spanId === span.spanId && l.traceId === span.traceId));
      await eventually(() => linked() !== undefined, 10_000, `a run span linked to ${span.name}`);
      const run = linked()!;
      expect(run.attributes).toMatchObject({ 'modelserve.model': 'tiny_mlp', 'modelserve.version': 1, 'modelserve.batch_size': 1 });
      expect(run.traceId).not.toBe(span.traceId);
      return run;
    }

    it('is the fast path when asked for', () => {
      expect(t.server.directCalls).toBe(directCalls);
    });

    it("continues a Predict call's trace: a server span, queue and compute children, and a run span linked to it", async () => {
      const caller = callerTrace();
      expect((await predict(caller.metadata)).model_version).toBe('1');
      const server = checkRequestSpans(await spansOf(caller.traceId), 'modelserve.v1.Predictor/Predict', caller);
      expect(server.attributes['rpc.service']).toBe('modelserve.v1.Predictor');
      await runLinkedTo(server);
      expect(receiver.serviceNames).toContain('modelserve');
    });

    it("continues a ModelInfer call's trace", async () => {
      const caller = callerTrace();
      expect((await modelInfer(caller.metadata)).model_version).toBe('1');
      const server = checkRequestSpans(await spansOf(caller.traceId), 'inference.GRPCInferenceService/ModelInfer', caller);
      await runLinkedTo(server);
    });

    it("gives each PredictStream message a span continuing the call's trace", async () => {
      const caller = callerTrace();
      const call = t.predictor.PredictStream(caller.metadata);
      const done = collect(call);
      call.write(predictRequest('s1'));
      call.write(predictRequest('s2'));
      call.end();
      const { responses, error } = await done;
      expect(error).toBeUndefined();
      expect(responses.map((r) => r.result)).toEqual(['response', 'response']);
      await tracing.forceFlush();
      const of = () => receiver.spans.filter((s) => s.traceId === caller.traceId);
      await eventually(() => of().length >= 6, 10_000, 'two messages with three spans each');
      const servers = of().filter((s) => s.name === 'modelserve.v1.Predictor/PredictStream');
      expect(servers).toHaveLength(2);
      for (const server of servers) {
        expect(server.parentSpanId).toBe(caller.spanId);
        expect(server.attributes).toMatchObject({ 'modelserve.model': 'tiny_mlp', 'modelserve.version': 1, 'modelserve.status': 'OK' });
        const children = of().filter((s) => s.parentSpanId === server.spanId);
        expect(children.map((s) => s.name).sort()).toEqual(['compute', 'queue']);
        await runLinkedTo(server);
      }
    });

    it('records a failed request with its status', async () => {
      const caller = callerTrace();
      const error = await failure(unary((cb) => t.predictor.Predict({ ...predictRequest(), model_name: 'no_such_model' }, caller.metadata, cb)));
      expect(error.code).toBe(status.NOT_FOUND);
      await tracing.forceFlush();
      await eventually(() => receiver.spans.some((s) => s.traceId === caller.traceId), 10_000, 'the failed request span');
      const server = receiver.spans.find((s) => s.traceId === caller.traceId)!;
      expect(server.parentSpanId).toBe(caller.spanId);
      expect(server.attributes).toMatchObject({ 'modelserve.model': 'no_such_model', 'modelserve.status': 'NOT_FOUND', 'rpc.grpc.status_code': status.NOT_FOUND });
    });

    it('samples nothing of its own at ratio 0, and every request once TraceSetting sets trace_rate 1', async () => {
      expect(settingValues(await traceSetting({}))).toEqual({ trace_rate: ['0'], trace_ratio: ['0'], trace_level: ['OFF'], trace_mode: ['opentelemetry'] });
      const before = receiver.spans.length;
      await predict(new Metadata());
      await tracing.forceFlush();
      expect(receiver.spans.length).toBe(before);

      expect(settingValues(await traceSetting({ trace_rate: ['1'] }))).toMatchObject({ trace_rate: ['1'], trace_ratio: ['1'], trace_level: ['TIMESTAMPS'] });
      expect(settingValues(await traceSetting({}))).toMatchObject({ trace_rate: ['1'], trace_level: ['TIMESTAMPS'] });
      expect(tracing.ratio).toBe(1);
      await predict(new Metadata());
      await tracing.forceFlush();
      await eventually(() => receiver.spans.some((s, i) => i >= before && s.name === 'modelserve.v1.Predictor/Predict'), 10_000, 'a root request span');
      const root = receiver.spans.find((s, i) => i >= before && s.name === 'modelserve.v1.Predictor/Predict')!;
      expect(root.parentSpanId).toBe('');

      const refused = await failure(traceSetting({ trace_rate: ['often'] }));
      expect(refused.code).toBe(status.INVALID_ARGUMENT);
      expect(refused.details).toContain("got 'often'");
      expect(settingValues(await traceSetting({ trace_rate: ['0'] }))).toMatchObject({ trace_rate: ['0'], trace_level: ['OFF'] });
      expect(tracing.ratio).toBe(0);
    });
  });
}

describe('TraceSetting without tracing', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ modelRepository: await fixtureRepository() });
  });
  afterAll(() => t.close());

  it('is a failed precondition naming the option that turns tracing on', async () => {
    const error = await failure(unary((cb) => t.inference.TraceSetting({ settings: {} }, cb)));
    expect(error.code).toBe(status.FAILED_PRECONDITION);
    expect(error.details).toContain('--otlp-endpoint');
  });
});
