import { status } from '@grpc/grpc-js';
import type { ListModelsResponse__Output, LoadModelResponse__Output, ModelMetadata__Output, PredictResponse__Output, UnloadModelResponse__Output } from '@modelserve/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureRepository } from './support/fixtures.js';
import { failure, healthClient, startTestServer, unary, type HealthClient, type TestServer } from './support/server.js';
import { fp32, wire } from './support/tensors.js';

let t: TestServer;
let health: HealthClient;
beforeAll(async () => {
  t = await startTestServer({ modelRepository: await fixtureRepository() });
  health = healthClient(t.server.address);
});
afterAll(async () => {
  health.close();
  await t.close();
});

const check = async (service: string) => (await unary<{ status: string }>((cb) => health.Check({ service }, cb))).status;
const cnnRequest = (version = '') => ({ model_name: 'mnist_cnn', model_version: version, inputs: [wire(fp32('input', [1, 1, 28, 28], new Float32Array(784)))] });
const predict = (request: object) => unary<PredictResponse__Output>((cb) => t.predictor.Predict(request, cb));

describe('ModelAdmin', () => {
  it('lists every model with its versions, states and default version', async () => {
    const { models } = await unary<ListModelsResponse__Output>((cb) => t.admin.ListModels({}, cb));
    expect(models.map((m) => m.name)).toEqual(['any_rank', 'any_rank_int64', 'bf16', 'datatypes', 'mnist_cnn', 'mnist_mlp', 'multi_io', 'multi_io_default', 'tiny_mlp']);
    expect(models.find((m) => m.name === 'mnist_mlp')).toEqual({
      name: 'mnist_mlp',
      default_version: '2',
      versions: [
        { version: '1', state: 'VERSION_STATE_READY', reason: '' },
        { version: '2', state: 'VERSION_STATE_READY', reason: '' },
      ],
      routing: { shares: [{ version: '2', percent: 100 }], shadow_version: '', notes: [] },
    });
    const bf16 = models.find((m) => m.name === 'bf16')!;
    expect(bf16.default_version).toBe('');
    expect(bf16.versions[0]).toEqual({
      version: '1',
      state: 'VERSION_STATE_FAILED',
      reason: "onnxruntime cannot load model 'bf16' version 1: Unsupported data type: 16",
    });
  });

  it("gives a model's inputs and outputs with -1 for variable dimensions", async () => {
    const metadata = await unary<ModelMetadata__Output>((cb) => t.admin.GetModelMetadata({ name: 'mnist_mlp', version: '1' }, cb));
    expect(metadata).toMatchObject({
      name: 'mnist_mlp',
      version: '1',
      platform: 'onnxruntime_onnx',
      max_batch_size: 128,
      inputs: [{ name: 'input', datatype: 'FP32', shape: ['-1', '784'] }],
      outputs: [{ name: 'output', datatype: 'FP32', shape: ['-1', '10'] }],
      status: { name: 'mnist_mlp', default_version: '2' },
    });
    const multi = await unary<ModelMetadata__Output>((cb) => t.admin.GetModelMetadata({ name: 'multi_io', version: '' }, cb));
    expect(multi.inputs).toEqual([
      { name: 'a', datatype: 'FP32', shape: ['-1'] },
      { name: 'b', datatype: 'INT64', shape: ['-1'] },
    ]);
    const error = await failure(unary((cb) => t.admin.GetModelMetadata({ name: 'nope', version: '' }, cb)));
    expect(error.code).toBe(status.NOT_FOUND);
  });

  it('unloads a model: predictions get UNAVAILABLE and health turns NOT_SERVING; loading brings both back', async () => {
    expect(await check('mnist_cnn')).toBe('SERVING');
    const unloaded = await unary<UnloadModelResponse__Output>((cb) => t.admin.UnloadModel({ name: 'mnist_cnn', version: '' }, cb));
    expect(unloaded.status?.versions).toEqual([{ version: '1', state: 'VERSION_STATE_UNAVAILABLE', reason: 'unloaded' }]);
    expect(await check('mnist_cnn')).toBe('NOT_SERVING');
    const noDefault = await failure(predict(cnnRequest()));
    expect([noDefault.code, noDefault.details]).toEqual([status.UNAVAILABLE, "model 'mnist_cnn' has no ready version"]);
    const named = await failure(predict(cnnRequest('1')));
    expect([named.code, named.details]).toEqual([status.UNAVAILABLE, "model 'mnist_cnn' version 1 is not ready: it is UNAVAILABLE (unloaded)"]);

    const loaded = await unary<LoadModelResponse__Output>((cb) => t.admin.LoadModel({ name: 'mnist_cnn', version: '' }, cb));
    expect(loaded.status?.versions).toEqual([{ version: '1', state: 'VERSION_STATE_READY', reason: '' }]);
    expect(await check('mnist_cnn')).toBe('SERVING');
    await expect(predict(cnnRequest())).resolves.toMatchObject({ model_version: '1' });
  });

  it('answers UNAVAILABLE to a request that arrives while its version loads', async () => {
    await unary((cb) => t.admin.UnloadModel({ name: 'tiny_mlp', version: '1' }, cb));
    const loading = unary((cb) => t.admin.LoadModel({ name: 'tiny_mlp', version: '1' }, cb));
    const error = await failure(predict({ model_name: 'tiny_mlp', model_version: '1', inputs: [wire(fp32('input', [1, 4], [1, 2, 3, 4]))] }));
    expect(error.code).toBe(status.UNAVAILABLE);
    expect(error.details).toMatch(/^model 'tiny_mlp' version 1 is not ready: it is (LOADING|UNAVAILABLE)/);
    await loading;
    await expect(predict({ model_name: 'tiny_mlp', inputs: [wire(fp32('input', [1, 4], [1, 2, 3, 4]))] })).resolves.toMatchObject({ model_version: '1' });
  });

  it('loads and unloads single versions', async () => {
    const status1 = await unary<UnloadModelResponse__Output>((cb) => t.admin.UnloadModel({ name: 'mnist_mlp', version: '2' }, cb));
    expect(status1.status?.default_version).toBe('1');
    expect(await check('mnist_mlp')).toBe('SERVING');
    const status2 = await unary<LoadModelResponse__Output>((cb) => t.admin.LoadModel({ name: 'mnist_mlp', version: '2' }, cb));
    expect(status2.status?.default_version).toBe('2');
  });

  it('refuses names that could escape the repository, and unknown versions', async () => {
    for (const name of ['../mnist_mlp', '/etc', 'a/b', '..', '.hidden', 'a\\b', 'nul\u0000byte', 'x'.repeat(129), '', 'C:\\Windows', '%2e%2e']) {
      const error = await failure(unary((cb) => t.admin.LoadModel({ name, version: '' }, cb)));
      expect(error.code, JSON.stringify(name)).toBe(status.INVALID_ARGUMENT);
      const infer = await failure(unary((cb) => t.predictor.Predict({ model_name: name, inputs: [wire(fp32('input', [1, 784], new Float32Array(784)))] }, cb)));
      expect(infer.code, JSON.stringify(name)).toBe(status.INVALID_ARGUMENT);
    }
    for (const version of ['../1', '1/../2', '-1', '1e3', 'x'.repeat(200)]) {
      const error = await failure(unary((cb) => t.admin.LoadModel({ name: 'mnist_mlp', version }, cb)));
      expect(error.code, version).toBe(status.INVALID_ARGUMENT);
    }
    expect(t.server.registry.list().map((m) => m.name)).not.toContain('..');
    const error = await failure(unary((cb) => t.admin.LoadModel({ name: 'mnist_mlp', version: '5' }, cb)));
    expect([error.code, error.details]).toEqual([status.NOT_FOUND, "model 'mnist_mlp' has no version 5 on disk; versions: 1, 2"]);
  });
});

