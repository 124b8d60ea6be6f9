/**
 * Installable like a real package: the publishable packages packed with `pnpm pack`, installed with
 * plain `npm install ./*.tgz` into a scratch project outside the repository, and used from there as
 * the README says: the SDK snippet run as written (but for its addresses and the two names it leaves
 * to the reader), `npx modelserve serve` and `npx modelserve infer`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { demoTinyMlp } from '@modelserve/model-zoo';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pnpmCommand, publishable, repoRoot, run, startInstalledServer, userEnv, type InstalledServer } from './support/packed.js';
import { maxAbsDiff } from './support/tensors.js';

/** The first ```ts block under the README's "## Client SDK" heading. */
function readmeSdkSnippet(): string {
  const readme = readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
  const section = readme.split(/^## /m).find((s) => s.startsWith('Client SDK'));
  const code = section === undefined ? undefined : /^```ts\n([\s\S]*?)^```/m.exec(section)?.[1];
  if (code === undefined) throw new Error("README.md has no ```ts block under its '## Client SDK' heading");
  return code;
}

/** The README snippet's endpoints, replaced by the two servers' addresses. */
const readmeEndpoints = ['10.0.0.1:8001', '10.0.0.2:8001'];

let scratch = '';
const servers: InstalledServer[] = [];
let addresses: string[] = [];
const installed = (name: string) => path.join(scratch, 'node_modules', name);

beforeAll(async () => {
  // Outside the repository: nothing resolves through the workspace's node_modules.
  scratch = await mkdtemp(path.join(tmpdir(), 'modelserve-packed-'));
  const [pnpm, pnpmArgs] = pnpmCommand();
  const filters = publishable.flatMap((name) => ['--filter', name]);
  await run(pnpm, [...pnpmArgs, ...filters, 'pack', '--pack-destination', scratch], { cwd: repoRoot, timeoutMs: 120_000 });
  await writeFile(path.join(scratch, 'package.json'), `${JSON.stringify({ name: 'scratch', private: true, type: 'module' }, null, 2)}\n`);
  const tarballs = (await readdir(scratch)).filter((f) => f.endsWith('.tgz')).map((f) => `./${f}`);
  expect(tarballs).toHaveLength(publishable.length);
  // A cold npm cache downloads onnxruntime-node (a 114 MB tarball) from the registry.
  await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', ...tarballs], { cwd: scratch, env: userEnv(), timeoutMs: 480_000 });
  // Two servers, as the snippet names two endpoints; the bundled demo repository (no --model-repository).
  for (let i = 0; i < readmeEndpoints.length; i++) servers.push(startInstalledServer(scratch));
  addresses = await Promise.all(servers.map((s) => s.listening));
}, 600_000);

afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()));
  if (scratch !== '') await rm(scratch, { recursive: true, force: true });
}, 60_000);

/** Every file under `dir`, relative to it. */
async function files(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).map((e) => path.relative(dir, path.join(e.parentPath, e.name)));
}

