import { describe, expect, it } from 'vitest';
import { buildModel, floatTensor, int64Tensor, IR_VERSION, node, OPSET_VERSION, valueInfo } from './builder.js';
import { onnx } from './onnx.js';
import { load, ort } from './testing/ort.js';

function decode(bytes: Uint8Array) {
  return onnx.ModelProto.toObject(onnx.ModelProto.decode(bytes), { longs: Number, defaults: false });
}

describe('builder', () => {
  it('writes the IR version and default-domain opset', () => {
    const model = decode(buildModel({ name: 'g', inputs: [], outputs: [], nodes: [] }));
    expect(model.irVersion).toBe(IR_VERSION);
    expect(model.opsetImport).toEqual([{ domain: '', version: OPSET_VERSION }]);
  });

  it('distinguishes unranked (no shape) from scalar (empty shape) and encodes symbolic dims as dim_param', () => {
    expect(valueInfo('x', 'float32', 'unranked')).toEqual({ name: 'x', type: { tensorType: { elemType: 1 } } });
    expect(valueInfo('x', 'float32', []).type?.tensorType?.shape).toEqual({ dim: [] });
    expect(valueInfo('x', 'int64', ['batch', 3]).type?.tensorType).toEqual({
      elemType: 7,
      shape: { dim: [{ dimParam: 'batch' }, { dimValue: 3 }] },
    });
  });

  it('stores float initializers as little-endian raw_data', () => {
    const t = floatTensor('w', [2], Float32Array.of(1, -2));
    expect(Array.from(t.rawData ?? [])).toEqual([0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0]);
    expect(() => floatTensor('w', [3], Float32Array.of(1))).toThrow(/1 values for dims \[3\]/);
  });

  it('builds a runnable model from initializers of both kinds', async () => {
    const bytes = buildModel({
      name: 'reshape_scale',
      inputs: [valueInfo('input', 'float32', [4])],
      outputs: [valueInfo('output', 'float32', [2, 2])],
      initializers: [floatTensor('scale', [1], Float32Array.of(2)), int64Tensor('shape', [2], [2, 2])],
      nodes: [node('Mul', ['input', 'scale'], ['scaled']), node('Reshape', ['scaled', 'shape'], ['output'])],
    });
    const session = await load(bytes);
    const { output } = await session.run({ input: new ort.Tensor('float32', Float32Array.of(1, 2, 3, 4), [4]) });
    expect(output?.dims).toEqual([2, 2]);
    expect(output?.data).toEqual(Float32Array.of(2, 4, 6, 8));
  });
});