describe('health', () => {
  it('reports the server, each API and each model', async () => {
    expect(await check('')).toBe('SERVING');
    expect(await check('modelserve.v1.Predictor')).toBe('SERVING');
    expect(await check('modelserve.v1.ModelAdmin')).toBe('SERVING');
    expect(await check('inference.GRPCInferenceService')).toBe('SERVING');
    expect(await check('mnist_mlp')).toBe('SERVING');
    expect(await check('bf16')).toBe('NOT_SERVING');
    const error = await failure(check('no_such_service'));
    expect(error.code).toBe(status.NOT_FOUND);
  });
});

describe('SetServingStatus', () => {
  const setServing = (serving: boolean) => unary<{ serving: boolean }>((cb) => t.admin.SetServingStatus({ serving }, cb));
  const ready = () => unary<{ ready: boolean }>((cb) => t.inference.ServerReady({}, cb));

  it('takes the server out of rotation and back, answering requests all the while', async () => {
    expect(await setServing(false)).toEqual({ serving: false });
    for (const service of ['', 'modelserve.v1.Predictor', 'inference.GRPCInferenceService', 'mnist_mlp']) expect(await check(service), service).toBe('NOT_SERVING');
    // Liveness (what a Kubernetes liveness probe asks) stays SERVING: out of rotation is not dead.
    expect(await check('modelserve.v1.Liveness')).toBe('SERVING');
    const unloadedThenLoaded = await unary<LoadModelResponse__Output>((cb) => t.admin.LoadModel({ name: 'tiny_mlp' }, cb));
    expect(unloadedThenLoaded.status!.versions[0]!.state).toBe('VERSION_STATE_READY');
    expect(await check('tiny_mlp')).toBe('NOT_SERVING'); // a model loading meanwhile stays out of rotation
    expect(await ready()).toEqual({ ready: false });
    const response = await unary<PredictResponse__Output>((cb) => t.predictor.Predict({ model_name: 'mnist_mlp', inputs: [wire(fp32('input', [1, 784], new Float32Array(784)))] }, cb));
    expect(response.outputs).toHaveLength(1);

    expect(await setServing(true)).toEqual({ serving: true });
    for (const service of ['', 'modelserve.v1.Predictor', 'mnist_mlp', 'tiny_mlp']) expect(await check(service), service).toBe('SERVING');
    expect(await check('bf16')).toBe('NOT_SERVING');
  });
});
