import { status } from '@grpc/grpc-js';
import { demoCnn, demoMlp, demoTinyMlp } from '@modelserve/model-zoo';
import type { PredictResponse__Output } from '@modelserve/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureRepository } from './support/fixtures.js';
import { failure, startTestServer, unary, type TestServer } from './support/server.js';
import { fp32, maxAbsDiff, output, sampleValues, wire } from './support/tensors.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({ modelRepository: await fixtureRepository() });
});
afterAll(() => t.close());

const predict = (request: object) => unary<PredictResponse__Output>((cb) => t.predictor.Predict(request, cb));

describe('unary Predict', () => {
  for (const version of [1, 2] as const) {
    for (const format of ['raw', 'typed'] as const) {
      it(`answers mnist_mlp version ${version} with ${format} contents as the reference evaluator does`, async () => {
        const batch = 5;
        const x = sampleValues(batch * 784, version);
        const response = await predict({
          model_name: 'mnist_mlp',
          model_version: String(version),
          id: `req-${version}-${format}`,
          inputs: [wire(fp32('input', [batch, 784], x), format)],
        });
        expect(response).toMatchObject({ model_name: 'mnist_mlp', model_version: String(version), id: `req-${version}-${format}` });
        const y = output(response);
        expect(y).toMatchObject({ datatype: 'FP32', shape: [batch, 10] });
        expect(response.outputs[0]!.raw_contents.length > 0).toBe(format === 'raw');
        expect(maxAbsDiff(y.data as Float32Array, demoMlp(version).forward(x, batch))).toBeLessThan(1e-5);
      });
    }
  }

  it('uses the highest ready version when the request names none, and says so', async () => {
    const x = sampleValues(784, 7);
    const response = await predict({ model_name: 'mnist_mlp', inputs: [wire(fp32('input', [1, 784], x))] });
    expect(response.model_version).toBe('2');
    expect(maxAbsDiff(output(response).data as Float32Array, demoMlp(2).forward(x, 1))).toBeLessThan(1e-5);
  });

  it('answers the CNN as the reference evaluator does', async () => {
    const x = sampleValues(3 * 784, 3);
    const response = await predict({ model_name: 'mnist_cnn', inputs: [wire(fp32('input', [3, 1, 28, 28], x))] });
    expect(maxAbsDiff(output(response).data as Float32Array, demoCnn().forward(x, 3))).toBeLessThan(1e-5);
  });

  it('answers in the form asked by output_format', async () => {
    const x = [5.1, 3.5, 1.4, 0.2];
    const typed = await predict({ model_name: 'tiny_mlp', inputs: [wire(fp32('input', [1, 4], x), 'raw')], output_format: 'OUTPUT_FORMAT_TYPED' });
    expect(typed.outputs[0]!.raw_contents.length).toBe(0);
    expect(typed.outputs[0]!.contents?.fp32_contents).toHaveLength(3);
    expect(maxAbsDiff(output(typed).data as Float32Array, demoTinyMlp().forward(Float32Array.from(x), 1))).toBeLessThan(1e-5);
    const raw = await predict({ model_name: 'tiny_mlp', inputs: [wire(fp32('input', [1, 4], x), 'typed')], output_format: 'OUTPUT_FORMAT_RAW' });
    expect(raw.outputs[0]!.raw_contents.length).toBe(12);
  });

  it('returns only the outputs asked for, and all of them otherwise', async () => {
    const inputs = [wire({ name: 'a', datatype: 'FP32', shape: [2], data: Float32Array.of(1.5, 2) }), wire({ name: 'b', datatype: 'INT64', shape: [2], data: BigInt64Array.of(3n, 4n) })];
    const all = await predict({ model_name: 'multi_io', inputs });
    expect(all.outputs.map((o) => o.name).sort()).toEqual(['b_out', 'sum']);
    expect([...(output(all, 'sum').data as Float32Array)]).toEqual([4.5, 6]);
    const one = await predict({ model_name: 'multi_io', inputs, outputs: ['b_out'] });
    expect(one.outputs.map((o) => o.name)).toEqual(['b_out']);
    expect([...(output(one, 'b_out').data as BigInt64Array)]).toEqual([3n, 4n]);
  });

  it('answers DEADLINE_EXCEEDED when the deadline has passed', async () => {
    const error = await failure(
      unary((cb) => t.predictor.Predict({ model_name: 'tiny_mlp', inputs: [wire(fp32('input', [1, 4], [1, 2, 3, 4]))] }, { deadline: Date.now() - 1 }, cb)),
    );
    expect(error.code).toBe(status.DEADLINE_EXCEEDED);
  });
});
