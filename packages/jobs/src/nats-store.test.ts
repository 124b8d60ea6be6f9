import { createHash, randomBytes } from 'node:crypto';
import { Kvm } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeChunk } from './chunk-codec.js';
import { NatsJobStore, type NatsJobStoreOptions } from './nats-store.js';
import { type NatsServer, startNatsServer } from './testing/index.js';
import { firstErrorsKept, type JobRecord, type RowResult } from './types.js';

let server: NatsServer;
let admin: NatsConnection;
const stores: NatsJobStore[] = [];

beforeAll(async () => {
  server = await startNatsServer();
  admin = await connect({ servers: server.url });
});

afterAll(async () => {
  await Promise.all(stores.map((s) => s.close()));
  await admin?.close();
  await server?.stop();
});

let buckets = 0;
/** Buckets of their own, so one test's jobs do not show in another's listing. */
function freshBuckets(): NatsJobStoreOptions {
  const n = buckets++;
  return { jobsBucket: `jobs_${n}`, resultsBucket: `results_${n}`, inputsBucket: `inputs_${n}` };
}

async function openStore(options: NatsJobStoreOptions, target: string | NatsConnection = server.url): Promise<NatsJobStore> {
  const store = await NatsJobStore.open(target, options);
  stores.push(store);
  return store;
}

let clock = Date.now();
/** A time-ordered id as the engine makes them, each later than the one before. */
const newId = (): string => `${String(clock++).padStart(13, '0')}-${randomBytes(5).toString('hex')}`;

function jobOf(over: Partial<JobRecord> = {}): JobRecord {
  return {
    id: newId(),
    model: 'tiny',
    version: 1,
    priority: 1,
    maxFailedRows: 0,
    outputs: [],
    chunkRows: 4,
    rowsTotal: 16,
    state: 'QUEUED',
    rowsDone: 0,
    rowsFailed: 0,
    chunksTotal: 4,
    chunksDone: 0,
    createdMs: Date.now(),
    startedMs: 0,
    finishedMs: 0,
    errors: [],
    message: '',
    ...over,
  };
}

/** Results of rows [start, end): rows in `failed` failed. */
function resultsOf(start: number, end: number, failed: readonly number[] = []): RowResult[] {
  const rows: RowResult[] = [];
  for (let row = start; row < end; row++) {
    rows.push(failed.includes(row) ? { row, error: `row ${row} is bad` } : { row, outputs: [{ name: 'y', datatype: 'FP32', shape: [1], data: Float32Array.of(row) }] });
  }
  return rows;
}

/** The commit of chunk `chunk` (4 rows) with rows `failed` failed. */
function commitOf(jobId: string, chunk: number, failed: readonly number[] = []): Parameters<NatsJobStore['commit']>[0] {
  const results = resultsOf(chunk * 4, chunk * 4 + 4, failed);
  const rowErrors = results.flatMap((r) => (r.error === undefined ? [] : [{ row: r.row, message: r.error }]));
  return { jobId, chunk, rowsOk: results.length - rowErrors.length, rowErrors, results: encodeChunk(results) };
}

