import type { DataType, DecodedTensor, PredictResponse__Output } from '@modelserve/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureRepository } from './support/fixtures.js';
import { startTestServer, unary, type TestServer } from './support/server.js';
import { output, wire } from './support/tensors.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({ modelRepository: await fixtureRepository() });
});
afterAll(() => t.close());

const predict = (request: object) => unary<PredictResponse__Output>((cb) => t.predictor.Predict(request, cb));
const text = (s: string) => new TextEncoder().encode(s);

/** Values at the edges of each datatype; the `datatypes` model's input for it is `in_<onnx type>`. */
const samples: Array<{ onnx: string; tensor: (name: string) => DecodedTensor }> = [
  { onnx: 'bool', tensor: (name) => ({ name, datatype: 'BOOL', shape: [3], data: Uint8Array.of(1, 0, 1) }) },
  { onnx: 'uint8', tensor: (name) => ({ name, datatype: 'UINT8', shape: [3], data: Uint8Array.of(0, 128, 255) }) },
  { onnx: 'uint16', tensor: (name) => ({ name, datatype: 'UINT16', shape: [3], data: Uint16Array.of(0, 300, 65535) }) },
  { onnx: 'uint32', tensor: (name) => ({ name, datatype: 'UINT32', shape: [3], data: Uint32Array.of(0, 70000, 4294967295) }) },
  { onnx: 'uint64', tensor: (name) => ({ name, datatype: 'UINT64', shape: [3], data: BigUint64Array.of(0n, 2n ** 53n + 1n, 2n ** 64n - 1n) }) },
  { onnx: 'int8', tensor: (name) => ({ name, datatype: 'INT8', shape: [3], data: Int8Array.of(-128, 0, 127) }) },
  { onnx: 'int16', tensor: (name) => ({ name, datatype: 'INT16', shape: [3], data: Int16Array.of(-32768, 1, 32767) }) },
  { onnx: 'int32', tensor: (name) => ({ name, datatype: 'INT32', shape: [3], data: Int32Array.of(-(2 ** 31), 7, 2 ** 31 - 1) }) },
  { onnx: 'int64', tensor: (name) => ({ name, datatype: 'INT64', shape: [3], data: BigInt64Array.of(-(2n ** 63n), 2n ** 53n + 1n, 2n ** 63n - 1n) }) },
  // FP16 bits: 1.0, -2.5, 65504 (largest half).
  { onnx: 'float16', tensor: (name) => ({ name, datatype: 'FP16', shape: [3], data: Uint16Array.of(0x3c00, 0xc100, 0x7bff) }) },
  { onnx: 'float32', tensor: (name) => ({ name, datatype: 'FP32', shape: [3], data: Float32Array.of(-1.5, 3.4028234663852886e38, 1e-45) }) },
  { onnx: 'float64', tensor: (name) => ({ name, datatype: 'FP64', shape: [3], data: Float64Array.of(Math.PI, -Number.MAX_VALUE, 5e-324) }) },
  { onnx: 'string', tensor: (name) => ({ name, datatype: 'BYTES', shape: [3], data: [text('hello'), text(''), text('naïve ✓')] }) },
];

function plain(t: DecodedTensor): unknown {
  return { datatype: t.datatype, shape: t.shape, data: Array.isArray(t.data) ? t.data.map((b) => [...b]) : Array.from(t.data as ArrayLike<unknown>) };
}

describe('every datatype', () => {
  for (const format of ['raw', 'typed'] as const) {
    it(`round-trips through the datatypes model with ${format} contents`, async () => {
      const inputs = samples.map((s) => s.tensor(`in_${s.onnx}`));
      const response = await predict({ model_name: 'datatypes', inputs: inputs.map((i) => wire(i, format)) });
      for (const s of samples) {
        const sent = s.tensor(`out_${s.onnx}`);
        expect(plain(output(response, `out_${s.onnx}`)), s.onnx).toEqual(plain(sent));
      }
    });
  }
});

describe('shapes', () => {
  const cases: Array<[string, number[]]> = [
    ['a scalar (rank 0)', []],
    ['an empty tensor (a zero dimension)', [2, 0, 3]],
    ['rank 7', [1, 2, 1, 2, 1, 2, 1]],
  ];
  for (const [what, shape] of cases) {
    for (const format of ['raw', 'typed'] as const) {
      it(`serves ${what} with ${format} contents`, async () => {
        const count = shape.reduce((a, b) => a * b, 1);
        const data = Float32Array.from({ length: count }, (_, i) => i - 0.5);
        const response = await predict({ model_name: 'any_rank', inputs: [wire({ name: 'input', datatype: 'FP32', shape, data }, format)] });
        expect(plain(output(response))).toEqual(plain({ name: 'output', datatype: 'FP32', shape, data }));
      });
    }
  }

  it('keeps INT64 values beyond 2^53 exact in a scalar', async () => {
    const tensor: DecodedTensor = { name: 'input', datatype: 'INT64' as DataType, shape: [], data: BigInt64Array.of(2n ** 62n + 3n) } as DecodedTensor;
    const response = await predict({ model_name: 'any_rank_int64', inputs: [wire(tensor, 'typed')] });
    expect(response.outputs[0]!.contents?.int64_contents).toEqual(['4611686018427387907']);
  });
});
