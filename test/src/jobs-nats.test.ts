/**
 * Batch jobs on a real NATS JetStream server shared by two real `modelserve serve` replicas: one is
 * killed with SIGKILL in the middle of a job, the other finishes it (the killed one's unacknowledged
 * chunk comes back to it after the ack wait), and every row is answered once, equal to the reference.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startNatsServer, type NatsServer } from '@modelserve/jobs/testing';
import type { Job__Output } from '@modelserve/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnServe, type ServeProcess } from './support/cli.js';
import { checkRowsAgainstReference, jobResults, jobsClient, tinyJobFixture, watchJob } from './support/jobs.js';
import { unary } from './support/server.js';

// Two replicas, a job of 40,000 rows and one ack wait: a limit for a hung test, not a speed claim.
const timeoutMs = 240_000;
const ROWS = 40_000;

let root: string;
let repository: string;
let dataDir: string;
let nats: NatsServer;
let values: Float32Array;

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'modelserve-jobs-nats-'));
  ({ repository, dataDir, values } = await tinyJobFixture(root, ROWS, (i) => Math.cos(i * 0.11)));
  nats = await startNatsServer();
});

afterAll(async () => {
  await nats?.stop();
  await rm(root, { recursive: true, force: true });
});

async function replica(): Promise<{ serve: ServeProcess; address: string }> {
  const serve = spawnServe([
    '--host', '127.0.0.1', '--port', '0', '--metrics-port', '0', '--model-repository', repository,
    '--jobs-queue', nats.url, '--jobs-data-dir', dataDir, '--jobs-concurrency', '1', '--jobs-ack-wait-ms', '2000',
  ]);
  const { address } = await serve.log((l) => l.msg === 'modelserve listening');
  return { serve, address: String(address) };
}

describe('jobs on NATS JetStream, two replicas', () => {
  it(
    'finish a job when one replica is killed with SIGKILL mid-job: every row once, equal to the reference',
    async () => {
      const [a, b] = await Promise.all([replica(), replica()]);
      try {
        const clientA = jobsClient(a.address);
        const job = await unary<Job__Output>((cb) => clientA.SubmitJob({ model_name: 'tiny-0000', dataset: { path: 'rows.npy' }, chunk_rows: 16 }, cb));
        const atKill = await watchJob(clientA, job.id, (j) => Number(j.chunks_done) >= 50);
        a.serve.kill();
        clientA.close();
        expect(await a.serve.exited).toBe(null);
        expect(Number(atKill.chunks_done)).toBeLessThan(Number(atKill.chunks_total));

        const clientB = jobsClient(b.address);
        const done = await watchJob(clientB, job.id);
        expect(done).toMatchObject({ state: 'JOB_STATE_SUCCEEDED', rows_done: String(ROWS), rows_failed: '0', chunks_done: atKill.chunks_total });
        const rows = await jobResults(clientB, job.id);
        expect(rows.length).toBe(ROWS);
        checkRowsAgainstReference(rows, values);
        clientB.close();
      } finally {
        a.serve.kill();
        b.serve.kill();
      }
    },
    timeoutMs,
  );
});
