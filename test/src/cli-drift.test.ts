/**
 * `modelserve profile` and `modelserve drift` as a user runs them: a reference profile written
 * from a .jsonl and a .npy file with the model run in-process, then a real server that reads it
 * and reports the model's drift. No traffic is sent, so every state asserted is fixed.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { identity, mulberry32 } from '@modelserve/model-zoo';
import { parseProfile } from '@modelserve/telemetry';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliPath, spawnServe, type ServeProcess } from './support/cli.js';
import { put } from './support/fixtures.js';
import { npyFloat32 } from './support/jobs.js';

const run = promisify(execFile);
/** What a command exited with and printed, whether it failed or not. */
const modelserve = (...args: string[]) =>
  run(process.execPath, [cliPath, ...args]).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );

// Tests that spawn the CLI several times in turn (seconds apiece on a busy machine): a limit for a hung test, not a speed claim.
const spawnsTimeoutMs = 120_000;

const random = mulberry32(17);
const sample = (): number[] => Array.from({ length: 4 }, () => Math.round((random() * 2 - 1) * 1000) / 1000);

let root: string;
let reference: string;
beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'modelserve-cli-drift-'));
  reference = path.join(root, 'scores', '1', 'reference.json');
  await put(root, 'scores/1/model.onnx', identity('float32', ['n', 4]));
  await put(root, 'scores/config.yaml', ['max_batch_size: 256', 'drift:', '  window_seconds: 60', '  min_samples: 500', ''].join('\n'));
  await put(root, 'samples.jsonl', Array.from({ length: 300 }, () => JSON.stringify(sample())).join('\n') + '\n');
  await put(root, 'samples.npy', npyFloat32(600, 4, Float32Array.from({ length: 600 * 4 }, () => random() * 2 - 1)));
  await put(root, 'ragged.jsonl', `${JSON.stringify(sample())}\n[1, 2, 3]\n`);
});

describe('modelserve profile', () => {
  it(
    'writes the reference of a .jsonl file beside the model version, refuses to overwrite it without --force, and overwrites it from a .npy file with it',
    async () => {
      const jsonl = await modelserve('profile', 'scores', '--model-repository', root, '--input', path.join(root, 'samples.jsonl'));
      expect(jsonl).toEqual({ code: 0, stdout: `wrote ${reference}: 300 samples, 2 tensors, 5 features\n`, stderr: '' });
      const fromJsonl = parseProfile(JSON.parse(await readFile(reference, 'utf8')));
      expect(fromJsonl).toMatchObject({ model: 'scores', version: 1, samples: 300 });
      expect(fromJsonl.tensors.map((t) => `${t.kind} ${t.name}: ${t.features.map((f) => f.name).join(',')}`)).toEqual(['input input: 0,1,2,3', 'output output: argmax']);

      const npy = ['profile', 'scores', '--model-repository', root, '--input', path.join(root, 'samples.npy'), '--batch', '100'];
      const before = await stat(reference);
      expect(await modelserve(...npy)).toEqual({ code: 1, stdout: '', stderr: `modelserve: ${reference} exists: --force to overwrite it\n` });
      expect((await stat(reference)).mtimeMs).toBe(before.mtimeMs);

      expect(await modelserve(...npy, '--force')).toEqual({ code: 0, stdout: `wrote ${reference}: 600 samples, 2 tensors, 5 features\n`, stderr: '' });
      expect(parseProfile(JSON.parse(await readFile(reference, 'utf8')))).toMatchObject({ model: 'scores', version: 1, samples: 600 });
    },
    spawnsTimeoutMs,
  );

  it(
    'takes the first --samples rows and writes where -o says',
    async () => {
      const output = path.join(root, 'first-100.json');
      const result = await modelserve('profile', 'scores', '-r', root, '-v', '1', '--input', path.join(root, 'samples.npy'), '--samples', '100', '-o', output);
      expect(result).toEqual({ code: 0, stdout: `wrote ${output}: 100 samples, 2 tensors, 5 features\n`, stderr: '' });
      expect(parseProfile(JSON.parse(await readFile(output, 'utf8'))).samples).toBe(100);
    },
    spawnsTimeoutMs,
  );

  it(
    'refuses a .jsonl line whose shape does not fit the input, naming the line',
    async () => {
      const output = path.join(root, 'ragged.json');
      expect(await modelserve('profile', 'scores', '-r', root, '--input', path.join(root, 'ragged.jsonl'), '-o', output)).toEqual({
        code: 1,
        stdout: '',
        stderr: `modelserve: ${path.join(root, 'ragged.jsonl')} line 2: input 'input': expected a sample of shape [4], got [3]\n`,
      });
      await expect(stat(output)).rejects.toMatchObject({ code: 'ENOENT' });
    },
    spawnsTimeoutMs,
  );
});

