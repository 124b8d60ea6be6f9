import { status } from '@grpc/grpc-js';
import { demoMlp } from '@modelserve/model-zoo';
import type { GetModelStatisticsResponse__Output, PredictResponse__Output, ServerStats__Output } from '@modelserve/proto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { put } from './support/fixtures.js';
import { failure, startTestServer, unary, type TestServer } from './support/server.js';
import { fp32, maxAbsDiff, output, sampleValues, wire } from './support/tensors.js';

let t: TestServer;
beforeAll(async () => {
  // The same MLP twice: batched and not, one instance each so that concurrent requests queue.
  const root = await mkdtemp(path.join(tmpdir(), 'batching-'));
  const bytes = demoMlp(1).bytes;
  await put(root, 'batched/config.yaml', 'max_batch_size: 128\ndynamic_batching:\n  priority_levels: 2\ninstances:\n  count: 1\n');
  await put(root, 'batched/1/model.onnx', bytes);
  await put(root, 'unbatched/config.yaml', 'max_batch_size: 128\ninstances:\n  count: 1\n');
  await put(root, 'unbatched/1/model.onnx', bytes);
  t = await startTestServer({ modelRepository: root });
});
afterAll(() => t.close());

const predict = (request: object) => unary<PredictResponse__Output>((cb) => t.predictor.Predict(request, cb));
const statistics = async (name: string) =>
  (await unary<GetModelStatisticsResponse__Output>((cb) => t.admin.GetModelStatistics({ name, version: '' }, cb))).versions[0]!;

/** 200 concurrent requests of 1 to 3 rows each; every answer checked against the reference. */
async function concurrentRequests(model: string): Promise<Float32Array[]> {
  const reference = demoMlp(1);
  return Promise.all(
    Array.from({ length: 200 }, async (_, i) => {
      const rows = (i % 3) + 1;
      const x = sampleValues(rows * 784, i + 1);
      const response = await predict({ model_name: model, id: String(i), inputs: [wire(fp32('input', [rows, 784], x))] });
      expect(response.id).toBe(String(i));
      const y = output(response);
      expect(y.shape).toEqual([rows, 10]);
      expect(maxAbsDiff(y.data as Float32Array, reference.forward(x, rows))).toBeLessThan(1e-5);
      return y.data as Float32Array;
    }),
  );
}

describe('dynamic batching through the server', () => {
  it('gives concurrent requests the same outputs batched as unbatched', async () => {
    const batched = await concurrentRequests('batched');
    const unbatched = await concurrentRequests('unbatched');
    batched.forEach((y, i) => expect(maxAbsDiff(y, unbatched[i]!)).toBeLessThan(1e-6));
  });

  it('reports requests, batches and inferences: batched runs fewer, larger batches', async () => {
    const batched = await statistics('batched');
    const unbatched = await statistics('unbatched');
    const samples = 200 * 2; // rows 1, 2, 3 in turn: 67 + 67 + 66 requests
    expect(unbatched).toMatchObject({ request_count: '200', failure_count: '0', batch_count: '200', inference_count: String(samples - 1) });
    expect(batched).toMatchObject({ request_count: '200', failure_count: '0', inference_count: String(samples - 1) });
    expect(Number(batched.batch_count)).toBeLessThan(200);
    expect(batched.batch_sizes.reduce((n, b) => n + Number(b.batch_size) * Number(b.count), 0)).toBe(samples - 1);
    expect(Number(batched.queue_us?.count)).toBe(200);
    expect(Number(batched.compute_us?.count)).toBe(Number(batched.batch_count));
  });

  it('refuses a priority the model does not have', async () => {
    const error = await failure(predict({ model_name: 'batched', priority: 5, inputs: [wire(fp32('input', [1, 784], new Float32Array(784)))] }));
    expect([error.code, error.details]).toEqual([
      status.INVALID_ARGUMENT,
      "model 'batched' version 1: priority 5 is out of range: expected 1 (highest) to 2, or 0 for the default",
    ]);
  });

  it("reports the server's event-loop delay and memory", async () => {
    const stats = await unary<ServerStats__Output>((cb) => t.admin.GetServerStats({ reset: true }, cb));
    expect(Number(stats.rss_bytes)).toBeGreaterThan(10 * 1024 * 1024);
    expect(stats.uptime_seconds).toBeGreaterThan(0);
    // A distribution of delays, in order. How small they are is a speed claim that a busy machine
    // moves: bench:targets checks the p99 against 5 ms under load (apps/bench/src/targets.ts).
    expect(stats.event_loop_delay_p50_ms).toBeGreaterThanOrEqual(0);
    expect(stats.event_loop_delay_p99_ms).toBeGreaterThanOrEqual(stats.event_loop_delay_p50_ms);
    expect(stats.event_loop_delay_max_ms).toBeGreaterThanOrEqual(stats.event_loop_delay_p99_ms);
    expect(Number.isFinite(stats.event_loop_delay_max_ms)).toBe(true);
  });
});
