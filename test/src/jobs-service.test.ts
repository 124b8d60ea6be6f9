/**
 * modelserve.v1.Jobs on a real server (127.0.0.1:0) with a real job engine on an embedded SQLite
 * store: jobs run to the end and each row's outputs equal the model's online answer for it;
 * malformed requests are INVALID_ARGUMENT naming what was expected and what came; tokens apply as
 * for inference; a server without jobs says how to turn them on; the engine opens once the
 * repository has loaded and closes before the models unload; reflection lists the service.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { credentials, loadPackageDefinition, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { bundledRepository } from '@modelserve/cli';
import type { ModelRegistry } from '@modelserve/core';
import { type JobEngine, openJobs } from '@modelserve/jobs';
import { demoTinyMlp } from '@modelserve/model-zoo';
import { type Job__Output, type JobResultRow__Output, loadGrpcObject, type PredictResponse__Output } from '@modelserve/proto';
import { startServer } from '@modelserve/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from './support/eventually.js';
import { freePort } from './support/free-port.js';
import { describe as describeSymbol, list } from './support/grpcurl.js';
import { getJob, jobResults, jobsClient, type JobsClient, npyFloat32, watchJob } from './support/jobs.js';
import { failure, startTestServer, type TestServer, unary } from './support/server.js';
import { decoded, fp32, maxAbsDiff, wire } from './support/tensors.js';
import { put } from './support/fixtures.js';

let root: string;
let dirs = 0;
/** A new directory under the test's root. */
const dir = (name: string): string => path.join(root, `${name}-${dirs++}`);

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'modelserve-jobs-service-'));
});
afterAll(() => rm(root, { recursive: true, force: true }));

/** tiny_mlp's row `i`: 4 features. */
const features = (i: number): number[] => [Math.sin(i), Math.cos(i), i / 10, 1 - i / 20];
/** Rows 0..n-1 as inline rows (each input without the batch dimension). */
const inlineRows = (n: number, format: 'raw' | 'typed' = 'raw') => ({ rows: Array.from({ length: n }, (_, i) => ({ inputs: [wire(fp32('input', [4], features(i)), format)] })) });

const submit = (client: JobsClient, request: object, metadata = new Metadata()): Promise<Job__Output> =>
  unary<Job__Output>((cb) => client.SubmitJob({ model_name: 'tiny_mlp', ...request }, metadata, cb));

/** The status a streaming call ends with, once it has ended. */
function streamFailure(start: () => NodeJS.EventEmitter): Promise<ServiceError> {
  return new Promise((resolve, reject) => {
    const call = start();
    call.on('data', () => undefined);
    call.on('error', resolve);
    call.on('end', () => reject(new Error('expected the stream to fail, it ended')));
  });
}

