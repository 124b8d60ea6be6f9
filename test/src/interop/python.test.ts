// Runs test/interop/client.py, a Python gRPC client on Debian's python3-grpcio, against a real
// server, to prove modelserve works for callers that are not grpc-js. The expected outputs come
// from the TypeScript reference evaluators and reach Python in a JSON file; the inputs do not
// travel: both sides derive them from the same seeded LCG (sampleValues).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { demoCnn, demoMlp } from '@modelserve/model-zoo';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureRepository } from '../support/fixtures.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { sampleValues } from '../support/tensors.js';

const INTEROP = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../interop');
// Debian's python: a pyenv python3 earlier on PATH does not see Debian's dist-packages.
const PYTHON = '/usr/bin/python3';
const PLUGIN = '/usr/bin/grpc_python_plugin';
const APT = 'apt-get install -y python3-grpcio python3-protobuf protobuf-compiler protobuf-compiler-grpc';

/** Every check client.py reports, so a check that silently went missing fails too. */
const CHECKS = [
  'health_overall',
  'health_mnist_mlp',
  'list_models',
  'metadata_mnist_mlp',
  'predict_mnist_mlp_v1_raw',
  'predict_mnist_mlp_v1_typed',
  'predict_mnist_mlp_v2_raw',
  'predict_mnist_mlp_v2_typed',
  'stream_1000',
  'stream_bad_request_in_band',
  'unknown_model_not_found',
  'wrong_datatype_invalid_argument',
  'raw_length_mismatch_invalid_argument',
  'unload_mnist_cnn_unavailable',
  'load_mnist_cnn_predicts',
];

interface Check {
  name: string;
  ok: boolean;
  detail: string;
  seconds: number;
}

/** Runs a program to completion without blocking the event loop (the server runs in this process). */
function run(file: string, args: string[], timeoutMs = 240_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { timeout: timeoutMs });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** What is missing to run the client, as a message naming the apt packages; undefined if nothing. */
async function missingPrerequisites(): Promise<string | undefined> {
  const missing: string[] = [];
  const python = await run(PYTHON, ['-c', 'import grpc, google.protobuf']).catch((e: Error) => ({ code: -1, stderr: e.message }));
  if (python.code !== 0) missing.push(`${PYTHON} cannot import grpc and google.protobuf (${python.stderr.trim().split('\n').pop()})`);
  const protoc = await run('protoc', ['--version']).catch((e: Error) => ({ code: -1, stderr: e.message }));
  if (protoc.code !== 0) missing.push(`protoc is not runnable (${protoc.stderr.trim()})`);
  if (!existsSync(PLUGIN)) missing.push(`${PLUGIN} does not exist`);
  if (missing.length === 0) return undefined;
  return `The Python interop suite needs Debian's gRPC Python and protoc: ${missing.join('; ')}. Install them with: ${APT}`;
}

const mlps = { 1: demoMlp(1), 2: demoMlp(2) } as const;

/** `rows` samples for mnist_mlp `version` from `seed`, with the reference evaluator's outputs. */
function mlpCase(version: 1 | 2, rows: number, seed: number) {
  return { version: String(version), rows, seed, expected: Array.from(mlps[version].forward(sampleValues(rows * 784, seed), rows)) };
}

/** The expectations file client.py reads. */
function expectations() {
  const unary = [1, 2].flatMap((v) =>
    (['raw', 'typed'] as const).map((format) => ({ name: `predict_mnist_mlp_v${v}_${format}`, format, ...mlpCase(v as 1 | 2, 3, 100 + v) })),
  );
  // ids "0".."999", both versions and batch sizes 1, 2, 3 and 5; every input distinct, so an
  // answer sent to the wrong id shows up as wrong outputs.
  const requests = Array.from({ length: 1000 }, (_, i) => ({ id: String(i), ...mlpCase(((i % 2) + 1) as 1 | 2, [1, 2, 3, 5][Math.floor(i / 2) % 4]!, 10_000 + i) }));
  const cnnRows = 2;
  return {
    lcg_check: { seed: 42, values: Array.from(sampleValues(8, 42)) },
    unary,
    stream: { requests, bad_at: 500 },
    cnn: { rows: cnnRows, seed: 7, expected: Array.from(demoCnn().forward(sampleValues(cnnRows * 784, 7), cnnRows)) },
  };
}

let server: TestServer | undefined;
const temporary: string[] = [];
/** The client's checks, or why it could not run. */
let outcome: { checks: Check[] } | { error: string };

async function runClient(): Promise<Check[]> {
  const missing = await missingPrerequisites();
  if (missing !== undefined) throw new Error(missing);

  const work = await mkdtemp(path.join(tmpdir(), 'modelserve-interop-'));
  temporary.push(work);
  const stubs = path.join(work, 'stubs');
  const gen = await run('bash', [path.join(INTEROP, 'gen_stubs.sh'), stubs]);
  if (gen.code !== 0) throw new Error(`gen_stubs.sh failed (exit ${gen.code}): ${gen.stderr}`);

  const repository = await fixtureRepository();
  temporary.push(repository);
  server = await startTestServer({ modelRepository: repository });
  const expectationsFile = path.join(work, 'expectations.json');
  await writeFile(expectationsFile, JSON.stringify(expectations()));

  const started = performance.now();
  const client = await run(PYTHON, [path.join(INTEROP, 'client.py'), '--address', server.server.address, '--expectations', expectationsFile, '--stubs', stubs]);
  // Exit 0: all passed, 1: some failed (both with a report); anything else: it could not run.
  if (client.code !== 0 && client.code !== 1) throw new Error(`client.py exited ${client.code}: ${client.stderr || client.stdout}`);
  const { checks } = JSON.parse(client.stdout) as { checks: Check[] };
  console.info(`client.py: ${checks.length} checks in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return checks;
}

beforeAll(async () => {
  // A failure here is reported by the first test rather than thrown, so the run fails with the
  // reason (e.g. which apt packages to install) instead of skipping the checks.
  outcome = await runClient().then(
    (checks) => ({ checks }),
    (error: Error) => ({ error: error.message }),
  );
});

afterAll(async () => {
  await server?.close();
  await Promise.all(temporary.map((dir) => rm(dir, { recursive: true, force: true })));
});

describe('a Python gRPC client (python3-grpcio, stubs from protoc)', () => {
  it('runs against a real server', () => {
    if ('error' in outcome) throw new Error(outcome.error);
  });

  for (const name of CHECKS) {
    it(name, () => {
      if ('error' in outcome) throw new Error(`client.py did not run: ${outcome.error}`);
      const check = outcome.checks.find((c) => c.name === name);
      if (check === undefined) throw new Error(`client.py reported no check '${name}'`);
      if (!check.ok) throw new Error(`${name}: ${check.detail}`);
    });
  }

  it('reports only the checks listed here', () => {
    if ('error' in outcome) throw new Error(`client.py did not run: ${outcome.error}`);
    expect(outcome.checks.map((c) => c.name)).toEqual(CHECKS);
  });
});
