import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ModelRegistry, type NamedTensor, OnnxRuntimeBackend } from '@modelserve/core';
import { tinyModel, writeManyModelRepository } from '@modelserve/model-zoo';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type JobEngine, openJobs } from './engine.js';
import { startNatsServer } from './testing/nats-server.js';
import type { JobRecord, RowResult } from './types.js';

let root: string;
let registry: ModelRegistry;
let names: string[];
let nats: Awaited<ReturnType<typeof startNatsServer>>;
const backend = new OnnxRuntimeBackend({ threads: 2 });

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'modelserve-jobs-nats-'));
  names = await writeManyModelRepository(path.join(root, 'models'), 1);
  registry = await ModelRegistry.open({ repository: path.join(root, 'models'), backend });
  nats = await startNatsServer();
});

afterAll(async () => {
  await nats?.stop();
  await registry?.close();
  await backend.close();
  await rm(root, { recursive: true, force: true });
});

const model = tinyModel(0);
const inputOf = (i: number): Float32Array => Float32Array.from({ length: model.inputSize }, (_, k) => Math.cos(i * 7 + k));
const row = (i: number): NamedTensor[] => [{ name: 'input', datatype: 'FP32', shape: [model.inputSize], data: inputOf(i) }];

async function ended(engine: JobEngine, id: string): Promise<JobRecord> {
  let last: JobRecord | undefined;
  for await (const job of engine.watch(id, new AbortController().signal)) last = job;
  return last!;
}

describe('jobs on NATS JetStream', () => {
  it('two replicas on one stream: a job submitted to one (and again, same key, to the other) finishes, watched from the other; every row once, equal to the reference', async () => {
    const a = await openJobs({ registry, queueUrl: nats.url, concurrency: 2, watchPollMs: 50 });
    const b = await openJobs({ registry, queueUrl: nats.url, concurrency: 2, watchPollMs: 50 });
    try {
      const rows = Array.from({ length: 300 }, (_, i) => row(i));
      const job = await a.submit({ model: names[0]!, rows, chunkRows: 4, idempotencyKey: 'shared' });
      expect((await b.submit({ model: names[0]!, rows: rows.slice(0, 1), idempotencyKey: 'shared' })).id).toBe(job.id);
      const done = await ended(b, job.id);
      expect(done).toMatchObject({ state: 'SUCCEEDED', rowsDone: 300, rowsFailed: 0, chunksDone: 75 });
      const results: RowResult[] = [];
      for await (const r of a.results(job.id, {}, new AbortController().signal)) results.push(r);
      expect(results.map((r) => r.row)).toEqual(rows.map((_, i) => i));
      for (const r of results) {
        const want = model.forward(inputOf(r.row), 1);
        const got = r.outputs![0]!.data as Float32Array;
        for (let k = 0; k < want.length; k++) expect(Math.abs(got[k]! - want[k]!)).toBeLessThan(1e-4);
      }
      expect((await a.list({ states: ['SUCCEEDED'] })).jobs.map((j) => j.id)).toContain(job.id);
    } finally {
      await a.close();
      await b.close();
    }
  });
});