describe('the packed packages', () => {
  it('install with no workspace references left, and carry every file they name or load at run time', async () => {
    for (const name of publishable) {
      const manifestText = await readFile(path.join(installed(name), 'package.json'), 'utf8');
      const manifest = JSON.parse(manifestText) as { private?: boolean; engines?: { node?: string }; exports: Record<string, { types: string; default: string }>; bin?: Record<string, string> };
      expect(manifestText, name).not.toContain('workspace:');
      expect(manifest.private, name).toBeUndefined();
      expect(manifest.engines?.node, name).toBe('>=20');
      const targets = [...Object.values(manifest.exports).flatMap((e) => [e.types, e.default]), ...Object.values(manifest.bin ?? {})];
      for (const target of targets) expect(existsSync(path.join(installed(name), target)), `${name}: ${target}`).toBe(true);
      // Clean: built code only, no sources, tests or source maps pointing at sources left behind.
      for (const file of await files(installed(name))) expect(file, name).not.toMatch(/(^src\/|\.test\.|\.map$)/);
    }
    // What is loaded by path rather than imported: the .proto files, the worker, the demo models.
    for (const file of ['modelserve/v1/predictor.proto', 'modelserve/v1/admin.proto', 'inference/grpc_service.proto']) {
      expect(existsSync(path.join(installed('@modelserve/proto'), 'dist/proto', file)), file).toBe(true);
    }
    for (const file of ['dist/pool-worker.js', 'dist/pool-wire.js']) expect(existsSync(path.join(installed('@modelserve/core'), file)), file).toBe(true);
    expect(existsSync(path.join(installed('@modelserve/cli'), 'models/tiny_mlp/1/model.onnx'))).toBe(true);
  });

  it("type-check the README's SDK snippet and an import of every entry point with their own types", async () => {
    const entries = await Promise.all(
      publishable.map(async (name) => {
        const manifest = JSON.parse(await readFile(path.join(installed(name), 'package.json'), 'utf8')) as { exports: Record<string, unknown> };
        return Object.keys(manifest.exports).map((subpath) => path.posix.join(name, subpath));
      }),
    );
    const source = [
      // What the snippet leaves to the reader, declared.
      "import type { StreamRequest, Tensor } from '@modelserve/client';",
      'declare const requests: StreamRequest[];',
      'declare function use(id: string, outputs: Record<string, Tensor>): void;',
      ...entries.flat().map((entry, i) => `import * as entry${i} from '${entry}';`),
      `export const entries = [${entries.flat().map((_, i) => `entry${i}`).join(', ')}];`,
      readmeSdkSnippet(),
    ].join('\n');
    await writeFile(path.join(scratch, 'types-check.ts'), source);
    // The repository's TypeScript and Node types; everything else from the scratch project.
    const tsc = path.join(repoRoot, 'node_modules/typescript/bin/tsc');
    const options = ['--noEmit', '--strict', '--target', 'es2022', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--typeRoots', path.join(repoRoot, 'node_modules/@types'), '--types', 'node'];
    await run(process.execPath, [tsc, ...options, 'types-check.ts'], { cwd: scratch, timeoutMs: 120_000 });
  }, 150_000);

  it("run the README's SDK snippet against two installed servers", async () => {
    let snippet = readmeSdkSnippet();
    readmeEndpoints.forEach((endpoint, i) => {
      expect(snippet, 'the README snippet names its endpoints').toContain(`'${endpoint}'`);
      snippet = snippet.replace(`'${endpoint}'`, `'${addresses[i]}'`);
    });
    const prelude = [
      '// What the snippet leaves to the reader: the stream (its second request has the wrong shape) and what to do with an answer.',
      "const requests = [{ id: 'a', inputs: { input: { data: [5.1, 3.5, 1.4, 0.2], shape: [1, 4] } } }, { id: 'b', inputs: { input: { data: [1, 2], shape: [1, 2] } } }];",
      "const use = (id, outputs) => console.log('answered', id, JSON.stringify(outputs.output.shape));",
    ].join('\n');
    await writeFile(path.join(scratch, 'sdk-snippet.mjs'), `${prelude}\n${snippet}`);
    const { stdout, stderr } = await run(process.execPath, ['sdk-snippet.mjs'], { cwd: scratch, env: userEnv(), timeoutMs: 60_000 });
    // console.log breaks a long typed array over lines when stdout is not a terminal.
    const printed = stdout.replace(/\s+/g, ' ').trim();
    const match = /^Float32Array\(3\) \[ ([^\]]*) \] from (\S+) (.*)$/.exec(printed);
    expect(match, stdout).not.toBeNull();
    const expected = demoTinyMlp().forward(Float32Array.of(5.1, 3.5, 1.4, 0.2), 1);
    expect(maxAbsDiff(match![1]!.split(',').map(Number), expected)).toBeLessThan(1e-5);
    expect(addresses).toContain(match![2]);
    expect(match![3]).toBe('answered a [1,3]');
    expect(stderr).toMatch(/^b INVALID_ARGUMENT model 'tiny_mlp' version 1 input 'input': dimension 1 is 2, expected 4/);
  }, 90_000);

  it('run `npx modelserve infer` and `npx modelserve models --json` against an installed server', async () => {
    const npx = (...args: string[]) => run('npx', ['--no', 'modelserve', ...args, '--address', addresses[0]!], { cwd: scratch, env: userEnv(), timeoutMs: 60_000 });
    const inferred = JSON.parse((await npx('infer', 'tiny_mlp', '--input', 'input=[[5.1,3.5,1.4,0.2]]')).stdout) as { model_version: string; outputs: Array<{ name: string; shape: number[]; data: number[] }> };
    expect(inferred).toMatchObject({ model_name: 'tiny_mlp', model_version: '1', outputs: [{ name: 'output', datatype: 'FP32', shape: [1, 3] }] });
    expect(maxAbsDiff(inferred.outputs[0]!.data, demoTinyMlp().forward(Float32Array.of(5.1, 3.5, 1.4, 0.2), 1))).toBeLessThan(1e-5);
    const models = JSON.parse((await npx('models', '--json')).stdout) as Array<{ name: string }>;
    expect(models.map((m) => m.name).sort()).toEqual(['datatypes', 'mnist_cnn', 'mnist_mlp', 'tiny_mlp']);
  }, 90_000);
});