describe('a server with jobs', () => {
  let t: TestServer;
  let client: JobsClient;
  let dataDir: string;
  beforeAll(async () => {
    dataDir = dir('data');
    await put(dataDir, 'rows.npy', npyFloat32(10, 4, Float32Array.from({ length: 40 }, (_, k) => features(Math.floor(k / 4))[k % 4]!)));
    await put(dataDir, 'ragged.jsonl', '{"input": [1, 2, 3, 4]}\n{"input": [1, 2]}\n{"input": [5, 6, 7, 8]}\n');
    const jobsDir = dir('jobs');
    t = await startTestServer({ modelRepository: bundledRepository, jobs: (registry) => openJobs({ registry, jobsDir, dataDir, concurrency: 1 }) });
    client = jobsClient(t.server.address);
  });
  afterAll(async () => {
    client.close();
    await t.close();
  });

  it('runs inline rows in chunks to SUCCEEDED; each row answered once, in order, as Predict answers it alone', async () => {
    const job = await submit(client, { inline: inlineRows(20), idempotency_key: 'night-1' });
    expect(job).toMatchObject({ state: 'JOB_STATE_QUEUED', model_name: 'tiny_mlp', model_version: '1', rows_total: '20', chunk_rows: 8, chunks_total: '3', priority: 1, idempotency_key: 'night-1', input_path: '' });
    expect(Number(job.created_unix_ms)).toBeGreaterThan(0);
    expect((await submit(client, { inline: inlineRows(3), idempotency_key: 'night-1' })).id).toBe(job.id);

    const done = await watchJob(client, job.id);
    expect(done).toMatchObject({ state: 'JOB_STATE_SUCCEEDED', rows_done: '20', rows_failed: '0', chunks_done: '3', errors: [], message: '' });
    const rows = await jobResults(client, job.id);
    expect(rows.map((r) => r.row)).toEqual(Array.from({ length: 20 }, (_, i) => String(i)));
    for (const [i, row] of rows.entries()) {
      const online = await unary<PredictResponse__Output>((cb) => t.predictor.Predict({ model_name: 'tiny_mlp', inputs: [wire(fp32('input', [1, 4], features(i)))] }, cb));
      const got = decoded(row.outputs[0]!);
      expect(got.shape).toEqual([3]);
      expect(maxAbsDiff(got.data as Float32Array, decoded(online.outputs[0]!).data as Float32Array)).toBeLessThan(1e-5);
      expect(maxAbsDiff(got.data as Float32Array, demoTinyMlp().forward(Float32Array.from(features(i)), 1))).toBeLessThan(1e-5);
    }
  });

  it('reads a dataset under --jobs-data-dir, and sends results RAW by default, TYPED when asked, from start_row up to max_rows', async () => {
    const job = await watchJob(client, (await submit(client, { dataset: { path: 'rows.npy' }, outputs: ['output'] })).id);
    expect(job).toMatchObject({ state: 'JOB_STATE_SUCCEEDED', rows_total: '10', input_path: 'rows.npy' });
    const raw = await jobResults(client, job.id, { start_row: 4, max_rows: 3 });
    expect(raw.map((r) => r.row)).toEqual(['4', '5', '6']);
    expect(raw[0]!.outputs[0]!.raw_contents.length).toBe(12);
    const typed = await jobResults(client, job.id, { start_row: 4, max_rows: 1, output_format: 'OUTPUT_FORMAT_TYPED' });
    expect(typed[0]!.outputs[0]).toMatchObject({ name: 'output', datatype: 'FP32', shape: ['3'], raw_contents: Buffer.alloc(0) });
    expect(maxAbsDiff(typed[0]!.outputs[0]!.contents!.fp32_contents, decoded(raw[0]!.outputs[0]!).data as Float32Array)).toBe(0);
  });

  it('fails a job with more failed rows than max_failed_rows, keeping each row error', async () => {
    const failed = await watchJob(client, (await submit(client, { dataset: { path: 'ragged.jsonl' } })).id);
    expect(failed).toMatchObject({ state: 'JOB_STATE_FAILED', rows_failed: '1', errors: [{ row: '1', message: 'input "input": expected 4 elements, got 2' }] });
    expect(failed.message).toContain('more than max_failed_rows 0');
    const tolerant = await watchJob(client, (await submit(client, { dataset: { path: 'ragged.jsonl' }, max_failed_rows: 1 })).id);
    expect(tolerant).toMatchObject({ state: 'JOB_STATE_SUCCEEDED', rows_done: '2', rows_failed: '1', max_failed_rows: '1' });
    const rows: JobResultRow__Output[] = await jobResults(client, tolerant.id);
    expect(rows.map((r) => [r.row, r.outputs.length, r.error === ''])).toEqual([['0', 1, true], ['1', 0, false], ['2', 1, true]]);
  });

  it('cancels a running job, whose results are then readable; GetJobResults of a running job needs allow_partial; an ended job cannot be cancelled', async () => {
    const job = await submit(client, { inline: inlineRows(20_000), chunk_rows: 1 });
    const running = await watchJob(client, job.id, (j) => Number(j.rows_done) > 0);
    expect(running.state).toBe('JOB_STATE_RUNNING');
    const early = await failure(jobResults(client, job.id));
    expect(early.code).toBe(status.FAILED_PRECONDITION);
    expect(early.details).toMatch(/allow_partial/);
    expect((await jobResults(client, job.id, { allow_partial: true, max_rows: 1 })).map((r) => r.row)).toEqual(['0']);

    const cancelled = await unary<Job__Output>((cb) => client.CancelJob({ id: job.id }, cb));
    expect(cancelled).toMatchObject({ state: 'JOB_STATE_CANCELLED', message: 'cancelled' });
    expect(Number(cancelled.finished_unix_ms)).toBeGreaterThan(0);
    expect((await watchJob(client, job.id)).state).toBe('JOB_STATE_CANCELLED');
    expect((await jobResults(client, job.id, { max_rows: 1 })).map((r) => r.row)).toEqual(['0']);
    const again = await failure(unary((cb) => client.CancelJob({ id: job.id }, cb)));
    expect({ code: again.code, details: again.details }).toEqual({ code: status.FAILED_PRECONDITION, details: `job ${job.id} has already ended (CANCELLED)` });
  });

  it('lists jobs newest first, by state and model, a page at a time', async () => {
    const first = await submit(client, { inline: inlineRows(1) });
    const second = await submit(client, { inline: inlineRows(1) });
    await watchJob(client, second.id);
    await watchJob(client, first.id);
    type Page = { jobs: Job__Output[]; next_page_token: string };
    const page = await unary<Page>((cb) => client.ListJobs({ page_size: 1 }, cb));
    expect(page.jobs.map((j) => j.id)).toEqual([second.id]);
    expect(page.next_page_token).toBe(second.id);
    const next = await unary<Page>((cb) => client.ListJobs({ page_size: 1, page_token: page.next_page_token }, cb));
    expect(next.jobs.map((j) => j.id)).toEqual([first.id]);
    const cancelled = await unary<Page>((cb) => client.ListJobs({ states: ['JOB_STATE_CANCELLED'] }, cb));
    expect(cancelled.jobs.length).toBeGreaterThan(0);
    expect(new Set(cancelled.jobs.map((j) => j.state))).toEqual(new Set(['JOB_STATE_CANCELLED']));
    expect((await unary<Page>((cb) => client.ListJobs({ model_name: 'mnist_mlp' }, cb))).jobs).toEqual([]);
    expect(await getJob(client, first.id)).toMatchObject({ id: first.id, state: 'JOB_STATE_SUCCEEDED' });
  });

  describe('refuses malformed requests, saying what it expected and what it got', () => {
    const invalid = (details: string) => ({ code: status.INVALID_ARGUMENT, details });
    const outcome = async (promise: Promise<unknown>) => {
      const error = await failure(promise);
      return { code: error.code, details: error.details };
    };

    it('SubmitJob', async () => {
      expect(await outcome(submit(client, {}))).toEqual(invalid('expected one source, inline rows (inline) or a dataset (dataset), got neither'));
      expect(await outcome(submit(client, { inline: inlineRows(1), dataset: { path: 'rows.npy' } }))).toEqual(
        invalid('expected one source, inline rows (inline) or a dataset (dataset), got both'),
      );
      expect(await outcome(submit(client, { model_name: '', inline: inlineRows(1) }))).toEqual(invalid('model_name: expected a model name, got an empty string'));
      expect(await outcome(submit(client, { dataset: { path: '' } }))).toEqual(invalid('dataset.path: expected a path under --jobs-data-dir, got an empty string'));
      expect(await outcome(submit(client, { dataset: { path: 'rows.npy', format: 9 } }))).toEqual(
        invalid('dataset.format: expected one of DATASET_FORMAT_UNSPECIFIED, DATASET_FORMAT_NPY, DATASET_FORMAT_JSONL, DATASET_FORMAT_NPY_DIR, got 9'),
      );
      expect(await outcome(submit(client, { inline: inlineRows(1), output: { path: '' } }))).toEqual(invalid('output.path: expected a path under --jobs-data-dir, got an empty string'));
      expect(await outcome(submit(client, { inline: inlineRows(1), max_failed_rows: '18446744073709551615' }))).toEqual(
        invalid('max_failed_rows: expected at most 9007199254740991, got 18446744073709551615'),
      );
      expect(await outcome(submit(client, { inline: { rows: [] } }))).toEqual(invalid('expected at least one row, got none'));
      const malformed = await outcome(submit(client, { inline: { rows: [{ inputs: [{ name: 'input', datatype: 'FP32', shape: [4], contents: { fp32_contents: [1, 2, 3] } }] }] } }));
      expect(malformed.code).toBe(status.INVALID_ARGUMENT);
      expect(malformed.details).toMatch(/^inline row 0 input 'input': /);
      expect(malformed.details).toMatch(/4/);
    });

    it('SubmitJob of a model or version the server does not have', async () => {
      const model = await failure(submit(client, { model_name: 'nope', inline: inlineRows(1) }));
      expect(model.code).toBe(status.NOT_FOUND);
      expect(model.details).toMatch(/'nope'.*tiny_mlp/);
      const version = await failure(submit(client, { model_version: '7', inline: inlineRows(1) }));
      expect(version.code).toBe(status.NOT_FOUND);
      expect(version.details).toMatch(/7/);
    });

    it('ListJobs', async () => {
      expect(await outcome(unary((cb) => client.ListJobs({ page_size: 1001 }, cb)))).toEqual(invalid('page_size: expected at most 1000 (0 for the default, 50), got 1001'));
      const states = 'JOB_STATE_QUEUED, JOB_STATE_RUNNING, JOB_STATE_SUCCEEDED, JOB_STATE_FAILED, JOB_STATE_CANCELLED';
      expect(await outcome(unary((cb) => client.ListJobs({ states: ['JOB_STATE_RUNNING', 9 as never] }, cb)))).toEqual(invalid(`states[1]: expected one of ${states}, got 9`));
      expect(await outcome(unary((cb) => client.ListJobs({ states: ['JOB_STATE_UNSPECIFIED'] }, cb)))).toEqual(invalid(`states[0]: expected one of ${states}, got JOB_STATE_UNSPECIFIED`));
      expect(await outcome(unary((cb) => client.ListJobs({ page_token: 'abc' }, cb)))).toEqual(invalid('page_token: expected a token from a previous ListJobs answer, got "abc"'));
    });

    it('GetJob, CancelJob, WatchJob and GetJobResults', async () => {
      expect(await outcome(unary((cb) => client.GetJob({ id: '' }, cb)))).toEqual(invalid('id: expected a job id, got an empty string'));
      expect(await outcome(unary((cb) => client.CancelJob({ id: '' }, cb)))).toEqual(invalid('id: expected a job id, got an empty string'));
      expect(await outcome(unary((cb) => client.GetJob({ id: 'nope' }, cb)))).toEqual({ code: status.NOT_FOUND, details: 'job "nope" not found' });
      const watch = await streamFailure(() => client.WatchJob({ id: 'nope' }));
      expect({ code: watch.code, details: watch.details }).toEqual({ code: status.NOT_FOUND, details: 'job "nope" not found' });
      const results = await streamFailure(() => client.GetJobResults({ id: 'x', output_format: 7 as never }));
      expect({ code: results.code, details: results.details }).toEqual(invalid('output_format: expected one of OUTPUT_FORMAT_UNSPECIFIED, OUTPUT_FORMAT_TYPED, OUTPUT_FORMAT_RAW, got 7'));
      const start = await streamFailure(() => client.GetJobResults({ id: 'x', start_row: '9007199254740992' }));
      expect({ code: start.code, details: start.details }).toEqual(invalid('start_row: expected at most 9007199254740991, got 9007199254740992'));
    });
  });

  it('is listed by reflection with its six methods, as grpcurl lists it', async () => {
    expect(await list(t.server.address)).toContain('modelserve.v1.Jobs');
    const service = await describeSymbol(t.server.address, 'modelserve.v1.Jobs');
    expect(service.kind === 'service' && service.methods.map((m) => [m.name, m.serverStreaming])).toEqual([
      ['SubmitJob', false],
      ['GetJob', false],
      ['WatchJob', true],
      ['CancelJob', false],
      ['ListJobs', false],
      ['GetJobResults', true],
    ]);
  });
});