describe('NatsJobStore', () => {
  it('stores a job with its inline rows and gives both back', async () => {
    const store = await openStore(freshBuckets());
    const inline = new Uint8Array(3 * 1024 * 1024 + 17).map((_, i) => (i * 7) % 256);
    const job = jobOf();
    const { job: stored, created } = await store.create(job, inline);
    expect(created).toBe(true);
    expect(stored).toEqual(job);
    expect(await store.get(job.id)).toEqual(job);
    // Buffer.equals: vitest's toEqual walks 3 MB an element at a time.
    expect(Buffer.from((await store.inline(job.id))!).equals(inline)).toBe(true);
    expect(await store.get('0000000000000-missing')).toBeUndefined();
    expect(await store.inline('0000000000000-missing')).toBeUndefined();
  });

  it('lists jobs newest first, a page at a time, filtered by state and model', async () => {
    const store = await openStore(freshBuckets());
    const jobs: JobRecord[] = [];
    for (let i = 0; i < 7; i++) jobs.push((await store.create(jobOf({ model: i % 2 === 0 ? 'even' : 'odd' }))).job);
    await store.transition(jobs[1]!.id, ['QUEUED'], 'RUNNING');
    await store.transition(jobs[4]!.id, ['QUEUED'], 'CANCELLED');
    const newestFirst = [...jobs].reverse().map((j) => j.id);

    const first = await store.list({ limit: 3 });
    expect(first.map((j) => j.id)).toEqual(newestFirst.slice(0, 3));
    const second = await store.list({ limit: 3, before: first[2]!.id });
    expect(second.map((j) => j.id)).toEqual(newestFirst.slice(3, 6));
    const last = await store.list({ limit: 3, before: second[2]!.id });
    expect(last.map((j) => j.id)).toEqual(newestFirst.slice(6));

    expect((await store.list({ limit: 10, model: 'odd' })).map((j) => j.id)).toEqual([jobs[5]!.id, jobs[3]!.id, jobs[1]!.id]);
    expect((await store.list({ limit: 10, states: ['RUNNING', 'CANCELLED'] })).map((j) => j.state)).toEqual(['CANCELLED', 'RUNNING']);
    expect((await store.list({ limit: 10, states: ['QUEUED'], model: 'even' })).map((j) => j.id)).toEqual([jobs[6]!.id, jobs[2]!.id, jobs[0]!.id]);
    expect(await store.countActive()).toBe(6);
    expect(await (await openStore(freshBuckets())).list({ limit: 10 })).toEqual([]);
  });

  it('creates one job for an idempotency key, whichever replica asks first', async () => {
    const buckets = freshBuckets();
    const [a, b] = await Promise.all([openStore(buckets), openStore(buckets)]);
    const [first, second] = await Promise.all([a.create(jobOf({ idempotencyKey: 'nightly-42' })), b.create(jobOf({ idempotencyKey: 'nightly-42' }))]);
    expect([first.created, second.created].sort()).toEqual([false, true]);
    expect(second.job.id).toBe(first.job.id);
    expect((await a.byIdempotencyKey('nightly-42'))?.id).toBe(first.job.id);
    expect(await b.byIdempotencyKey('nightly-43')).toBeUndefined();
    expect((await a.list({ limit: 10 })).map((j) => j.id)).toEqual([first.job.id]);
  });

  it('takes over an idempotency key whose job never appeared (its replica died after claiming it)', async () => {
    const buckets = freshBuckets();
    const store = await openStore({ ...buckets, idempotencyWaitMs: 200 });
    const kv = await new Kvm(admin).open(buckets.jobsBucket!);
    await kv.create(`idem.${createHash('sha256').update('orphaned').digest('hex')}`, '0000000000001-deadbeef00');
    const { job, created } = await store.create(jobOf({ idempotencyKey: 'orphaned' }));
    expect(created).toBe(true);
    expect((await store.byIdempotencyKey('orphaned'))?.id).toBe(job.id);
  });

  it('commits a chunk once when two replicas commit it at the same moment', async () => {
    const buckets = freshBuckets();
    const [a, b] = await Promise.all([openStore(buckets), openStore(buckets)]);
    const job = (await a.create(jobOf())).job;
    const answers = await Promise.all([0, 1, 2, 3].flatMap((chunk) => [a.commit(commitOf(job.id, chunk, [chunk * 4])), b.commit(commitOf(job.id, chunk, [chunk * 4]))]));
    for (let chunk = 0; chunk < 4; chunk++) expect([answers[2 * chunk]!.committed, answers[2 * chunk + 1]!.committed].sort()).toEqual([false, true]);
    const after = (await b.get(job.id))!;
    expect(after).toMatchObject({ rowsDone: 12, rowsFailed: 4, chunksDone: 4 });
    expect(after.errors.map((e) => e.row)).toEqual([0, 4, 8, 12]);
    expect(await a.committedChunks(job.id)).toEqual(new Set([0, 1, 2, 3]));
    expect(await a.commit(commitOf(job.id, 2))).toEqual({ committed: false, job: after });
  });

  it('counts, once, a chunk whose results were stored by a replica that died before counting them', async () => {
    const buckets = freshBuckets();
    const store = await openStore(buckets);
    const job = (await store.create(jobOf())).job;
    // The dead replica's attempt: results stored (row 5 failed), counters not updated.
    const kv = await new Kvm(admin).open(buckets.resultsBucket!);
    await kv.create(`${job.id}.1`, encodeChunk(resultsOf(4, 8, [5])));
    expect(await store.committedChunks(job.id)).toEqual(new Set());

    // The redelivery ran the chunk again and every row succeeded this time: the stored results count.
    const redelivered = await store.commit(commitOf(job.id, 1));
    expect(redelivered.committed).toBe(true);
    expect(redelivered.job).toMatchObject({ rowsDone: 3, rowsFailed: 1, chunksDone: 1, errors: [{ row: 5, message: 'row 5 is bad' }] });
    expect(await store.committedChunks(job.id)).toEqual(new Set([1]));

    const again = await store.commit(commitOf(job.id, 1));
    expect(again.committed).toBe(false);
    expect(await store.get(job.id)).toEqual(redelivered.job);
    expect(await store.results(job.id, 1)).toEqual(encodeChunk(resultsOf(4, 8, [5])));
  });

  it('keeps the first errors by row, whatever order the chunks commit in', async () => {
    const store = await openStore(freshBuckets());
    const job = (await store.create(jobOf({ rowsTotal: 40, chunksTotal: 10 }))).job;
    for (let chunk = 9; chunk >= 0; chunk--) await store.commit(commitOf(job.id, chunk, [chunk * 4, chunk * 4 + 3]));
    const after = (await store.get(job.id))!;
    expect(after).toMatchObject({ rowsDone: 20, rowsFailed: 20, chunksDone: 10 });
    expect(after.errors.map((e) => e.row)).toEqual([0, 3, 4, 7, 8, 11, 12, 15, 16, 19].slice(0, firstErrorsKept));
  });

  it("refuses chunk results larger than the server's max payload, storing nothing", async () => {
    const store = await openStore(freshBuckets());
    const job = (await store.create(jobOf())).job;
    const results = new Uint8Array(admin.info!.max_payload + 1);
    await expect(store.commit({ jobId: job.id, chunk: 0, rowsOk: 4, rowErrors: [], results })).rejects.toThrow(/chunk 0: its results take \d+ bytes, more than the \d+ a NATS message holds \(max_payload/);
    expect(await store.results(job.id, 0)).toBeUndefined();
    expect((await store.get(job.id))!.chunksDone).toBe(0);
  });

  it('refuses a job with more chunks than its progress bitmap can hold', async () => {
    const store = await openStore(freshBuckets());
    await expect(store.create(jobOf({ rowsTotal: 10_000_000, chunkRows: 1, chunksTotal: 10_000_000 }))).rejects.toThrow(/has 10000000 chunks; the NATS server's max_payload allows at most \d+ per job/);
  });

  it('moves a job only from the states named, one replica winning a race', async () => {
    const buckets = freshBuckets();
    const [a, b] = await Promise.all([openStore(buckets), openStore(buckets)]);
    const job = (await a.create(jobOf())).job;
    expect(await a.transition(job.id, ['QUEUED'], 'RUNNING', { startedMs: 1234 })).toMatchObject({ state: 'RUNNING', startedMs: 1234 });
    expect(await b.transition(job.id, ['QUEUED'], 'RUNNING')).toBeUndefined();
    const [done, cancelled] = await Promise.all([a.transition(job.id, ['RUNNING'], 'SUCCEEDED', { finishedMs: 1 }), b.transition(job.id, ['RUNNING'], 'CANCELLED', { message: 'cancelled' })]);
    const winners = [done, cancelled].filter((j) => j !== undefined);
    expect(winners).toHaveLength(1);
    expect(await a.get(job.id)).toEqual(winners[0]);
    expect(await a.countActive()).toBe(0);
    expect(await a.transition('0000000000000-missing', ['QUEUED'], 'RUNNING')).toBeUndefined();
  });

  it('leaves open a connection it was given, and closes one it opened', async () => {
    const nc = await connect({ servers: server.url });
    const given = await NatsJobStore.open(nc, freshBuckets());
    await given.close();
    expect(nc.isClosed()).toBe(false);
    await nc.close();
  });
});
