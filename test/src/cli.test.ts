import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { createInterface } from 'node:readline';
import path from 'node:path';
import { promisify } from 'node:util';
import { credentials, loadPackageDefinition } from '@grpc/grpc-js';
import { demoTinyMlp } from '@modelserve/model-zoo';
import { loadGrpcObject, type ModelAdminClient } from '@modelserve/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unary } from './support/server.js';
import { maxAbsDiff } from './support/tensors.js';

const run = promisify(execFile);
const cli = path.join(path.dirname(createRequire(import.meta.url).resolve('@modelserve/cli')), 'cli.js');

let server: ChildProcess;
let address: string;
const logs: Array<Record<string, unknown>> = [];

beforeAll(async () => {
  // No --model-repository: the bundled demo repository. Port 0: a free port, read from the log.
  server = spawn(process.execPath, [cli, 'serve', '--host', '127.0.0.1', '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  address = await new Promise<string>((resolve, reject) => {
    server.once('exit', (code) => reject(new Error(`modelserve serve exited with code ${code}`)));
    createInterface({ input: server.stdout! }).on('line', (line) => {
      const entry = JSON.parse(line) as Record<string, unknown>;
      logs.push(entry);
      if (entry.msg === 'modelserve listening') resolve(String(entry.address));
    });
  });
});
afterAll(() => {
  adminClient?.close();
  if (server.exitCode === null) server.kill('SIGKILL');
});

// Tests that spawn the CLI several times in turn: each spawn loads node, grpc-js and the protos,
// seconds apiece on a busy machine. A limit for a hung test, not a speed claim.
const spawnsTimeoutMs = 120_000;

const modelserve = (...args: string[]) => run(process.execPath, [cli, ...args, '--address', address]);
let adminClient: ModelAdminClient | undefined;
/** A ModelAdmin client of the server, for what the CLI has no command for (unloading one version). */
const admin = (): ModelAdminClient => (adminClient ??= new (loadGrpcObject(loadPackageDefinition).modelserve.v1.ModelAdmin)(address, credentials.createInsecure()));

describe('the modelserve command', () => {
  it('logs JSON lines: start-up and each model version loaded with its timing', () => {
    const loaded = logs.filter((l) => l.msg === 'model version loaded');
    expect(loaded.map((l) => `${l.model}/${l.version}`).sort()).toEqual(['datatypes/1', 'mnist_cnn/1', 'mnist_mlp/1', 'mnist_mlp/2', 'tiny_mlp/1']);
    for (const entry of loaded) expect(entry.ms).toEqual(expect.any(Number));
  });

  it('lists the models of a running server, with the share of requests naming no version each version answers', async () => {
    const { stdout } = await modelserve('models');
    expect(stdout.split('\n')[0]).toMatch(/^MODEL\s+VERSION\s+STATE\s+TRAFFIC\s+REASON$/);
    expect(stdout).toMatch(/mnist_mlp\s+1\s+READY\s*\n/);
    expect(stdout).toMatch(/mnist_mlp\s+2\s+READY\s+100%\n/);
  });

  it('runs a prediction from JSON and prints the outputs', async () => {
    const { stdout } = await modelserve('infer', 'tiny_mlp', '--input', 'input=[[5.1,3.5,1.4,0.2]]');
    const result = JSON.parse(stdout) as { model_version: string; outputs: Array<{ name: string; shape: number[]; data: number[] }> };
    expect(result.model_version).toBe('1');
    expect(result.outputs[0]).toMatchObject({ name: 'output', datatype: 'FP32', shape: [1, 3] });
    expect(maxAbsDiff(result.outputs[0]!.data, demoTinyMlp().forward(Float32Array.of(5.1, 3.5, 1.4, 0.2), 1))).toBeLessThan(1e-5);
  });

  it('fills inputs not given with random values of the right shape', async () => {
    const { stdout } = await modelserve('infer', 'mnist_mlp', '--model-version', '1');
    expect(JSON.parse(stdout)).toMatchObject({ model_version: '1', outputs: [{ name: 'output', shape: [1, 10] }] });
  });

  it('says what went wrong and exits non-zero', async () => {
    const error = await modelserve('infer', 'tiny_mlp', '--input', 'input=[[1,2]]').catch((e: { code: number; stderr: string }) => e);
    expect(error).toMatchObject({ code: 1, stderr: "modelserve: model 'tiny_mlp' version 1 input 'input': dimension 1 is 2, expected 4 (shape [-1,4], got [1,2])\n" });
  });

  it('shows and changes a routing, and rolls it back', async () => {
    const canary = [
      'mnist_mlp: default highest ready, split 1=90,2=10, shadow 2 (rollback history 1)',
      '  in effect: 1=90% 2=10%, shadow 2',
      '  note: shadow version 2 also answers 10% of requests: those get no copy',
      '',
    ].join('\n');
    expect((await modelserve('route', 'mnist_mlp')).stdout).toBe('mnist_mlp: default highest ready, split none, shadow none (rollback history 0)\n  in effect: 2=100%\n');
    expect((await modelserve('route', 'mnist_mlp', '--split', '1=90,2=10', '--shadow', '2')).stdout).toBe(canary);
    expect((await modelserve('route', 'mnist_mlp', '--split', 'none', '--shadow', 'none', '--default', '1')).stdout).toBe(
      'mnist_mlp: default 1, split none, shadow none (rollback history 2)\n  in effect: 1=100%\n',
    );
    expect(JSON.parse((await modelserve('infer', 'mnist_mlp')).stdout)).toMatchObject({ model_version: '1' });
    expect((await modelserve('rollback', 'mnist_mlp')).stdout).toBe(canary);
    expect((await modelserve('rollback', 'mnist_mlp')).stdout).toBe('mnist_mlp: default highest ready, split none, shadow none (rollback history 0)\n  in effect: 2=100%\n');
    const error = await modelserve('route', 'mnist_mlp', '--split', '1:90').catch((e: { code: number; stderr: string }) => e);
    expect(error).toMatchObject({ code: 1, stderr: "modelserve: --split: '1:90' is not VERSION=WEIGHT (e.g. --split 1=90,2=10)\n" });
  }, spawnsTimeoutMs);

  it('shows a split in `models` and, once a split version leaves, where its traffic really goes; `--json` spells states as the table does', async () => {
    await modelserve('route', 'mnist_mlp', '--split', '1=90,2=10');
    const table = (await modelserve('models')).stdout;
    expect(table).toMatch(/mnist_mlp\s+1\s+READY\s+90%\n/);
    expect(table).toMatch(/mnist_mlp\s+2\s+READY\s+10%\n/);
    const json = JSON.parse((await modelserve('models', '--json')).stdout) as Array<{ name: string; versions: Array<{ state: string }>; routing: unknown }>;
    const mnist = json.find((m) => m.name === 'mnist_mlp')!;
    expect(mnist.versions.map((v) => v.state)).toEqual(['READY', 'READY']);
    expect(mnist.routing).toEqual({ shares: [{ version: '1', percent: 90 }, { version: '2', percent: 10 }], shadow_version: '', notes: [] });

    // Version 1 leaves at run time: the split stays as set, and both commands say what happens instead.
    await unary((cb) => admin().UnloadModel({ name: 'mnist_mlp', version: '1' }, cb));
    const note = 'split version 1 (set to 90%) is not loaded (UNAVAILABLE: unloaded): its share goes to version 2';
    const after = (await modelserve('models')).stdout;
    expect(after).toMatch(/mnist_mlp\s+1\s+UNAVAILABLE\s+unloaded\n/);
    expect(after).toMatch(/mnist_mlp\s+2\s+READY\s+100%\s*\n/);
    expect(after).toContain(`\nmnist_mlp: ${note}\n`);
    expect((await modelserve('route', 'mnist_mlp')).stdout).toBe(`mnist_mlp: default highest ready, split 1=90,2=10, shadow none (rollback history 1)\n  in effect: 2=100%\n  note: ${note}\n`);
    // A new split naming it is refused, naming the versions that are loaded.
    const refused = await modelserve('route', 'mnist_mlp', '--split', '1=50,2=50').catch((e: { code: number; stderr: string }) => e);
    expect(refused).toMatchObject({ code: 1, stderr: "modelserve: model 'mnist_mlp': split version 1 is not loaded (loaded: 2); it is UNAVAILABLE: unloaded\n" });
    await unary((cb) => admin().LoadModel({ name: 'mnist_mlp', version: '1' }, cb));
    await modelserve('rollback', 'mnist_mlp');
  }, spawnsTimeoutMs);

  it('reloads the repository on request', async () => {
    const { stdout } = await modelserve('reload');
    expect(stdout).toContain('mnist_mlp: 1 READY, 2 READY\n');
  });

  it('does not log each request, and stops cleanly on SIGTERM', async () => {
    expect(logs.some((l) => /request|predict/i.test(String(l.msg)))).toBe(false);
    const exited = new Promise<number | null>((resolve) => server.once('exit', resolve));
    // The last log lines may still be in the pipe when the process exits.
    const drained = new Promise((resolve) => server.stdout!.once('close', resolve));
    server.kill('SIGTERM');
    const code = await exited;
    await drained;
    expect({ code, last: logs.at(-1)?.msg }).toEqual({ code: 0, last: 'modelserve stopped' });
  });
});

