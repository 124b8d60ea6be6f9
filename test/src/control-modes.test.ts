/**
 * Model control modes through the real server: on-demand loads a model on its first call over the
 * Open Inference Protocol and unloads the least recently used past --max-loaded-models; explicit
 * loads what RepositoryModelLoad asks for; `modelserve serve` refuses --load-model without a mode
 * that uses it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { status } from '@grpc/grpc-js';
import { tinyModel, writeManyModelRepository } from '@modelserve/model-zoo';
import { decodeRawTensorData, encodeRawTensorData, type oip } from '@modelserve/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnServe } from './support/cli.js';
import { failure, healthClient, startTestServer, unary, type HealthClient, type TestServer } from './support/server.js';

let root: string;
let names: string[];
beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'modelserve-control-modes-'));
  names = await writeManyModelRepository(root, 3);
});
afterAll(() => rm(root, { recursive: true, force: true }));

/** ModelInfer of tiny model `index` (raw contents), checked against its reference. */
async function inferChecked(t: TestServer, index: number): Promise<void> {
  const model = tinyModel(index);
  const input = Float32Array.from({ length: model.inputSize }, (_, i) => Math.cos(index + i));
  const tensor = { name: 'input', datatype: 'FP32' as const, shape: [1, model.inputSize], data: input };
  const response = await unary<oip.ModelInferResponse__Output>((cb) =>
    t.inference.ModelInfer({ model_name: names[index], inputs: [{ name: 'input', datatype: 'FP32', shape: [1, model.inputSize] }], raw_input_contents: [encodeRawTensorData(tensor)] }, cb),
  );
  const out = decodeRawTensorData('FP32', response.outputs[0]!.shape.map(Number), model.outputSize, response.raw_output_contents[0]!, 'output');
  const expected = model.forward(input, 1);
  expect(out.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) expect(Math.abs(Number(out[i]) - expected[i]!)).toBeLessThan(1e-4);
}

const states = async (t: TestServer) => {
  const index = await unary<oip.RepositoryIndexResponse__Output>((cb) => t.inference.RepositoryIndex({}, cb));
  return Object.fromEntries(index.models.map((m) => [m.name, m.state]));
};

describe('--model-control-mode on-demand', () => {
  let t: TestServer;
  let health: HealthClient;
  beforeAll(async () => {
    t = await startTestServer({ modelRepository: root, modelControlMode: 'on-demand', maxLoadedModels: 1 });
    health = healthClient(t.server.address);
  });
  afterAll(async () => {
    health.close();
    await t.close();
  });

  it('serves every model on its first call with --max-loaded-models 1, and reports one not loaded SERVING to health', async () => {
    expect(await states(t)).toEqual({ [names[0]!]: 'UNAVAILABLE', [names[1]!]: 'UNAVAILABLE', [names[2]!]: 'UNAVAILABLE' });
    const check = async (service: string) => (await unary<{ status: string }>((cb) => health.Check({ service }, cb))).status;
    expect(await check(names[2]!)).toBe('SERVING');
    for (const index of [0, 1, 2, 0]) {
      await inferChecked(t, index);
      const now = await states(t);
      expect(now[names[index]!]).toBe('READY');
    }
    // ModelReady is Triton's: loaded, not loadable.
    const ready = await unary<{ ready: boolean }>((cb) => t.inference.ModelReady({ name: names[2] }, cb));
    expect(ready.ready).toBe(false);
  });
});

describe('--model-control-mode explicit', () => {
  it('loads only what --load-model and RepositoryModelLoad ask for; other models are UNAVAILABLE, not loaded', async () => {
    const t = await startTestServer({ modelRepository: root, modelControlMode: 'explicit', loadModels: [names[1]!] });
    try {
      expect(await states(t)).toEqual({ [names[0]!]: 'UNAVAILABLE', [names[1]!]: 'READY', [names[2]!]: 'UNAVAILABLE' });
      await inferChecked(t, 1);
      const refused = await failure(inferChecked(t, 0));
      expect(refused.code).toBe(status.UNAVAILABLE);
      await unary((cb) => t.inference.RepositoryModelLoad({ model_name: names[0] }, cb));
      await inferChecked(t, 0);
    } finally {
      await t.close();
    }
  });
});

describe('modelserve serve', () => {
  it('refuses --load-model with --model-control-mode none, naming both', async () => {
    const serve = spawnServe(['--port', '0', '--host', '127.0.0.1', '--model-repository', root, '--load-model', names[0]!]);
    expect({ code: await serve.exited, stderr: serve.stderr }).toEqual({
      code: 1,
      stderr: ['modelserve: --load-model needs --model-control-mode explicit or on-demand (with none every model loads at start), got --model-control-mode none'],
    });
  });
});
