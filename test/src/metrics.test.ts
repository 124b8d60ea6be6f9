/**
 * Prometheus metrics (`/metrics`) against a real server: after a known sequence of requests on
 * both APIs, unary and streamed, some failing, every counter equals what was sent and every
 * histogram counted the same requests.
 */
import type { ClientDuplexStream } from '@grpc/grpc-js';
import { encodeRawTensorData, type DecodedTensor, type oip } from '@modelserve/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureRepository } from './support/fixtures.js';
import { failure, startTestServer, unary, type TestServer } from './support/server.js';
import { collect } from './support/stream.js';
import { fp32, sampleValues, wire } from './support/tensors.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({ modelRepository: await fixtureRepository(), metricsPort: 0, metricsTritonNames: true });
});
afterAll(() => t.close());

/** One sample (a series) of the text exposition: name, labels, value. */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function parse(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (match === null) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[pair[1]!] = pair[2]!;
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

async function scrape(): Promise<Sample[]> {
  const response = await fetch(`http://${t.server.metricsAddress}/metrics`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return parse(await response.text());
}

/** The value of the one series of `name` whose labels include `labels` (0 when there is none). */
function value(samples: Sample[], name: string, labels: Record<string, string>): number {
  const found = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v) && Object.keys(s.labels).length === Object.keys(labels).length);
  if (found.length > 1) throw new Error(`${found.length} series of ${name} match ${JSON.stringify(labels)}`);
  return found[0]?.value ?? 0;
}

const predict = (version: number, batch: number, width = 784) => ({ model_name: 'mnist_mlp', model_version: String(version), inputs: [wire(fp32('input', [batch, width], sampleValues(batch * width, batch)))] });

function modelInfer(version: number, width = 784): object {
  const tensor: DecodedTensor = { name: 'input', datatype: 'FP32', shape: [1, width], data: sampleValues(width, 3) };
  return { model_name: 'mnist_mlp', model_version: String(version), inputs: [{ name: 'input', datatype: 'FP32', shape: [1, width] }], raw_input_contents: [encodeRawTensorData(tensor)] };
}