describe('SIGHUP', () => {
  it('re-reads the repository: a new version loads and the version policy retires the old one', async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'modelserve-sighup-'));
    await mkdir(path.join(root, 'tiny_mlp', '1'), { recursive: true });
    await writeFile(path.join(root, 'tiny_mlp', '1', 'model.onnx'), demoTinyMlp().bytes);
    const child = spawn(process.execPath, [cli, 'serve', '--host', '127.0.0.1', '--port', '0', '--model-repository', root], { stdio: ['ignore', 'pipe', 'inherit'] });
    const lines: Array<Record<string, unknown>> = [];
    const listening = new Promise<string>((resolve) =>
      createInterface({ input: child.stdout! }).on('line', (line) => {
        const entry = JSON.parse(line) as Record<string, unknown>;
        lines.push(entry);
        if (entry.msg === 'modelserve listening') resolve(String(entry.address));
      }),
    );
    try {
      const at = await listening;
      await mkdir(path.join(root, 'tiny_mlp', '2'), { recursive: true });
      await writeFile(path.join(root, 'tiny_mlp', '2', 'model.onnx'), demoTinyMlp().bytes);
      child.kill('SIGHUP');
      // Polls until the reload shows (each poll spawns the CLI, slow on a busy machine); the limit
      // only ends a hung test.
      const until = Date.now() + 90_000;
      let stdout = '';
      while (Date.now() < until) {
        stdout = (await run(process.execPath, [cli, 'models', '--address', at])).stdout;
        if (/tiny_mlp\s+2\s+READY/.test(stdout) && /tiny_mlp\s+1\s+UNAVAILABLE/.test(stdout)) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(stdout).toMatch(/tiny_mlp\s+2\s+READY\s+100%/);
      expect(stdout).toMatch(/tiny_mlp\s+1\s+UNAVAILABLE\s+not selected by version_policy/);
      expect(lines.some((l) => l.msg === 'reloading model repository' && l.why === 'SIGHUP')).toBe(true);
    } finally {
      child.kill('SIGKILL');
      await rm(root, { recursive: true, force: true });
    }
  }, spawnsTimeoutMs);
});