describe('modelserve drift', () => {
  let serve: ServeProcess;
  let address: string;
  beforeAll(async () => {
    // The server reads the reference the tests above left (from the .npy file, 600 samples) as the version loads.
    serve = spawnServe(['--host', '127.0.0.1', '--port', '0', '--metrics-port', '0', '--model-repository', root]);
    address = String((await serve.log((entry) => entry['msg'] === 'modelserve listening'))['address']);
  });
  afterAll(() => serve?.kill());

  it(
    'prints each watched version with its state and reference, and the same as JSON',
    async () => {
      const table = await modelserve('drift', 'scores', '--address', address);
      expect(table).toMatchObject({ code: 0, stderr: '' });
      const lines = table.stdout.trimEnd().split('\n');
      expect(lines[0]).toMatch(/^MODEL\s+VERSION\s+STATE\s+LEVEL\s+SAMPLES\s+REFERENCE$/);
      expect(lines[1]!.split(/\s{2,}/)).toEqual(['scores', '1', 'collecting', 'ok', '0', `${reference} (600 samples)`]);
      expect(lines).toHaveLength(2);

      const json = await modelserve('drift', '--json', '--address', address);
      expect(JSON.parse(json.stdout)).toEqual({
        versions: [
          {
            name: 'scores',
            version: '1',
            state: 'collecting',
            level: 'ok',
            reference_source: reference,
            reference_samples: 600,
            window_samples: 0,
            window_start_ms: 0,
            window_end_ms: 0,
            against_version: '',
            tensors: [],
          },
        ],
      });
    },
    spawnsTimeoutMs,
  );

  it(
    "says the server's NOT_FOUND and exits non-zero for a model it does not watch",
    async () => {
      expect(await modelserve('drift', 'nosuch', '--address', address)).toEqual({
        code: 1,
        stdout: '',
        stderr: "modelserve: model 'nosuch' has no drift monitoring; watched: scores 1 (add a drift: block to its config.yaml)\n",
      });
    },
    spawnsTimeoutMs,
  );

  it(
    '--watch refreshes until SIGINT, then exits 0',
    async () => {
      const watch = spawn(process.execPath, [cliPath, 'drift', 'scores', '--json', '--watch', '0.1', '--address', address], { stdio: ['ignore', 'pipe', 'pipe'] });
      const exited = new Promise<number | null>((resolve) => watch.once('exit', resolve));
      const reports: Array<{ versions: Array<{ state: string }> }> = [];
      const stderr: string[] = [];
      createInterface({ input: watch.stderr }).on('line', (line) => stderr.push(line));
      await new Promise<void>((resolve) => {
        void exited.then(() => resolve());
        createInterface({ input: watch.stdout }).on('line', (line) => {
          reports.push(JSON.parse(line) as (typeof reports)[number]);
          if (reports.length === 2) resolve();
        });
      });
      watch.kill('SIGINT');
      expect({ code: await exited, stderr }).toEqual({ code: 0, stderr: [] });
      expect(reports.slice(0, 2).map((r) => r.versions[0]!.state)).toEqual(['collecting', 'collecting']);
    },
    spawnsTimeoutMs,
  );
});
