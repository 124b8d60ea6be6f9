/**
 * `modelserve jobs` as a user runs it, against a real `modelserve serve --jobs-dir --jobs-data-dir`:
 * rows submitted from a local JSONL file come back as JSON lines equal to Predict's answers; watch
 * exits 0 for a job that SUCCEEDED and 1 for one that FAILED or was CANCELLED; status, list and
 * cancel print what a person reads; numbers, states and flags that do not fit are refused before
 * anything is sent; tokens are sent; a server without jobs says how to turn them on.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { credentials, loadPackageDefinition } from '@grpc/grpc-js';
import { bundledRepository } from '@modelserve/cli';
import { openJobs } from '@modelserve/jobs';
import { demoTinyMlp } from '@modelserve/model-zoo';
import { loadGrpcObject, type PredictorClient, type PredictResponse__Output } from '@modelserve/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliPath, spawnServe, type ServeProcess } from './support/cli.js';
import { put } from './support/fixtures.js';
import { startTestServer, type TestServer, unary } from './support/server.js';
import { decoded, fp32, maxAbsDiff, wire } from './support/tensors.js';

const run = promisify(execFile);
/** What `modelserve ...args` exited with and printed, whether it failed or not. */
const modelserve = (args: string[], env: Record<string, string> = {}) =>
  run(process.execPath, [cliPath, ...args], { env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );

// Tests that spawn the CLI several times in turn (seconds apiece on a busy machine): a limit for a hung test, not a speed claim.
const spawnsTimeoutMs = 120_000;

/** tiny_mlp's row `i`: 4 features. */
const features = (i: number): number[] => [Math.sin(i), Math.cos(i), i / 10, 1 - i / 20];
const jsonl = (rows: number): string => Array.from({ length: rows }, (_, i) => `${JSON.stringify({ input: features(i) })}\n`).join('');

let root: string;
let serve: ServeProcess;
let address: string;
let predictor: PredictorClient;
/** `modelserve jobs ...args --address <the server>`. */
const jobs = (...args: string[]) => modelserve(['jobs', ...args, '--address', address]);

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'modelserve-jobs-cli-'));
  await put(root, 'rows.jsonl', jsonl(20));
  await put(root, 'many.jsonl', jsonl(100_000));
  await put(root, 'data/ragged.jsonl', '{"input": [1, 2, 3, 4]}\n{"input": [1, 2]}\n');
  serve = spawnServe([
    '--host', '127.0.0.1', '--port', '0', '--metrics-port', '0',
    '--jobs-dir', path.join(root, 'jobs'), '--jobs-data-dir', path.join(root, 'data'), '--jobs-concurrency', '1',
  ]);
  address = String((await serve.log((l) => l.msg === 'modelserve listening')).address);
  predictor = new (loadGrpcObject(loadPackageDefinition).modelserve.v1.Predictor)(address, credentials.createInsecure());
});
afterAll(async () => {
  predictor?.close();
  serve?.kill();
  await rm(root, { recursive: true, force: true });
});

