import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadPackageDefinition, status } from '@grpc/grpc-js';
import { FakeBackend, gate } from '@modelserve/core/testing';
import { demoCnn, demoMlp, demoTinyMlp } from '@modelserve/model-zoo';
import { loadGrpcObject, type GetModelStatisticsResponse__Output, type PredictResponse__Output } from '@modelserve/proto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { eventually } from './support/eventually.js';
import { fixtureRepository, put } from './support/fixtures.js';
import { rawUnary } from './support/raw-grpc.js';
import { startTestServer, unary, type TestServer } from './support/server.js';
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
});

/**
 * Deadlines as the server enforces them. The model `single` has one instance whose runs wait on a
 * gate, so what is queued and what is running is set by the test, not by timing; the calls go out
 * over bare HTTP/2 with a `grpc-timeout` header, so the DEADLINE_EXCEEDED seen is the server's answer
 * (a grpc-js client would end the call itself at its deadline).
 */
describe('deadlines, answered by the server', () => {
  let held: TestServer | undefined;
  let backend: FakeBackend;
  /** The gate runs wait on. */
  let runs: ReturnType<typeof gate>;
  let root: string;
  // A server per test: one that has run learns how long runs take and then answers early a request
  // that could not finish in time, which is not what these tests are about.
  beforeEach(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'modelserve-deadlines-'));
    await put(root, 'single/config.yaml', 'instances:\n  count: 1\nwarmup: false\n');
    await put(root, 'single/1/model.onnx', '');
    const signature = { inputs: [{ name: 'x', datatype: 'FP32' as const, shape: [-1] }], outputs: [{ name: 'y', datatype: 'FP32' as const, shape: [-1] }] };
    const gated = gate();
    runs = gated;
    backend = new FakeBackend(() => ({
      signature,
      run: async (inputs) => {
        await gated.promise;
        return [{ ...inputs[0]!, name: 'y' }];
      },
    }));
    held = await startTestServer({ modelRepository: root, backend });
  });
  afterEach(async () => {
    runs.open();
    await held?.close();
    await rm(root, { recursive: true, force: true });
  });

  const request = (id: string) => ({ id, model_name: 'single', inputs: [wire(fp32('x', [1], [1]))] });
  const serialize = loadGrpcObject(loadPackageDefinition).modelserve.v1.Predictor.service.Predict.requestSerialize;
  /** Predict over bare HTTP/2 with a deadline `ms` from now. */
  const predictWithin = (id: string, ms: number) => rawUnary(held!.server.address, '/modelserve.v1.Predictor/Predict', serialize(request(id)), { 'grpc-timeout': `${ms}m` });
  const statistics = async () => {
    const response = await unary<GetModelStatisticsResponse__Output>((cb) => held!.admin.GetModelStatistics({ name: 'single' }, cb));
    const v = response.versions[0]!;
    return { answered: Number(v.request_count), failed: Number(v.failure_count), runs: Number(v.batch_count) };
  };

  it('answers DEADLINE_EXCEEDED to a request whose deadline passes while it waits in the queue, and never runs it', async () => {
    // The one instance is busy with a request that has no deadline and does not finish until released.
    const first = unary<PredictResponse__Output>((cb) => held!.predictor.Predict(request('first'), cb));
    await eventually(() => backend.runs.length === 1);
    expect(await statistics()).toEqual({ answered: 0, failed: 0, runs: 0 });
    const late = await predictWithin('late', 200);
    expect([late.status, late.messages]).toEqual([status.DEADLINE_EXCEEDED, []]);
    // The server answered it while the instance was still busy: it never reached the model, and
    // counts as accepted and failed.
    expect(backend.runs).toHaveLength(1);
    expect(await statistics()).toEqual({ answered: 0, failed: 1, runs: 0 });
    runs.open();
    expect((await first).id).toBe('first');
    // Once the instance freed it took nothing more from the queue: the late request had left it.
    expect(backend.runs).toHaveLength(1);
    expect(await statistics()).toEqual({ answered: 1, failed: 1, runs: 1 });
  });

  it('answers DEADLINE_EXCEEDED to a request whose deadline passes while it runs, before the run ends', async () => {
    const answer = predictWithin('running', 200);
    await eventually(() => backend.runs.length === 1);
    // The run is held until after the answer, so the answer cannot be the run's: the server ended
    // the call at its deadline (a started run cannot be cancelled; it finishes unseen).
    const running = await answer;
    expect([running.status, running.messages]).toEqual([status.DEADLINE_EXCEEDED, []]);
    expect(await statistics()).toEqual({ answered: 0, failed: 0, runs: 0 });
  });
});
