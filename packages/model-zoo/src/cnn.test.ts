import { describe, expect, it } from 'vitest';
import { cnn } from './cnn.js';
import { sameBytes } from './testing/bytes.js';
import { load, maxAbsDiff, pixels, runFloat } from './testing/ort.js';

describe('cnn', () => {
  const model = cnn({ seed: 3 });

  it('declares input [batch, 1, 28, 28] and output [batch, 10]', async () => {
    const session = await load(model.bytes);
    expect(session.inputMetadata).toEqual([
      { name: 'input', isTensor: true, type: 'float32', shape: ['batch', 1, 28, 28] },
    ]);
    expect(session.outputMetadata).toEqual([{ name: 'output', isTensor: true, type: 'float32', shape: ['batch', 10] }]);
  });

  it.each([1, 5])('forward matches onnxruntime at batch %i', async (batch) => {
    const session = await load(model.bytes);
    const input = pixels(batch * 784, 100 + batch);
    const expected = await runFloat(session, input, [batch, 1, 28, 28]);
    const actual = model.forward(input, batch);
    expect(actual.length).toBe(batch * 10);
    expect(maxAbsDiff(actual, expected)).toBeLessThan(1e-4);
    expect(Math.max(...expected.map(Math.abs))).toBeGreaterThan(0.01);
  });

  it('is deterministic per seed and differs across seeds', () => {
    expect(sameBytes(cnn({ seed: 3 }).bytes, model.bytes)).toBe(true);
    expect(sameBytes(cnn({ seed: 4 }).bytes, model.bytes)).toBe(false);
  });
});
