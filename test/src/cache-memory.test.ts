/**
 * The response cache keeps within its budget: a flood of distinct large requests (480 MiB of
 * answers through a 16 MiB cache) leaves the cache at most its budget and the process's RSS within
 * the budget plus a bounded overhead (measured: 105-122 MiB of garbage not yet collected and
 * buffers); without eviction the answers alone would add 480 MiB (measured: RSS grew 288 MiB for
 * half as many requests with a 1 GiB budget).
 */
import { identity } from '@modelserve/model-zoo';
import type { PredictResponse__Output, VersionStatistics__Output } from '@modelserve/proto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { put } from './support/fixtures.js';
import { startTestServer, unary, type TestServer } from './support/server.js';
import { fp32, wire } from './support/tensors.js';

const MiB = 1024 * 1024;
const budget = 16 * MiB;
const elements = (MiB / 2) / 4; // 0.5 MiB of FP32 per answer, under a tenth of the budget
const requests = 960;

let t: TestServer;
let root: string;
beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'modelserve-cache-memory-'));
  await put(root, 'echo/1/model.onnx', identity('float32', ['n', elements]));
  await put(root, 'echo/config.yaml', `max_batch_size: 4\nresponse_cache:\n  max_bytes: ${budget}\n`);
  t = await startTestServer({ modelRepository: root });
});
afterAll(async () => {
  await t.close();
  await rm(root, { recursive: true, force: true });
});

describe('response cache memory', () => {
  it('stays within max_bytes under a flood of distinct large requests, and so does RSS (budget plus overhead)', async () => {
    const x = new Float32Array(elements);
    const send = (i: number) => {
      x[0] = i; // distinct requests: a new key each
      return unary<PredictResponse__Output>((cb) => t.predictor.Predict({ model_name: 'echo', inputs: [wire(fp32('input', [1, elements], x))] }, cb));
    };
    for (let i = 0; i < 8; i++) await send(-1 - i); // warm: the paths, buffers and the cache's first entries
    const before = process.memoryUsage().rss;
    for (let i = 0; i < requests; i += 4) await Promise.all([send(i), send(i + 1), send(i + 2), send(i + 3)]);
    const grown = process.memoryUsage().rss - before;
    const stats = (await unary<{ versions: VersionStatistics__Output[] }>((cb) => t.admin.GetModelStatistics({ name: 'echo' }, cb))).versions[0]!;
    expect(Number(stats.cache_misses)).toBe(requests + 8);
    expect(Number(stats.cache_bytes)).toBeLessThanOrEqual(budget);
    expect(Number(stats.cache_evictions)).toBeGreaterThan(0);
    // Without eviction the answers alone would add requests × 0.5 MiB = 480 MiB.
    expect(grown).toBeLessThan(budget + 240 * MiB);
  });
});
