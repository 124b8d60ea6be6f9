import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ModelRegistry, type NamedTensor, OnnxRuntimeBackend } from '@modelserve/core';
import { tinyModel, writeManyModelRepository } from '@modelserve/model-zoo';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type JobEngine, openJobs } from './engine.js';
import { SqliteJobStore } from './sqlite-store.js';
import type { JobRecord, RowResult } from './types.js';

let root: string;
let registry: ModelRegistry;
let names: string[];
const backend = new OnnxRuntimeBackend({ threads: 2 });

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'modelserve-jobs-'));
  names = await writeManyModelRepository(path.join(root, 'models'), 2);
  registry = await ModelRegistry.open({ repository: path.join(root, 'models'), backend });
});

afterAll(async () => {
  await registry.close();
  await backend.close();
  await rm(root, { recursive: true, force: true });
});

const model = tinyModel(0);

/** Row `i`'s input for tiny model 0. */
function inputOf(i: number): Float32Array {
  return Float32Array.from({ length: model.inputSize }, (_, k) => Math.sin(i * 31 + k));
}

const row = (i: number, data: Float32Array = inputOf(i)): NamedTensor[] => [{ name: 'input', datatype: 'FP32', shape: [data.length], data }];

let dirs = 0;
const jobsDir = (): string => path.join(root, `jobs-${dirs++}`);

async function ended(engine: JobEngine, id: string): Promise<JobRecord> {
  let last: JobRecord | undefined;
  for await (const job of engine.watch(id, new AbortController().signal)) last = job;
  return last!;
}

async function collect(engine: JobEngine, id: string): Promise<RowResult[]> {
  const rows: RowResult[] = [];
  for await (const r of engine.results(id, {}, new AbortController().signal)) rows.push(r);
  return rows;
}

/** The model answering row `i` alone (batch of one), as an online request does. */
async function direct(i: number): Promise<Float32Array> {
  const data = inputOf(i);
  const response = await registry.infer({ model: names[0]!, inputs: [{ name: 'input', datatype: 'FP32', shape: [1, data.length], data }] });
  return response.outputs[0]!.data as Float32Array;
}

function expectClose(got: Float32Array, want: Float32Array): void {
  expect(got.length).toBe(want.length);
  for (let k = 0; k < got.length; k++) expect(Math.abs(got[k]! - want[k]!)).toBeLessThan(1e-5);
}

