import { describe, expect, it } from 'vitest';
import { DATATYPES_MODEL_TYPES } from './datatypes.js';
import { bf16Identity, identity } from './identity.js';
import { load, ort, sampleTensor, type OrtElementType } from './testing/ort.js';

const ortTypes = DATATYPES_MODEL_TYPES as readonly OrtElementType[];

describe('identity', () => {
  it.each(ortTypes)('%s round-trips through onnxruntime', async (type) => {
    const session = await load(identity(type, ['n']));
    expect(session.inputMetadata).toEqual([{ name: 'input', isTensor: true, type, shape: ['n'] }]);
    const input = sampleTensor(type);
    const { output } = await session.run({ input });
    expect(output?.type).toBe(type);
    expect(output?.dims).toEqual([3]);
    expect(output?.data).toEqual(input.data);
  });

  it('uses custom tensor names and fixed dims', async () => {
    const session = await load(identity('int32', [2, 'k'], { input: 'x', output: 'y' }));
    expect(session.inputMetadata).toEqual([{ name: 'x', isTensor: true, type: 'int32', shape: [2, 'k'] }]);
    expect(session.outputNames).toEqual(['y']);
  });

  // Pins the onnxruntime behaviour server-side validation is designed around.
  describe('unranked tensors (no shape in the ValueInfo)', () => {
    const bytes = identity('float32', 'unranked');

    it('report shape [] in metadata, the same as a declared scalar', async () => {
      const unranked = await load(bytes);
      const scalar = await load(identity('float32', []));
      expect(unranked.inputMetadata).toEqual([{ name: 'input', isTensor: true, type: 'float32', shape: [] }]);
      expect(scalar.inputMetadata).toEqual(unranked.inputMetadata);
    });

    it.each([
      ['rank 0', []],
      ['rank 1', [3]],
      ['rank 7', [1, 2, 1, 2, 1, 2, 1]],
      ['empty [0]', [0]],
      ['empty [2, 0]', [2, 0]],
    ] as Array<[string, number[]]>)('accept %s', async (_label, dims) => {
      const session = await load(bytes);
      const size = dims.reduce((a, b) => a * b, 1);
      const data = Float32Array.from({ length: size }, (_, i) => i);
      const { output } = await session.run({ input: new ort.Tensor('float32', data, dims) });
      expect(output?.dims).toEqual(dims);
      expect(output?.data).toEqual(data);
    });
  });

  it('a declared scalar is not rank-checked by onnxruntime: [3] runs', async () => {
    const session = await load(identity('float32', []));
    const { output } = await session.run({ input: new ort.Tensor('float32', Float32Array.of(1, 2, 3), [3]) });
    expect(output?.dims).toEqual([3]);
  });

  it('a ranked input rejects the wrong rank and the wrong fixed dim', async () => {
    const session = await load(identity('float32', ['batch', 3]));
    const run = (dims: number[]) =>
      session.run({ input: new ort.Tensor('float32', new Float32Array(dims.reduce((a, b) => a * b, 1)), dims) });
    await expect(run([3])).rejects.toThrow('Invalid rank for input: input Got: 1 Expected: 2');
    await expect(run([2, 0])).rejects.toThrow(/index: 1 Got: 0 Expected: 3/);
    await expect(run([0, 3])).resolves.toBeDefined();
  });
});

describe('bf16Identity', () => {
  it('fails to load in onnxruntime-node', async () => {
    await expect(load(bf16Identity())).rejects.toThrow('Unsupported data type: 16');
  });
});
