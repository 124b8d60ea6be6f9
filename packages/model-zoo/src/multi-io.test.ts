import { describe, expect, it } from 'vitest';
import { MULTI_IO_DEFAULT_BIAS, multiIo } from './multi-io.js';
import { load, ort } from './testing/ort.js';

const a = () => new ort.Tensor('float32', Float32Array.of(1, 2, 3), [3]);
const b = () => new ort.Tensor('int64', BigInt64Array.of(10n, -20n, 2n ** 40n), [3]);

describe('multiIo', () => {
  it('computes sum = a + float(b) and b_out = b', async () => {
    const session = await load(multiIo());
    expect(session.inputMetadata).toEqual([
      { name: 'a', isTensor: true, type: 'float32', shape: ['n'] },
      { name: 'b', isTensor: true, type: 'int64', shape: ['n'] },
    ]);
    expect(session.outputNames).toEqual(['sum', 'b_out']);
    const result = await session.run({ a: a(), b: b() });
    expect(result.sum?.data).toEqual(Float32Array.of(11, -18, 2 ** 40 + 3));
    expect(result.b_out?.data).toEqual(BigInt64Array.of(10n, -20n, 2n ** 40n));
  });

  it('fails at run time (in Add, not input validation) when a and b lengths differ', async () => {
    const session = await load(multiIo());
    const short = new ort.Tensor('int64', BigInt64Array.of(1n, 2n), [2]);
    await expect(session.run({ a: a(), b: short })).rejects.toThrow(/Attempting to broadcast an axis/);
  });

  // onnxruntime-node lists only non-initializer inputs and silently drops feeds whose name
  // is not in inputNames, so an initializer-backed input can neither be seen nor overridden.
  it('withDefault: the initializer-backed input is hidden and its default always applies', async () => {
    const session = await load(multiIo({ withDefault: true }));
    expect(session.inputNames).toEqual(['a', 'b']);
    const bias = new ort.Tensor('float32', Float32Array.of(100), [1]);
    const feedSets: Array<Record<string, ort.Tensor>> = [{ a: a(), b: b() }, { a: a(), b: b(), bias }];
    for (const feeds of feedSets) {
      const result = await session.run(feeds);
      expect(result.sum?.data).toEqual(Float32Array.of(11, -18, 2 ** 40 + 3).map((x) => x + MULTI_IO_DEFAULT_BIAS));
    }
  });

  it('is deterministic', () => {
    expect(multiIo({ withDefault: true })).toEqual(multiIo({ withDefault: true }));
  });
});
