import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkModelName, ModelRepository, parseVersion } from './repository.js';

describe('model repository', () => {
  it('finds models and their numbered versions that hold model.onnx', async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'repo-'));
    for (const file of ['a/1/model.onnx', 'a/10/model.onnx', 'a/2/model.onnx', 'b/1/model.onnx']) {
      await mkdir(path.dirname(path.join(root, file)), { recursive: true });
      await writeFile(path.join(root, file), '');
    }
    await mkdir(path.join(root, 'a', 'notes'), { recursive: true });
    await mkdir(path.join(root, 'a', '3'), { recursive: true });
    await mkdir(path.join(root, 'empty', '1'), { recursive: true });
    const entries = await new ModelRepository(root).scan();
    expect(entries.map((e) => [e.name, e.versions])).toEqual([
      ['a', [1, 2, 10]],
      ['b', [1]],
    ]);
  });

  it('names each folder laid out wrongly, what it holds and the layout expected', async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'repo-'));
    const files = ['good/1/model.onnx', 'flat/model.onnx', 'named/v1/model.onnx', 'named/2/model.onnx', 'tiny.onnx', 'empty/3/weights.bin', 'stray/notes/readme.md', 'ok/1/model.onnx', 'ok/latest/model.onnx', 'bad name/1/model.onnx', '.git/HEAD'];
    for (const file of files) {
      await mkdir(path.dirname(path.join(root, file)), { recursive: true });
      await writeFile(path.join(root, file), '');
    }
    await mkdir(path.join(root, 'nothing'));
    const { entries, problems } = await new ModelRepository(root).survey();
    expect(entries.map((e) => [e.name, e.versions])).toEqual([
      ['good', [1]],
      ['named', [2]],
      ['ok', [1]],
    ]);
    const expected = (model: string) => `expected <repo>/${model}/<version>/model.onnx with a numeric version such as 1`;
    expect(problems).toEqual([
      { path: 'bad name', message: `folder "bad name" is not a valid model name (1-128 letters, digits, '_', '-' or '.', not starting with '.'): its models are not served` },
      { path: 'empty/3', model: 'empty', message: 'version folder "empty/3" has no model.onnx (found: weights.bin); expected <repo>/empty/3/model.onnx' },
      { path: 'flat', model: 'flat', message: `model folder "flat" has model.onnx directly inside; ${expected('flat')}` },
      { path: 'named/v1', message: `model folder "named" has a version folder "v1" that is not a number (rename it to 1); ${expected('named')}` },
      { path: 'nothing', model: 'nothing', message: `model folder "nothing" has no version folder (it is empty); ${expected('nothing')}` },
      { path: 'ok/latest', message: `model folder "ok" has a version folder "latest" that is not a number; ${expected('ok')}` },
      { path: 'stray', model: 'stray', message: `model folder "stray" has no version folder (found: notes/); ${expected('stray')}` },
      { path: 'tiny.onnx', message: `"tiny.onnx" is a model file at the repository's top; expected <repo>/<model>/<version>/model.onnx, e.g. <repo>/tiny/1/model.onnx` },
    ]);
  });

  it('refuses names that could escape the repository', () => {
    for (const bad of ['..', '.', '../etc', 'a/b', '/abs', 'a\0b', '', 'x'.repeat(129), '.hidden', 'a\\b']) {
      expect(() => checkModelName(bad), bad).toThrow(/model name .* is not valid/);
    }
    expect(() => checkModelName('mnist_mlp-v2.1')).not.toThrow();
  });

  it('parses versions strictly', () => {
    expect(parseVersion('m', '')).toBeUndefined();
    expect(parseVersion('m', undefined)).toBeUndefined();
    expect(parseVersion('m', '2')).toBe(2);
    for (const bad of ['0', '-1', '1.5', 'abc', '../1', '1e3']) {
      expect(() => parseVersion('m', bad), bad).toThrow(/model 'm': version .* is not valid: expected a positive integer/);
    }
  });

  it('reports an unknown model as NotFound', async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'repo-'));
    await expect(new ModelRepository(root).entry('nope')).rejects.toMatchObject({ errorCode: 'NotFound' });
  });
});