describe('modelserve jobs', () => {
  it(
    'submits local JSONL rows, watches the job to SUCCEEDED (exit 0), and prints results equal to Predict as JSON lines',
    async () => {
      const submitted = await jobs('submit', '--model', 'tiny_mlp', '--rows', path.join(root, 'rows.jsonl'), '--watch');
      expect(submitted.code).toBe(0);
      const [id, summary] = submitted.stdout.trimEnd().split('\n');
      expect(id).toMatch(/^\d{13}-[0-9a-f]{10}$/);
      expect(summary).toMatch(new RegExp(`^job ${id} SUCCEEDED in \\d+s: 20 rows done, 0 failed, of 20$`));
      // Not a terminal: a line per update on stderr, the last one the job's end.
      expect(submitted.stderr.trimEnd().split('\n').at(-1)).toMatch(/Z {2}SUCCEEDED {2}100\.0% {2}20\/20 rows, 0 failed$/);

      const results = await jobs('results', id!);
      expect(results.code).toBe(0);
      const lines = results.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as { row: number; outputs: Record<string, { datatype: string; shape: number[]; data: number[] }> });
      expect(lines.map((l) => l.row)).toEqual(Array.from({ length: 20 }, (_, i) => i));
      for (const { row, outputs } of lines) {
        expect(Object.keys(outputs)).toEqual(['output']);
        expect(outputs['output']).toMatchObject({ datatype: 'FP32', shape: [3] });
        const online = await unary<PredictResponse__Output>((cb) => predictor.Predict({ model_name: 'tiny_mlp', inputs: [wire(fp32('input', [1, 4], features(row)))] }, cb));
        expect(maxAbsDiff(outputs['output']!.data, decoded(online.outputs[0]!).data as Float32Array)).toBeLessThan(1e-5);
        expect(maxAbsDiff(outputs['output']!.data, demoTinyMlp().forward(Float32Array.from(features(row)), 1))).toBeLessThan(1e-5);
      }

      const some = await jobs('results', id!, '--start', '18', '--max', '5', '--out', path.join(root, 'some.jsonl'));
      expect(some).toEqual({ code: 0, stdout: `2 rows (0 failed) written to ${path.join(root, 'some.jsonl')}\n`, stderr: '' });
      expect((await readFile(path.join(root, 'some.jsonl'), 'utf8')).trimEnd().split('\n').map((l) => (JSON.parse(l) as { row: number }).row)).toEqual([18, 19]);

      const status = await jobs('status', id!);
      expect(status.stdout).toMatch(new RegExp(`^job ${id} {2}SUCCEEDED {2}100\\.0%\\n`));
      expect(status.stdout).toContain('\nmodel     tiny_mlp version 1\n');
      expect(status.stdout).toContain('\nrows      20 of 20 answered: 20 done, 0 failed (at most 0 may fail)\n');
      expect(status.stdout).toContain('\nchunks    3 of 3, 8 rows each\n');
      expect(status.stdout).toContain('\ninput     inline rows\n');
      const json = JSON.parse((await jobs('status', id!, '--json')).stdout) as Record<string, unknown>;
      expect(json).toMatchObject({ id, model_name: 'tiny_mlp', model_version: '1', state: 'SUCCEEDED', rows_total: 20, rows_done: 20, rows_failed: 0, chunk_rows: 8, errors: [] });

      expect(await jobs('watch', id!)).toMatchObject({ code: 0, stdout: `${summary}\n` });
    },
    spawnsTimeoutMs,
  );

  it(
    'watches a job that FAILED to exit 1 with why; results carry each row error',
    async () => {
      const id = (await jobs('submit', '--model', 'tiny_mlp', '--dataset', 'ragged.jsonl')).stdout.trim();
      const watched = await jobs('watch', id);
      expect(watched.code).toBe(1);
      expect(watched.stdout).toMatch(new RegExp(`^job ${id} FAILED in \\d+s: 1 rows done, 1 failed, of 2: 1 rows failed, more than max_failed_rows 0 \\(first: row 1: input "input": expected 4 elements, got 2\\)\\n$`));
      const results = await jobs('results', id);
      expect(results.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as object)[1]).toEqual({ row: 1, error: 'input "input": expected 4 elements, got 2' });
      expect((await jobs('status', id)).stdout).toContain('\nerrors    row 1: input "input": expected 4 elements, got 2');
    },
    spawnsTimeoutMs,
  );

  it(
    'cancels a running job (then watch exits 1), refuses to cancel it again, and lists jobs by state, model and page',
    async () => {
      const id = (await jobs('submit', '--model', 'tiny_mlp', '--rows', path.join(root, 'many.jsonl'), '--chunk-rows', '1', '--priority', '2')).stdout.trim();
      const cancelled = await jobs('cancel', id);
      expect(cancelled.stdout).toMatch(new RegExp(`^job ${id} CANCELLED after \\d+ of 100000 rows\\n$`));
      const watched = await jobs('watch', id);
      expect(watched.code).toBe(1);
      expect(watched.stdout).toMatch(new RegExp(`^job ${id} CANCELLED.*: cancelled\\n$`));
      expect(await jobs('cancel', id)).toEqual({ code: 1, stdout: '', stderr: `modelserve: job ${id} has already ended (CANCELLED)\n` });

      const other = (await jobs('submit', '--model', 'tiny_mlp', '--dataset', 'ragged.jsonl', '--max-failed-rows', '1', '--watch')).stdout.split('\n')[0]!;
      const table = (await jobs('list')).stdout.split('\n');
      expect(table[0]).toMatch(/^ID\s+MODEL\s+VERSION\s+STATE\s+DONE\s+ROWS\s+FAILED\s+CREATED$/);
      expect(table[1]).toMatch(new RegExp(`^${other}\\s+tiny_mlp\\s+1\\s+SUCCEEDED\\s+100\\.0%\\s+2\\s+1\\s+\\d{4}-`));
      expect(table[2]).toMatch(new RegExp(`^${id}\\s+tiny_mlp\\s+1\\s+CANCELLED\\s+\\d+\\.\\d%\\s+100000\\s+0\\s+\\d{4}-`));
      const byState = JSON.parse((await jobs('list', '--state', 'cancelled', '--state', 'FAILED', '--json')).stdout) as Array<{ id: string; state: string }>;
      expect(byState.length).toBeGreaterThanOrEqual(1);
      expect(byState.every((j) => j.state === 'CANCELLED' || j.state === 'FAILED')).toBe(true);
      expect(byState[0]!.id).toBe(id);
      expect((await jobs('list', '--model', 'mnist_mlp')).stdout).toMatch(/^ID\s+MODEL.*\n$/);
      const page = await jobs('list', '--page-size', '1');
      expect(page.stdout.trimEnd().split('\n')).toHaveLength(2);
      expect(page.stderr).toBe('modelserve: more jobs than --page-size 1; --all lists every page\n');
      const all = await jobs('list', '--page-size', '1', '--all', '--json');
      expect((JSON.parse(all.stdout) as unknown[]).length).toBeGreaterThanOrEqual(2);
      expect(all.stderr).toBe('');
    },
    spawnsTimeoutMs,
  );

  it(
    'answers what the server refuses with its reason: an unknown model, a job it does not have',
    async () => {
      const model = await jobs('submit', '--model', 'nope', '--dataset', 'ragged.jsonl');
      expect(model).toMatchObject({ code: 1, stdout: '' });
      expect(model.stderr).toMatch(/^modelserve: model 'nope' .*tiny_mlp/);
      expect(await jobs('status', 'nope')).toEqual({ code: 1, stdout: '', stderr: 'modelserve: job "nope" not found\n' });
      expect(await jobs('results', 'nope')).toEqual({ code: 1, stdout: '', stderr: 'modelserve: job "nope" not found\n' });
    },
    spawnsTimeoutMs,
  );
});

