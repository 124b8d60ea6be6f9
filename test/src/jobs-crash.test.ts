/**
 * Batch jobs survive `kill -9`: a real `modelserve serve --jobs-dir` killed in the middle of a
 * job, started again on the same directory, resumes from its last committed chunk and finishes;
 * every row is answered once and equals the model's reference.
 */
import { mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { status } from '@grpc/grpc-js';
import { SqliteJobStore } from '@modelserve/jobs/sqlite';
import { tinyModel } from '@modelserve/model-zoo';
import type { Job__Output } from '@modelserve/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnServe, type ServeProcess } from './support/cli.js';
import { put } from './support/fixtures.js';
import { checkRowsAgainstReference, getJob, jobResults, jobsClient, npyFloat32, tinyJobFixture, watchJob } from './support/jobs.js';
import { failure, unary } from './support/server.js';

// Spawns two servers in turn and runs a job of 60,000 rows: a limit for a hung test, not a speed claim.
const timeoutMs = 240_000;
const ROWS = 60_000;

let root: string;
let repository: string;
let dataDir: string;
const model = tinyModel(0);
let values: Float32Array;

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'modelserve-jobs-crash-'));
  ({ repository, dataDir, values } = await tinyJobFixture(root, ROWS, (i) => Math.sin(i * 0.37)));
  await put(root, 'outside.npy', npyFloat32(1, model.inputSize, values.subarray(0, model.inputSize)));
  await symlink(path.join(root, 'outside.npy'), path.join(dataDir, 'escape.npy'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function serve(jobsDir: string): Promise<{ serve: ServeProcess; address: string }> {
  const server = spawnServe(['--host', '127.0.0.1', '--port', '0', '--metrics-port', '0', '--model-repository', repository, '--jobs-dir', jobsDir, '--jobs-data-dir', dataDir, '--jobs-concurrency', '1']);
  const { address } = await server.log((l) => l.msg === 'modelserve listening');
  return { serve: server, address: String(address) };
}

describe('jobs after kill -9 (embedded SQLite)', () => {
  it(
    'resume from the last committed chunk, and every row is answered once, equal to the reference',
    async () => {
      const jobsDir = path.join(root, 'jobs');
      const first = await serve(jobsDir);
      let job: Job__Output;
      let atKill: Job__Output;
      try {
        const client = jobsClient(first.address);
        job = await unary<Job__Output>((cb) => client.SubmitJob({ model_name: 'tiny-0000', dataset: { path: 'rows.npy' }, output: { path: 'out.npy' } }, cb));
        expect(job).toMatchObject({ state: 'JOB_STATE_QUEUED', rows_total: String(ROWS), chunk_rows: 8 });
        atKill = await watchJob(client, job.id, (j) => Number(j.chunks_done) >= 20);
        first.serve.kill();
        client.close();
      } finally {
        first.serve.kill();
      }
      expect(await first.serve.exited).toBe(null);
      const store = new SqliteJobStore(jobsDir);
      const stopped = (await store.get(job.id))!;
      const committed = (await store.committedChunks(job.id)).size;
      await store.close();
      expect(stopped.state).toBe('RUNNING');
      expect(stopped.chunksDone).toBeGreaterThanOrEqual(Number(atKill.chunks_done));
      expect(stopped.chunksDone).toBe(committed);
      expect(stopped.chunksDone).toBeLessThan(stopped.chunksTotal);

      const second = await serve(jobsDir);
      try {
        const resumed = await second.serve.log((l) => l.msg === `resuming job ${job.id}: ${stopped.chunksTotal - committed} of ${stopped.chunksTotal} chunks left`);
        expect(resumed).toMatchObject({ job: job.id, chunksLeft: stopped.chunksTotal - committed });
        const client = jobsClient(second.address);
        const done = await watchJob(client, job.id);
        expect(done).toMatchObject({ state: 'JOB_STATE_SUCCEEDED', rows_done: String(ROWS), rows_failed: '0', chunks_done: String(stopped.chunksTotal) });
        const rows = await jobResults(client, job.id);
        expect(rows.length).toBe(ROWS);
        checkRowsAgainstReference(rows, values);
        client.close();
      } finally {
        second.serve.kill();
      }
    },
    timeoutMs,
  );

  it(
    'refuse dataset paths outside --jobs-data-dir with INVALID_ARGUMENT',
    async () => {
      const server = await serve(path.join(root, 'jobs-paths'));
      const client = jobsClient(server.address);
      try {
        const submit = (p: string) => failure(unary((cb) => client.SubmitJob({ model_name: 'tiny-0000', dataset: { path: p } }, cb)));
        for (const p of ['../outside.npy', path.join(root, 'outside.npy'), 'escape.npy', 'a/../../outside.npy']) {
          const error = await submit(p);
          expect(error.code, p).toBe(status.INVALID_ARGUMENT);
          expect(error.details, p).toContain(p);
        }
        const missing = await failure(unary((cb) => getJob(client, 'nope').then((j) => cb(null, j), cb)));
        expect(missing.code).toBe(status.NOT_FOUND);
      } finally {
        client.close();
        server.serve.kill();
      }
    },
    timeoutMs,
  );
});
