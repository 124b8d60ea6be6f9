import { describe, expect, it } from 'vitest';
import { mlp } from './mlp.js';
import { sameBytes } from './testing/bytes.js';
import { load, maxAbsDiff, pixels, runFloat } from './testing/ort.js';

describe('mlp', () => {
  const model = mlp({ seed: 7 });

  it('declares input [batch, 784] and output [batch, 10] to onnxruntime', async () => {
    const session = await load(model.bytes);
    expect(session.inputMetadata).toEqual([{ name: 'input', isTensor: true, type: 'float32', shape: ['batch', 784] }]);
    expect(session.outputMetadata).toEqual([{ name: 'output', isTensor: true, type: 'float32', shape: ['batch', 10] }]);
  });

  it.each([1, 5])('forward matches onnxruntime at batch %i', async (batch) => {
    const session = await load(model.bytes);
    const input = pixels(batch * 784, batch);
    const expected = await runFloat(session, input, [batch, 784]);
    const actual = model.forward(input, batch);
    expect(actual.length).toBe(batch * 10);
    expect(maxAbsDiff(actual, expected)).toBeLessThan(1e-4);
    // Logits should be non-trivial, or the comparison proves little.
    expect(Math.max(...expected.map(Math.abs))).toBeGreaterThan(0.01);
  });

  it('is deterministic per seed and differs across seeds', () => {
    expect(sameBytes(mlp({ seed: 7 }).bytes, model.bytes)).toBe(true);
    expect(sameBytes(mlp({ seed: 8 }).bytes, model.bytes)).toBe(false);
  });

  it('honours custom sizes', async () => {
    const small = mlp({ seed: 1, inputSize: 4, hidden: 3, outputs: 2 });
    const session = await load(small.bytes);
    const input = Float32Array.of(0.1, 0.2, 0.3, 0.4, 1, -1, 0.5, 0);
    expect(maxAbsDiff(small.forward(input, 2), await runFloat(session, input, [2, 4]))).toBeLessThan(1e-6);
  });

  it('rejects a forward input whose length does not match the batch', () => {
    expect(() => model.forward(new Float32Array(784), 2)).toThrow(/expected 1568/);
  });
});