describe('a server with an inference token', () => {
  let t: TestServer;
  let client: JobsClient;
  const bearer = (token: string): Metadata => {
    const metadata = new Metadata();
    metadata.set('authorization', `Bearer ${token}`);
    return metadata;
  };
  beforeAll(async () => {
    const jobsDir = dir('jobs');
    t = await startTestServer({ modelRepository: bundledRepository, auth: { inferenceToken: 'infer-secret', adminToken: 'admin-secret' }, jobs: (registry) => openJobs({ registry, jobsDir }) });
    client = jobsClient(t.server.address);
  });
  afterAll(async () => {
    client.close();
    await t.close();
  });

  it('answers Jobs calls without a token UNAUTHENTICATED, with another token PERMISSION_DENIED, with the inference token as usual', async () => {
    const none = await failure(submit(client, { inline: inlineRows(1) }));
    expect({ code: none.code, details: none.details }).toEqual({ code: status.UNAUTHENTICATED, details: 'this method needs an authorization: Bearer <token> header' });
    expect((await failure(unary((cb) => client.ListJobs({}, cb)))).code).toBe(status.UNAUTHENTICATED);
    expect((await streamFailure(() => client.WatchJob({ id: 'x' }))).code).toBe(status.UNAUTHENTICATED);
    expect((await streamFailure(() => client.GetJobResults({ id: 'x' }))).code).toBe(status.UNAUTHENTICATED);
    expect((await failure(submit(client, { inline: inlineRows(1) }, bearer('wrong')))).code).toBe(status.PERMISSION_DENIED);

    const job = await submit(client, { inline: inlineRows(2) }, bearer('infer-secret'));
    expect((await watchJobWith(client, job.id, bearer('infer-secret'))).state).toBe('JOB_STATE_SUCCEEDED');
    // Cancelling takes the inference token, as every Jobs method does; the admin token does not grant it.
    const cancel = (token: string) => failure(unary((cb) => client.CancelJob({ id: job.id }, bearer(token), cb)));
    expect((await cancel('infer-secret')).code).toBe(status.FAILED_PRECONDITION);
    expect((await cancel('admin-secret')).code).toBe(status.PERMISSION_DENIED);
  });
});

