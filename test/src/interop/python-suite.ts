/**
 * Running a Python interop client (test/interop/*.py, on Debian's python3-grpcio with stubs that
 * protoc generates from the repository's .proto files) against a real server, and turning its
 * JSON report into vitest tests: one per check, so a check that fails or goes missing fails.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';

export const INTEROP = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../interop');
// Debian's python: a pyenv python3 earlier on PATH does not see Debian's dist-packages.
export const PYTHON = '/usr/bin/python3';
const PLUGIN = '/usr/bin/grpc_python_plugin';
const APT = 'apt-get install -y python3-grpcio python3-protobuf protobuf-compiler protobuf-compiler-grpc';

/** One check a client reports. */
export interface Check {
  name: string;
  ok: boolean;
  detail: string;
  seconds: number;
}

/** Runs a program to completion without blocking the event loop (the server runs in this process). */
export function run(file: string, args: string[], timeoutMs = 240_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
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

/**
 * What is missing to run the client, as a message naming the apt packages; undefined if nothing.
 * `modules` are further Python modules the client imports, with the Debian package of each.
 */
export async function missingPrerequisites(modules: Record<string, string> = {}): Promise<string | undefined> {
  const missing: string[] = [];
  const python = await run(PYTHON, ['-c', ['grpc', 'google.protobuf', ...Object.keys(modules)].map((m) => `import ${m}`).join('; ')]).catch((e: Error) => ({ code: -1, stderr: e.message }));
  if (python.code !== 0) missing.push(`${PYTHON} cannot import its modules (${python.stderr.trim().split('\n').pop()})`);
  const protoc = await run('protoc', ['--version']).catch((e: Error) => ({ code: -1, stderr: e.message }));
  if (protoc.code !== 0) missing.push(`protoc is not runnable (${protoc.stderr.trim()})`);
  if (!existsSync(PLUGIN)) missing.push(`${PLUGIN} does not exist`);
  if (missing.length === 0) return undefined;
  return `The Python interop suite needs Debian's gRPC Python and protoc: ${missing.join('; ')}. Install them with: ${[APT, ...Object.values(modules)].join(' ')}`;
}

/** What a Python client suite runs: the script, the repository it is served, the expectations it reads. */
export interface PythonSuite {
  /** File under test/interop/. */
  script: string;
  /** A fresh model repository directory (removed afterwards). */
  repository(): Promise<string>;
  /** The JSON the client reads with --expectations. */
  expectations(): unknown;
}

/** Generates the Python stubs into `dir` (see test/interop/gen_stubs.sh). */
export async function generateStubs(dir: string): Promise<void> {
  const gen = await run('bash', [path.join(INTEROP, 'gen_stubs.sh'), dir]);
  if (gen.code !== 0) throw new Error(`gen_stubs.sh failed (exit ${gen.code}): ${gen.stderr}`);
}

/**
 * Registers the suite's tests in the current describe block: setup generates stubs, starts a
 * server and runs the client once; then one test per name in `checks`, and one that the client
 * reported exactly those checks. A setup failure (e.g. missing apt packages) fails the tests with
 * its reason rather than skipping them.
 */
export function pythonSuite(suite: PythonSuite, checks: readonly string[]): void {
  let server: TestServer | undefined;
  const temporary: string[] = [];
  let outcome: { checks: Check[] } | { error: string } = { error: 'setup did not run' };

  async function runClient(): Promise<Check[]> {
    const missing = await missingPrerequisites();
    if (missing !== undefined) throw new Error(missing);
    const work = await mkdtemp(path.join(tmpdir(), 'modelserve-interop-'));
    temporary.push(work);
    const stubs = path.join(work, 'stubs');
    await generateStubs(stubs);
    const repository = await suite.repository();
    temporary.push(repository);
    server = await startTestServer({ modelRepository: repository });
    const expectationsFile = path.join(work, 'expectations.json');
    await writeFile(expectationsFile, JSON.stringify(suite.expectations()));
    const started = performance.now();
    const client = await run(PYTHON, [path.join(INTEROP, suite.script), '--address', server.server.address, '--expectations', expectationsFile, '--stubs', stubs]);
    // Exit 0: all passed, 1: some failed (both with a report); anything else: it could not run.
    if (client.code !== 0 && client.code !== 1) throw new Error(`${suite.script} exited ${client.code}: ${client.stderr || client.stdout}`);
    const report = JSON.parse(client.stdout) as { checks: Check[] };
    console.info(`${suite.script}: ${report.checks.length} checks in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    return report.checks;
  }

  beforeAll(async () => {
    outcome = await runClient().then(
      (reported) => ({ checks: reported }),
      (error: Error) => ({ error: error.message }),
    );
  });

  afterAll(async () => {
    await server?.close();
    await Promise.all(temporary.map((dir) => rm(dir, { recursive: true, force: true })));
  });

  it('runs against a real server', () => {
    if ('error' in outcome) throw new Error(outcome.error);
  });

  for (const name of checks) {
    it(name, () => {
      if ('error' in outcome) throw new Error(`${suite.script} did not run: ${outcome.error}`);
      const check = outcome.checks.find((c) => c.name === name);
      if (check === undefined) throw new Error(`${suite.script} reported no check '${name}'`);
      if (!check.ok) throw new Error(`${name}: ${check.detail}`);
    });
  }

  it('reports only the checks listed here', () => {
    if ('error' in outcome) throw new Error(`${suite.script} did not run: ${outcome.error}`);
    expect(outcome.checks.map((c) => c.name)).toEqual(checks);
  });
}