describe('/metrics', () => {
  it('counts every request of a known sequence on both APIs, by model, version, status and reason; histograms count the same', async () => {
    const p = t.predictor;
    // modelserve.v1 Predict: 5 OK (batch 2) and 2 malformed on version 1, an unknown model, an unknown version.
    for (let i = 0; i < 5; i++) await unary((cb) => p.Predict(predict(1, 2), cb));
    for (let i = 0; i < 2; i++) await failure(unary((cb) => p.Predict(predict(1, 1, 780), cb)));
    await failure(unary((cb) => p.Predict({ model_name: 'no_such_model', inputs: [] }, cb)));
    await failure(unary((cb) => p.Predict({ ...predict(1, 1), model_version: '9' }, cb)));
    // Open Inference Protocol ModelInfer: 3 OK and 1 malformed on version 2.
    const infer = (request: object) => unary<oip.ModelInferResponse__Output>((cb) => t.inference.ModelInfer(request, cb));
    for (let i = 0; i < 3; i++) await infer(modelInfer(2));
    await failure(infer(modelInfer(2, 780)));
    // PredictStream: 4 OK and 1 malformed on version 1, answered in-band.
    const stream = p.PredictStream();
    const streamed = collect(stream);
    for (let i = 0; i < 4; i++) stream.write({ ...predict(1, 1), id: `s${i}` });
    stream.write({ ...predict(1, 1, 780), id: 'bad' });
    stream.end();
    expect((await streamed).responses).toHaveLength(5);
    // ModelStreamInfer: 2 OK and 1 malformed on version 2.
    const oipStream: ClientDuplexStream<object, oip.ModelStreamInferResponse__Output> = t.inference.ModelStreamInfer();
    const answers: oip.ModelStreamInferResponse__Output[] = [];
    const streamEnded = new Promise<void>((resolve, reject) => {
      oipStream.on('data', (r: oip.ModelStreamInferResponse__Output) => answers.push(r));
      oipStream.on('end', resolve);
      oipStream.on('error', reject);
    });
    oipStream.write(modelInfer(2));
    oipStream.write(modelInfer(2));
    oipStream.write(modelInfer(2, 780));
    oipStream.end();
    await streamEnded;
    // Answers come in the order they are ready (the malformed one at once): count them.
    expect(answers.filter((a) => a.error_message === '')).toHaveLength(2);
    expect(answers).toHaveLength(3);

    const m = await scrape();
    const v1 = { model: 'mnist_mlp', version: '1' };
    const v2 = { model: 'mnist_mlp', version: '2' };
    const requests = (labels: Record<string, string>, code: string) => value(m, 'modelserve_inference_requests_total', { ...labels, code });
    expect(requests(v1, 'OK')).toBe(9);
    expect(requests(v1, 'INVALID_ARGUMENT')).toBe(3);
    expect(requests(v2, 'OK')).toBe(5);
    expect(requests(v2, 'INVALID_ARGUMENT')).toBe(2);
    // A version the model does not have: the model's label, no version; a model not loaded: no label at all.
    expect(requests({ model: 'mnist_mlp', version: '' }, 'NOT_FOUND')).toBe(1);
    expect(requests({ model: '', version: '' }, 'NOT_FOUND')).toBe(1);
    expect(m.some((s) => Object.values(s.labels).includes('no_such_model'))).toBe(false);
    expect(value(m, 'modelserve_inference_failures_total', { ...v1, reason: 'invalid_input' })).toBe(3);
    expect(value(m, 'modelserve_inference_failures_total', { ...v2, reason: 'invalid_input' })).toBe(2);
    expect(value(m, 'modelserve_inference_failures_total', { model: '', version: '', reason: 'not_found' })).toBe(1);
    // Samples are exact; runs depend on how the batcher merged the streamed requests, but each run is counted once everywhere.
    expect(value(m, 'modelserve_inference_samples_total', v1)).toBe(5 * 2 + 4);
    expect(value(m, 'modelserve_inference_samples_total', v2)).toBe(5);
    for (const [labels, ok] of [[v1, 9], [v2, 5]] as const) {
      const runs = value(m, 'modelserve_inference_runs_total', labels);
      expect(runs).toBeGreaterThanOrEqual(1);
      expect(runs).toBeLessThanOrEqual(ok);
      expect(value(m, 'modelserve_inference_compute_duration_seconds_count', labels)).toBe(runs);
      expect(value(m, 'modelserve_inference_batch_size_count', labels)).toBe(runs);
      expect(value(m, 'modelserve_inference_batch_size_sum', labels)).toBe(value(m, 'modelserve_inference_samples_total', labels));
      expect(value(m, 'modelserve_inference_queue_duration_seconds_count', labels)).toBe(ok);
      const all = m.filter((s) => s.name === 'modelserve_inference_requests_total' && s.labels['model'] === labels.model && s.labels['version'] === labels.version).reduce((n, s) => n + s.value, 0);
      expect(value(m, 'modelserve_inference_request_duration_seconds_count', labels)).toBe(all);
      expect(value(m, 'modelserve_inference_request_duration_seconds_bucket', { ...labels, le: '+Inf' })).toBe(all);
      expect(value(m, 'nv_inference_request_success', labels)).toBe(ok);
      expect(value(m, 'nv_inference_count', labels)).toBe(value(m, 'modelserve_inference_samples_total', labels));
      expect(value(m, 'nv_inference_exec_count', labels)).toBe(runs);
    }
    expect(value(m, 'nv_inference_request_failure', { ...v1, reason: 'OTHER' })).toBe(3);
    // gRPC server calls, gRFC A66: every call once, by method and the status it ended with.
    const started = (method: string) => value(m, 'grpc_server_call_started_total', { grpc_method: method });
    const ended = (method: string, status: string) => value(m, 'grpc_server_call_duration_seconds_count', { grpc_method: method, grpc_status: status });
    expect(started('modelserve.v1.Predictor/Predict')).toBe(9);
    expect([ended('modelserve.v1.Predictor/Predict', 'OK'), ended('modelserve.v1.Predictor/Predict', 'INVALID_ARGUMENT'), ended('modelserve.v1.Predictor/Predict', 'NOT_FOUND')]).toEqual([5, 2, 2]);
    expect(started('inference.GRPCInferenceService/ModelInfer')).toBe(4);
    expect([ended('inference.GRPCInferenceService/ModelInfer', 'OK'), ended('inference.GRPCInferenceService/ModelInfer', 'INVALID_ARGUMENT')]).toEqual([3, 1]);
    expect([started('modelserve.v1.Predictor/PredictStream'), ended('modelserve.v1.Predictor/PredictStream', 'OK')]).toEqual([1, 1]);
    expect([started('inference.GRPCInferenceService/ModelStreamInfer'), ended('inference.GRPCInferenceService/ModelStreamInfer', 'OK')]).toEqual([1, 1]);
    // Server-wide gauges and prom-client's process metrics.
    expect(value(m, 'modelserve_model_versions', { state: 'READY' })).toBeGreaterThanOrEqual(2);
    expect(value(m, 'modelserve_inference_queued_requests', v1)).toBe(0);
    expect(value(m, 'modelserve_inference_pool_threads', {})).toBeGreaterThanOrEqual(1);
    expect(value(m, 'modelserve_inference_pool_busy_seconds_total', {})).toBeGreaterThan(0);
    expect(m.some((s) => s.name === 'nodejs_eventloop_lag_p99_seconds')).toBe(true);
    expect(m.some((s) => s.name === 'process_resident_memory_bytes')).toBe(true);
  });

  it('answers 404 off /metrics and 405 for a method other than GET', async () => {
    expect((await fetch(`http://${t.server.metricsAddress}/`)).status).toBe(404);
    const post = await fetch(`http://${t.server.metricsAddress}/metrics`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(await post.text()).toBe('expected GET or HEAD, got POST\n');
  });
});
