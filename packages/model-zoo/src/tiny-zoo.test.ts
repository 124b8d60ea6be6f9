import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mulberry32, uniform } from './prng.js';
import { sameBytes } from './testing/bytes.js';
import { load, maxRelativeDiff, runFloat } from './testing/ort.js';
import { DEFAULT_TINY_CONFIG, TINY_KINDS, tinyModel, tinyModelName, writeManyModelRepository } from './tiny-zoo.js';

/** 20 indices: two of every kind among the first 16, and four far ones. */
const SAMPLE = [...Array.from({ length: 16 }, (_, i) => i), 101, 517, 998, 4093];

describe('tinyModel', () => {
  it.each(SAMPLE)('model %i declares [batch, in] → [batch, out] and its reference matches onnxruntime at batch 3', async (index) => {
    const model = tinyModel(index);
    const session = await load(model.bytes);
    expect(session.inputMetadata).toEqual([{ name: 'input', isTensor: true, type: 'float32', shape: ['batch', model.inputSize] }]);
    expect(session.outputMetadata).toEqual([{ name: 'output', isTensor: true, type: 'float32', shape: ['batch', model.outputSize] }]);
    const input = uniform(mulberry32(index), 3 * model.inputSize, 2);
    const expected = await runFloat(session, input, [3, model.inputSize]);
    expect(expected.length).toBe(3 * model.outputSize);
    expect(maxRelativeDiff(model.forward(input, 3), expected)).toBeLessThan(1e-4);
    // Outputs must vary, or the comparison proves little.
    expect(new Set(expected).size).toBeGreaterThan(1);
  });

  it('cycles through every kind, with sizes of 4 to 64 features and files of at most 50 KB', () => {
    const models = Array.from({ length: 200 }, (_, i) => tinyModel(i));
    expect(new Set(models.map((m) => m.kind))).toEqual(new Set(TINY_KINDS));
    expect(models.slice(0, TINY_KINDS.length).map((m) => m.kind)).toEqual([...TINY_KINDS]);
    for (const m of models) {
      expect(m.inputSize).toBeGreaterThanOrEqual(4);
      expect(m.inputSize).toBeLessThanOrEqual(64);
      expect(m.outputSize).toBeGreaterThanOrEqual(4);
      expect(m.outputSize).toBeLessThanOrEqual(64);
      expect(m.bytes.length).toBeLessThanOrEqual(50_000);
    }
    expect(new Set(models.map((m) => m.inputSize)).size).toBeGreaterThan(20);
  });

  it('is deterministic per index and differs across indices', () => {
    expect(sameBytes(tinyModel(42).bytes, tinyModel(42).bytes)).toBe(true);
    expect(sameBytes(tinyModel(42).bytes, tinyModel(42 + TINY_KINDS.length).bytes)).toBe(false);
  });

  it('refuses a negative or fractional index, and a forward input of the wrong length', () => {
    expect(() => tinyModel(-1)).toThrow(/index ≥ 0/);
    expect(() => tinyModel(1.5)).toThrow(/index ≥ 0/);
    const model = tinyModel(0);
    expect(() => model.forward(new Float32Array(model.inputSize), 2)).toThrow(/expected/);
  });
});

describe('writeManyModelRepository', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tiny-zoo-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('writes 1,000 models as <name>/1/model.onnx and <name>/config.yaml, and returns their names', async () => {
    const names = await writeManyModelRepository(join(dir, 'many'), 1000);
    expect(names).toHaveLength(1000);
    expect(names.slice(0, 2)).toEqual(['tiny-0000', 'tiny-0001']);
    expect(names.at(-1)).toBe(tinyModelName(999));
    expect((await readdir(join(dir, 'many'))).sort()).toEqual(names);
    expect(await readdir(join(dir, 'many', 'tiny-0999'), { recursive: true })).toEqual(expect.arrayContaining(['config.yaml', '1', join('1', 'model.onnx')]));
    expect(await readFile(join(dir, 'many', 'tiny-0007', 'config.yaml'), 'utf8')).toBe(DEFAULT_TINY_CONFIG);
    const stored = new Uint8Array(await readFile(join(dir, 'many', 'tiny-0999', '1', 'model.onnx')));
    expect(sameBytes(stored, tinyModel(999).bytes)).toBe(true);
  });

  it('writes the config it is given', async () => {
    await writeManyModelRepository(join(dir, 'custom'), 2, { config: 'max_batch_size: 0\n' });
    expect(await readFile(join(dir, 'custom', 'tiny-0001', 'config.yaml'), 'utf8')).toBe('max_batch_size: 0\n');
  });
});