describe('modelserve jobs refuses, before sending anything,', () => {
  /** The first stderr line of a command commander refused. */
  const refusal = async (...args: string[]) => {
    const result = await modelserve(['jobs', ...args, '--address', '127.0.0.1:1']);
    return { code: result.code, line: result.stderr.split('\n')[0] };
  };
  const number = (flag: string, min: number, max: number, got: string) => ({
    code: 1,
    line: `error: option '${flag}' argument '${got}' is invalid. expected a whole number from ${min} to ${max}, got "${got}"`,
  });

  it(
    'counts that are not whole numbers in range',
    async () => {
      const submit = ['submit', '--model', 'tiny_mlp', '--dataset', 'x.npy'];
      expect(await refusal(...submit, '--priority', '1.5')).toEqual(number('--priority <n>', 1, 4294967295, '1.5'));
      expect(await refusal(...submit, '--max-failed-rows', '-1')).toEqual(number('--max-failed-rows <n>', 0, Number.MAX_SAFE_INTEGER, '-1'));
      expect(await refusal(...submit, '--chunk-rows', 'abc')).toEqual(number('--chunk-rows <n>', 1, 4294967295, 'abc'));
      expect(await refusal(...submit, '--chunk-rows', '1e3')).toEqual(number('--chunk-rows <n>', 1, 4294967295, '1e3'));
      expect(await refusal('list', '--page-size', '1001')).toEqual(number('--page-size <n>', 1, 1000, '1001'));
      expect(await refusal('results', 'x', '--start', '-1')).toEqual(number('--start <row>', 0, Number.MAX_SAFE_INTEGER, '-1'));
      expect(await refusal('results', 'x', '--max', '0')).toEqual(number('--max <rows>', 1, Number.MAX_SAFE_INTEGER, '0'));
    },
    spawnsTimeoutMs,
  );

  it(
    'unknown states, listing the accepted ones; sources and formats that do not go together; rows that do not fit the model',
    async () => {
      expect(await refusal('list', '--state', 'done')).toEqual({
        code: 1,
        line: `error: option '--state <state>' argument 'done' is invalid. expected one of QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED, got "done"`,
      });
      const source = "modelserve: expected --dataset PATH (a dataset under the server's --jobs-data-dir) or --rows FILE.jsonl (local rows sent in the request), got";
      expect(await refusal('submit', '--model', 'tiny_mlp')).toEqual({ code: 1, line: `${source} neither` });
      expect(await refusal('submit', '--model', 'tiny_mlp', '--dataset', 'x.npy', '--rows', 'x.jsonl')).toEqual({ code: 1, line: `${source} both` });
      expect(await refusal('submit', '--model', 'tiny_mlp', '--rows', 'x.jsonl', '--format', 'npy')).toEqual({ code: 1, line: 'modelserve: --format needs --dataset: it says how the dataset holds rows (--rows files are JSONL)' });
      expect(await refusal('submit', '--model', 'tiny_mlp', '--dataset', 'x.npy', '--outputs', 'a,,b')).toEqual({
        code: 1,
        line: `error: option '--outputs <names>' argument 'a,,b' is invalid. expected output names separated by commas (e.g. --outputs scores,labels), got "a,,b"`,
      });
      await put(root, 'short.jsonl', '{"input": [1, 2, 3, 4]}\n\n{"input": [1, 2]}\n');
      const short = await modelserve(['jobs', 'submit', '--model', 'tiny_mlp', '--rows', path.join(root, 'short.jsonl'), '--address', address]);
      expect(short).toEqual({ code: 1, stdout: '', stderr: `modelserve: ${path.join(root, 'short.jsonl')} line 3: input 'input': expected a row of shape [4] (-1: any size), got [2]\n` });
    },
    spawnsTimeoutMs,
  );

  it(
    'serve --jobs-* flags without --jobs-dir or --jobs-queue, both of these, and a queue that is not nats://',
    async () => {
      const serveRefusal = async (...args: string[]) => {
        const result = await modelserve(['serve', '--host', '127.0.0.1', '--port', '0', '--metrics-port', '0', ...args]);
        return { code: result.code, last: result.stderr.split('\n')[0] };
      };
      expect(await serveRefusal('--jobs-concurrency', '2', '--jobs-data-dir', root)).toEqual({
        code: 1,
        last: 'modelserve: --jobs-data-dir, --jobs-concurrency need --jobs-dir or --jobs-queue (batch jobs are off without one), got neither',
      });
      expect(await serveRefusal('--jobs-dir', root, '--jobs-queue', 'nats://127.0.0.1:4222')).toEqual({
        code: 1,
        last: 'modelserve: expected --jobs-dir (jobs in an embedded SQLite store) or --jobs-queue (jobs in NATS JetStream, shared by replicas), got both',
      });
      expect(await serveRefusal('--jobs-queue', 'http://127.0.0.1:4222')).toEqual({
        code: 1,
        last: 'modelserve: --jobs-queue: expected a nats://host:port URL such as nats://127.0.0.1:4222, got "http://127.0.0.1:4222"',
      });
      expect(await serveRefusal('--jobs-dir', root, '--jobs-max-rows', '2.5')).toEqual({
        code: 1,
        last: `error: option '--jobs-max-rows <n>' argument '2.5' is invalid. expected a whole number from 1 to ${Number.MAX_SAFE_INTEGER}, got "2.5"`,
      });
      expect(await serveRefusal('--jobs-dir', root, '--jobs-busy-share', '0')).toEqual({
        code: 1,
        last: `error: option '--jobs-busy-share <fraction>' argument '0' is invalid. expected a number above 0 and at most 1, got "0"`,
      });
      expect(await serveRefusal('--jobs-busy-share', '0.5')).toEqual({
        code: 1,
        last: 'modelserve: --jobs-busy-share needs --jobs-dir or --jobs-queue (batch jobs are off without one), got neither',
      });
    },
    spawnsTimeoutMs,
  );
});

