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