/** WatchJob with call metadata, to the end: the last job. */
function watchJobWith(client: JobsClient, id: string, metadata: Metadata): Promise<Job__Output> {
  return new Promise((resolve, reject) => {
    let last: Job__Output | undefined;
    const call = client.WatchJob({ id }, metadata);
    call.on('data', (job: Job__Output) => (last = job));
    call.on('error', reject);
    call.on('end', () => (last === undefined ? reject(new Error('no job')) : resolve(last)));
  });
}

describe('a server without jobs', () => {
  let t: TestServer;
  let client: JobsClient;
  beforeAll(async () => {
    t = await startTestServer({ modelRepository: bundledRepository });
    client = jobsClient(t.server.address);
  });
  afterAll(async () => {
    client.close();
    await t.close();
  });

  it('answers every Jobs method UNIMPLEMENTED, saying to start it with --jobs-dir or --jobs-queue', async () => {
    const off = {
      code: status.UNIMPLEMENTED,
      details: 'batch jobs are off on this server: start it with --jobs-dir DIR (an embedded SQLite store) or --jobs-queue nats://host:port (NATS JetStream, shared by replicas)',
    };
    const of = (e: ServiceError) => ({ code: e.code, details: e.details });
    expect(of(await failure(submit(client, { inline: inlineRows(1) })))).toEqual(off);
    expect(of(await failure(unary((cb) => client.GetJob({ id: 'x' }, cb))))).toEqual(off);
    expect(of(await failure(unary((cb) => client.CancelJob({ id: 'x' }, cb))))).toEqual(off);
    expect(of(await failure(unary((cb) => client.ListJobs({}, cb))))).toEqual(off);
    expect(of(await streamFailure(() => client.WatchJob({ id: 'x' })))).toEqual(off);
    expect(of(await streamFailure(() => client.GetJobResults({ id: 'x' })))).toEqual(off);
  });
});

