import type { DataType, DecodedTensor, PredictResponse__Output } from '@modelserve/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureRepository } from './support/fixtures.js';
import { startTestServer, unary, type TestServer } from './support/server.js';
import { datatypeSamples as samples, output, wire } from './support/tensors.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({ modelRepository: await fixtureRepository() });
});
afterAll(() => t.close());

const predict = (request: object) => unary<PredictResponse__Output>((cb) => t.predictor.Predict(request, cb));

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
