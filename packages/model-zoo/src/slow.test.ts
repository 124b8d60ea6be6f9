import { describe, expect, it } from 'vitest';
import { slowMlp } from './slow.js';
import { sameBytes } from './testing/bytes.js';
import { load, maxAbsDiff, pixels, runFloat } from './testing/ort.js';

describe('slowMlp', () => {
  const model = slowMlp({ seed: 7 });

  it('declares input [batch, 64] and output [batch, 10] to onnxruntime', async () => {
    const session = await load(model.bytes);
    expect(session.inputMetadata).toEqual([{ name: 'input', isTensor: true, type: 'float32', shape: ['batch', 64] }]);
    expect(session.outputMetadata).toEqual([{ name: 'output', isTensor: true, type: 'float32', shape: ['batch', 10] }]);
  });

  it('stays small on disk however deep it is, since its hidden layers share one matrix', () => {
    expect(model.bytes.length).toBeLessThan(2 * 1024 * 1024);
    expect(slowMlp({ layers: 300 }).bytes.length - slowMlp({ layers: 150 }).bytes.length).toBeLessThan(100 * 1024);
  });

  it.each([1, 3])('forward matches onnxruntime at batch %i', async (batch) => {
    const session = await load(model.bytes);
    const input = pixels(batch * 64, batch);
    const expected = await runFloat(session, input, [batch, 64]);
    const actual = model.forward(input, batch);
    expect(actual.length).toBe(batch * 10);
    expect(maxAbsDiff(actual, expected)).toBeLessThan(1e-4);
    // After 150 layers the outputs must still depend on the input, or the cache's answers prove little.
    expect(Math.max(...expected.map(Math.abs))).toBeGreaterThan(0.01);
    if (batch > 1) expect(maxAbsDiff(actual.subarray(0, 10), actual.subarray(10, 20))).toBeGreaterThan(1e-3);
  });

  it('is deterministic per seed and differs across seeds', () => {
    expect(sameBytes(slowMlp({ seed: 7 }).bytes, model.bytes)).toBe(true);
    expect(sameBytes(slowMlp({ seed: 8 }).bytes, model.bytes)).toBe(false);
  });

  it('honours custom sizes', async () => {
    const small = slowMlp({ seed: 1, inputSize: 4, hidden: 3, layers: 2, outputs: 2 });
    const session = await load(small.bytes);
    const input = Float32Array.of(0.1, 0.2, 0.3, 0.4, 1, -1, 0.5, 0);
    expect(maxAbsDiff(small.forward(input, 2), await runFloat(session, input, [2, 4]))).toBeLessThan(1e-6);
  });

  it('rejects a forward input whose length does not match the batch', () => {
    expect(() => model.forward(new Float32Array(64), 2)).toThrow(/expected 128/);
  });
});