describe("the job engine's life with the server's", () => {
  it('opens once the repository has loaded (UNAVAILABLE until then), and closes after the drain, before the models unload; a drain ends a watch UNAVAILABLE', async () => {
    const port = await freePort();
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const seen: { readyAtOpen?: number; readyAtClose?: number } = {};
    const jobsDir = dir('jobs');
    const starting = startServer({
      modelRepository: bundledRepository,
      host: '127.0.0.1',
      port,
      jobs: async (registry: ModelRegistry) => {
        seen.readyAtOpen = readyVersions(registry);
        await gate;
        const engine: JobEngine = await openJobs({ registry, jobsDir, concurrency: 1 });
        const close = engine.close.bind(engine);
        engine.close = async () => {
          seen.readyAtClose = readyVersions(registry);
          await close();
        };
        return engine;
      },
    });
    const client = new (loadGrpcObject(loadPackageDefinition).modelserve.v1.Jobs)(`127.0.0.1:${port}`, credentials.createInsecure());
    try {
      await eventually(async () => seen.readyAtOpen !== undefined, 30_000, 'the engine to be opened');
      expect(seen.readyAtOpen).toBe(5);
      const early = await failure(unary((cb) => client.ListJobs({}, cb)));
      expect({ code: early.code, details: early.details }).toEqual({ code: status.UNAVAILABLE, details: 'batch jobs start once the model repository has loaded: retry shortly' });
      release();
      const server = await starting;
      const job = await submit(client, { inline: inlineRows(20_000), chunk_rows: 1 });
      await watchJob(client, job.id, (j) => j.state === 'JOB_STATE_RUNNING');
      const watch = client.WatchJob({ id: job.id });
      const watching = new Promise<ServiceError>((resolve, reject) => {
        watch.on('error', resolve);
        watch.on('end', () => reject(new Error('expected the watch to fail, it ended')));
      });
      await new Promise((resolve) => watch.once('data', resolve));
      await server.close(2000);
      const ended = await watching;
      expect({ code: ended.code, details: ended.details }).toEqual({ code: status.UNAVAILABLE, details: 'the server is draining: watch the job again on another replica (the job goes on)' });
      expect(seen.readyAtClose).toBe(5);
    } finally {
      release();
      client.close();
      await (await starting.catch(() => undefined))?.close(0);
    }
  });
});

/** Model versions READY in a registry. */
function readyVersions(registry: ModelRegistry): number {
  return registry.list().reduce((n, m) => n + m.versions.filter((v) => v.state === 'READY').length, 0);
}
