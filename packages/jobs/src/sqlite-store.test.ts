import { statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeChunk, encodeChunk } from './chunk-codec.js';
import { type Checkpoint, SqliteJobStore } from './sqlite-store.js';
import type { JobRecord } from './types.js';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'modelserve-sqlite-store-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const chunks = 64;
const job: JobRecord = {
  id: '0000000000001-0123456789',
  model: 'tiny',
  version: 1,
  priority: 1,
  maxFailedRows: 0,
  outputs: [],
  chunkRows: 1,
  rowsTotal: chunks,
  state: 'RUNNING',
  rowsDone: 0,
  rowsFailed: 0,
  chunksTotal: chunks,
  chunksDone: 0,
  createdMs: 1,
  startedMs: 2,
  finishedMs: 0,
  errors: [],
  message: '',
};
const resultOf = (chunk: number): Uint8Array => encodeChunk([{ row: chunk, outputs: [{ name: 'y', datatype: 'FP32', shape: [256], data: new Float32Array(256).fill(chunk) }] }]);

describe('the SQLite job store', () => {
  it('checkpoints the WAL on its own thread, never in a commit, and keeps every commit through close and reopen', async () => {
    const dir = path.join(root, 'wal');
    const store = new SqliteJobStore(dir, 20);
    const checkpoints: Checkpoint[] = [];
    const full = new Promise<void>((resolve) => {
      store.onCheckpoint = (c) => {
        checkpoints.push(c);
        if (c.checkpointed === c.log) resolve();
      };
    });
    await store.create(job);
    for (let chunk = 0; chunk < chunks; chunk++) {
      const { committed } = await store.commit({ jobId: job.id, chunk, rowsOk: 1, rowErrors: [], results: resultOf(chunk) });
      expect(committed).toBe(true);
    }
    // 64 commits of 1 KiB results: with SQLite's automatic checkpoint (every 1000 pages) none of
    // them would have checkpointed either, so the frames the thread reports are its own work.
    await full;
    expect(checkpoints.at(-1)!.log).toBeGreaterThan(0);
    // The database file holds the checkpointed pages (it was one schema page or so before).
    expect(statSync(path.join(dir, 'jobs.sqlite')).size).toBeGreaterThan(chunks * 1024);
    await store.close();

    const reopened = new SqliteJobStore(dir);
    try {
      expect(await reopened.get(job.id)).toMatchObject({ chunksDone: chunks, rowsDone: chunks });
      expect([...(await reopened.committedChunks(job.id))].sort((a, b) => a - b)).toEqual(Array.from({ length: chunks }, (_, i) => i));
      const last = decodeChunk((await reopened.results(job.id, chunks - 1))!);
      expect(last[0]!.outputs![0]!.data).toEqual(new Float32Array(256).fill(chunks - 1));
    } finally {
      await reopened.close();
    }
  });
});