describe('jobs, embedded (SQLite)', () => {
  it('runs a job in chunks to SUCCEEDED: every row once, in order, equal to its direct prediction; the same idempotency key answers the same job', async () => {
    const engine = await openJobs({ registry, jobsDir: jobsDir() });
    try {
      const rows = Array.from({ length: 45 }, (_, i) => row(i));
      const job = await engine.submit({ model: names[0]!, rows, idempotencyKey: 'night-1' });
      expect(job).toMatchObject({ state: 'QUEUED', rowsTotal: 45, chunkRows: 8, chunksTotal: 6, version: 1 });
      const again = await engine.submit({ model: names[0]!, rows: rows.slice(0, 3), idempotencyKey: 'night-1' });
      expect(again.id).toBe(job.id);
      const done = await ended(engine, job.id);
      expect(done).toMatchObject({ state: 'SUCCEEDED', rowsDone: 45, rowsFailed: 0, chunksDone: 6, errors: [] });
      expect(done.startedMs).toBeGreaterThanOrEqual(done.createdMs);
      expect(done.finishedMs).toBeGreaterThanOrEqual(done.startedMs);
      const results = await collect(engine, job.id);
      expect(results.map((r) => r.row)).toEqual(rows.map((_, i) => i));
      for (const r of results) {
        expect(r.outputs![0]!.shape).toEqual([model.outputSize]);
        expectClose(r.outputs![0]!.data as Float32Array, await direct(r.row));
        expectClose(r.outputs![0]!.data as Float32Array, model.forward(inputOf(r.row), 1));
      }
      const page = await engine.list({ pageSize: 1 });
      expect(page.jobs.map((j) => j.id)).toEqual([job.id]);
      const ranged: number[] = [];
      for await (const r of engine.results(job.id, { startRow: 10, maxRows: 5 }, new AbortController().signal)) ranged.push(r.row);
      expect(ranged).toEqual([10, 11, 12, 13, 14]);
    } finally {
      await engine.close();
    }
  });

  it('fails a malformed row with its reason, not the job, until max_failed_rows', async () => {
    const engine = await openJobs({ registry, jobsDir: jobsDir() });
    try {
      const rows = Array.from({ length: 20 }, (_, i) => row(i));
      rows[3] = row(3, new Float32Array(model.inputSize - 1));
      rows[12] = [{ name: 'nope', datatype: 'FP32', shape: [model.inputSize], data: inputOf(12) }];
      const tolerant = await ended(engine, (await engine.submit({ model: names[0]!, rows, maxFailedRows: 2 })).id);
      expect(tolerant).toMatchObject({ state: 'SUCCEEDED', rowsDone: 18, rowsFailed: 2 });
      expect(tolerant.errors).toEqual([
        { row: 3, message: `input input: expected shape [${model.inputSize}], got [${model.inputSize - 1}]` },
        { row: 12, message: 'expected inputs input, got nope' },
      ]);
      const results = await collect(engine, tolerant.id);
      expect(results.filter((r) => r.error !== undefined).map((r) => r.row)).toEqual([3, 12]);
      expectClose(results[4]!.outputs![0]!.data as Float32Array, await direct(4));

      const strict = await ended(engine, (await engine.submit({ model: names[0]!, rows, maxFailedRows: 1 })).id);
      expect(strict.state).toBe('FAILED');
      expect(strict.message).toMatch(/^2 rows failed, more than max_failed_rows 1 \(first: row 3: /);
    } finally {
      await engine.close();
    }
  });

  it('refuses jobs past its limits and requests it cannot run, with the status and what was expected', async () => {
    for (const busyShare of [0, 1.5, Number.NaN]) {
      await expect(openJobs({ registry, jobsDir: jobsDir(), busyShare })).rejects.toThrow(`busyShare: expected a fraction above 0 and at most 1, got ${busyShare}`);
    }
    const engine = await openJobs({ registry, jobsDir: jobsDir(), maxRowsPerJob: 10, maxActiveJobs: 1, concurrency: 1 });
    try {
      await expect(engine.submit({ model: names[0]!, rows: Array.from({ length: 11 }, (_, i) => row(i)) })).rejects.toMatchObject({
        errorCode: 'ResourceExhausted',
        details: "the job has 11 rows, more than this server's limit of 10 per job",
      });
      await expect(engine.submit({ model: names[0]!, rows: [] })).rejects.toMatchObject({ errorCode: 'InvalidArgument', details: 'expected at least one row, got none' });
      await expect(engine.submit({ model: names[0]! })).rejects.toMatchObject({ errorCode: 'InvalidArgument', details: 'expected either inline rows or a dataset, got neither' });
      await expect(engine.submit({ model: 'nope', rows: [row(0)] })).rejects.toMatchObject({ errorCode: 'NotFound' });
      await expect(engine.submit({ model: names[0]!, rows: [row(0)], outputs: ['y'] })).rejects.toMatchObject({ errorCode: 'InvalidArgument', details: `outputs: ${names[0]} has no output "y"; expected one of output` });
      await expect(engine.submit({ model: names[0]!, input: { path: 'x.npy' } })).rejects.toMatchObject({ errorCode: 'InvalidArgument', details: expect.stringMatching(/no --jobs-data-dir/) });
      await expect(engine.get('0000000000000-0000000000')).rejects.toMatchObject({ errorCode: 'NotFound' });
      await expect(engine.list({ pageSize: 1001 })).rejects.toMatchObject({ errorCode: 'InvalidArgument', details: 'page_size: expected 1 to 1000 (0 for 50), got 1001' });
      const first = await engine.submit({ model: names[0]!, rows: Array.from({ length: 10 }, (_, i) => row(i)) });
      await expect(engine.submit({ model: names[0]!, rows: [row(0)] })).rejects.toMatchObject({ errorCode: 'ResourceExhausted' });
      await ended(engine, first.id);
      await expect(engine.cancel(first.id)).rejects.toMatchObject({ errorCode: 'FailedPrecondition', details: `job ${first.id} has already ended (SUCCEEDED)` });
    } finally {
      await engine.close();
    }
  });

  it('cancels a job mid-way: no chunk is committed after the cancel but those already running', async () => {
    const dir = jobsDir();
    const engine = await openJobs({ registry, jobsDir: dir, concurrency: 1 });
    let cancelled: JobRecord;
    try {
      const job = await engine.submit({ model: names[0]!, rows: Array.from({ length: 800 }, (_, i) => row(i)), chunkRows: 4 });
      for await (const now of engine.watch(job.id, new AbortController().signal)) if (now.chunksDone > 0) break;
      cancelled = await engine.cancel(job.id);
      expect(cancelled.state).toBe('CANCELLED');
      await expect(engine.results(job.id, {}, new AbortController().signal)[Symbol.asyncIterator]().next()).resolves.toMatchObject({ done: false });
    } finally {
      await engine.close();
    }
    const store = new SqliteJobStore(dir);
    try {
      const after = (await store.get(cancelled.id))!;
      expect(after.state).toBe('CANCELLED');
      // With one chunk at a time, at most the one running at the cancel commits after it.
      expect(after.chunksDone - cancelled.chunksDone).toBeLessThanOrEqual(1);
      expect(after.chunksDone).toBeLessThan(after.chunksTotal);
      expect((await store.committedChunks(cancelled.id)).size).toBe(after.chunksDone);
    } finally {
      await store.close();
    }
  });

  it('fails the rows of a chunk that fails three times with the reason (dead letter), and the job past max_failed_rows', async () => {
    const engine = await openJobs({ registry, jobsDir: jobsDir(), concurrency: 1 });
    try {
      // One chunk at a time: the long job on model 0 runs first (priority 1), so model 1 is unloaded before any chunk of the second job starts.
      const first = await engine.submit({ model: names[0]!, rows: Array.from({ length: 400 }, (_, i) => row(i)), chunkRows: 4 });
      const other = tinyModel(1);
      const doomed = await engine.submit({ model: names[1]!, rows: Array.from({ length: 6 }, () => [{ name: 'input', datatype: 'FP32' as const, shape: [other.inputSize], data: new Float32Array(other.inputSize) }]), chunkRows: 4, priority: 2 });
      await registry.unload(names[1]!);
      const failed = await ended(engine, doomed.id);
      expect(failed).toMatchObject({ state: 'FAILED', rowsDone: 0 });
      expect(failed.errors[0]).toEqual({ row: 0, message: expect.stringMatching(/^chunk 0 failed 3 times: .*tiny-0001/) });
      expect(failed.message).toMatch(/^4 rows failed, more than max_failed_rows 0 \(first: row 0: chunk 0 failed 3 times: /);
      expect((await ended(engine, first.id)).state).toBe('SUCCEEDED');
    } finally {
      await engine.close();
      await registry.load(names[1]!);
    }
  });

  it('resumes after a restart from its last committed chunk and answers every row once', async () => {
    const dir = jobsDir();
    const first = await openJobs({ registry, jobsDir: dir, concurrency: 1 });
    const rows = Array.from({ length: 400 }, (_, i) => row(i));
    const job = await first.submit({ model: names[0]!, rows, chunkRows: 4 });
    for await (const now of first.watch(job.id, new AbortController().signal)) if (now.chunksDone >= 3) break;
    await first.close();
    const peek = new SqliteJobStore(dir);
    const stopped = await peek.get(job.id);
    await peek.close();
    expect(stopped!.state).toBe('RUNNING');
    expect(stopped!.chunksDone).toBeLessThan(stopped!.chunksTotal);

    const second = await openJobs({ registry, jobsDir: dir, concurrency: 2 });
    try {
      const done = await ended(second, job.id);
      expect(done).toMatchObject({ state: 'SUCCEEDED', rowsDone: 400, chunksDone: 100 });
      const results = await collect(second, job.id);
      expect(results.map((r) => r.row)).toEqual(rows.map((_, i) => i));
      for (const i of [0, 11, 399]) expectClose(results[i]!.outputs![0]!.data as Float32Array, await direct(i));
    } finally {
      await second.close();
    }
  });
});
