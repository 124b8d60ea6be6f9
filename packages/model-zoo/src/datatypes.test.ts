import { describe, expect, it } from 'vitest';
import { datatypes, DATATYPES_MODEL_TYPES } from './datatypes.js';
import { load, ort, sampleTensor, type OrtElementType } from './testing/ort.js';

const types = DATATYPES_MODEL_TYPES as readonly OrtElementType[];

describe('datatypes', () => {
  it('covers every element type except bfloat16', () => {
    expect([...types].sort()).toEqual(
      ['bool', 'float16', 'float32', 'float64', 'int16', 'int32', 'int64', 'int8', 'string', 'uint16', 'uint32', 'uint64', 'uint8'],
    );
  });

  it('declares in_<type> / out_<type> with symbolic shape [n]', async () => {
    const session = await load(datatypes());
    expect(session.inputMetadata).toEqual(types.map((type) => ({ name: `in_${type}`, isTensor: true, type, shape: ['n'] })));
    expect(session.outputMetadata).toEqual(types.map((type) => ({ name: `out_${type}`, isTensor: true, type, shape: ['n'] })));
  });

  it('round-trips every type through onnxruntime', async () => {
    const session = await load(datatypes());
    const feeds = Object.fromEntries(types.map((t) => [`in_${t}`, sampleTensor(t)]));
    const result = await session.run(feeds);
    for (const type of types) {
      const output = result[`out_${type}`];
      expect(output?.type, type).toBe(type);
      expect(output?.dims, type).toEqual([3]);
      expect(output?.data, type).toEqual(feeds[`in_${type}`]?.data);
    }
  });

  it('does not force inputs sharing dim_param "n" to agree (onnxruntime checks fixed dims only)', async () => {
    const session = await load(datatypes());
    const feeds = Object.fromEntries(types.map((t) => [`in_${t}`, sampleTensor(t)]));
    feeds.in_float32 = new ort.Tensor('float32', Float32Array.of(1, 2, 3, 4, 5), [5]);
    const result = await session.run(feeds);
    expect(result.out_float32?.dims).toEqual([5]);
    expect(result.out_int8?.dims).toEqual([3]);
  });

  it('is deterministic', () => {
    expect(datatypes()).toEqual(datatypes());
  });
});