describe('modelserve jobs against other servers', () => {
  let off: TestServer;
  let guarded: TestServer;
  beforeAll(async () => {
    off = await startTestServer({ modelRepository: bundledRepository });
    const jobsDir = path.join(root, 'guarded-jobs');
    guarded = await startTestServer({ modelRepository: bundledRepository, auth: { inferenceToken: 'infer-secret' }, jobs: (registry) => openJobs({ registry, jobsDir }) });
  });
  afterAll(async () => {
    await off?.close();
    await guarded?.close();
  });

  it(
    'says how to turn jobs on when the server has none',
    async () => {
      expect(await modelserve(['jobs', 'list', '--address', off.server.address])).toEqual({
        code: 1,
        stdout: '',
        stderr: 'modelserve: batch jobs are off on this server: start it with --jobs-dir DIR (an embedded SQLite store) or --jobs-queue nats://host:port (NATS JetStream, shared by replicas)\n',
      });
    },
    spawnsTimeoutMs,
  );

  it(
    'sends the inference token from --token or $MODELSERVE_INFERENCE_TOKEN; without it the server answers UNAUTHENTICATED',
    async () => {
      const at = guarded.server.address;
      expect(await modelserve(['jobs', 'list', '--address', at])).toEqual({ code: 1, stdout: '', stderr: 'modelserve: this method needs an authorization: Bearer <token> header\n' });
      const submitted = await modelserve(['jobs', 'submit', '--model', 'tiny_mlp', '--rows', path.join(root, 'rows.jsonl'), '--watch', '--token', 'infer-secret', '--address', at]);
      expect(submitted.code).toBe(0);
      const id = submitted.stdout.split('\n')[0]!;
      const listed = await modelserve(['jobs', 'list', '--json', '--address', at], { MODELSERVE_INFERENCE_TOKEN: 'infer-secret' });
      expect((JSON.parse(listed.stdout) as Array<{ id: string }>).map((j) => j.id)).toEqual([id]);
    },
    spawnsTimeoutMs,
  );
});
