import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ModelSignature } from './metadata.js';
import { ModelRegistry } from './registry.js';
import type { NamedTensor } from './tensor.js';
import { FakeBackend, gate, type FakeModel } from './testing/fake-backend.js';

const signature: ModelSignature = {
  inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 2] }],
  outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 2] }],
};

/** A fake model that multiplies its input by its version number. */
function scaler(version: number): FakeModel {
  return {
    signature,
    run: (inputs) => {
      const x = inputs[0]!.data as Float32Array;
      return [{ name: 'y', datatype: 'FP32', shape: inputs[0]!.shape, data: x.map((v) => v * version) }];
    },
  };
}

async function repository(files: Record<string, string>): Promise<string> {
  const root = await mkdtemp(path.join(tmpdir(), 'registry-'));
  for (const [file, text] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(root, file)), { recursive: true });
    await writeFile(path.join(root, file), text);
  }
  return root;
}

const versionOf = (file: string): number => Number(path.basename(path.dirname(file)));
const x = (values: number[]): NamedTensor[] => [{ name: 'x', datatype: 'FP32', shape: [values.length / 2, 2], data: Float32Array.from(values) }];

describe('model registry', () => {
  it('loads the latest version by default and answers with it', async () => {
    const root = await repository({ 'm/1/model.onnx': '', 'm/2/model.onnx': '' });
    const registry = await ModelRegistry.open({ repository: root, backend: new FakeBackend((f) => scaler(versionOf(f))) });
    expect(registry.status('m')).toEqual({
      name: 'm',
      defaultVersion: 2,
      versions: [
        { version: 1, state: 'UNAVAILABLE', reason: 'not selected by version_policy' },
        { version: 2, state: 'READY', reason: '' },
      ],
      routing: { shares: [{ version: 2, percent: 100 }], shadowVersion: undefined, notes: [] },
    });
    const response = await registry.infer({ model: 'm', id: 'r1', inputs: x([1, 2]) });
    expect(response).toMatchObject({ model: 'm', version: 2, id: 'r1' });
    expect([...(response.outputs[0]!.data as Float32Array)]).toEqual([2, 4]);
  });

  it('serves every version with version_policy all, and a configured default version', async () => {
    const root = await repository({
      'm/config.yaml': 'version_policy: all\ndefault_version: 1\n',
      'm/1/model.onnx': '',
      'm/2/model.onnx': '',
    });
    const registry = await ModelRegistry.open({ repository: root, backend: new FakeBackend((f) => scaler(versionOf(f))) });
    expect((await registry.infer({ model: 'm', inputs: x([1, 1]) })).version).toBe(1);
    expect((await registry.infer({ model: 'm', version: '2', inputs: x([1, 1]) })).version).toBe(2);
  });

  it('answers NotFound for an unknown model or version and InvalidArgument for a bad input', async () => {
    const root = await repository({ 'm/1/model.onnx': '' });
    const registry = await ModelRegistry.open({ repository: root, backend: new FakeBackend(() => scaler(1)) });
    await expect(registry.infer({ model: 'nope', inputs: x([1, 1]) })).rejects.toMatchObject({
      errorCode: 'NotFound',
      details: "model 'nope' is not in the repository; models: m",
    });
    await expect(registry.infer({ model: 'm', version: 7, inputs: x([1, 1]) })).rejects.toMatchObject({
      errorCode: 'NotFound',
      details: "model 'm' has no version 7; versions: 1",
    });
    await expect(registry.infer({ model: 'm', inputs: [] })).rejects.toMatchObject({ errorCode: 'InvalidArgument' });
  });

  it('marks a version that fails to load FAILED with the reason, and keeps serving the others', async () => {
    const root = await repository({ 'bad/1/model.onnx': '', 'good/1/model.onnx': '' });
    const backend = new FakeBackend((f) => (f.includes('bad') ? { ...scaler(1), loadError: 'unsupported type bfloat16' } : scaler(1)));
    const registry = await ModelRegistry.open({ repository: root, backend });
    expect(registry.status('bad').versions).toEqual([{ version: 1, state: 'FAILED', reason: 'unsupported type bfloat16' }]);
    await expect(registry.infer({ model: 'bad', inputs: x([1, 1]) })).rejects.toMatchObject({ errorCode: 'Unavailable' });
    await expect(registry.infer({ model: 'good', inputs: x([1, 1]) })).resolves.toMatchObject({ version: 1 });
  });

  it('marks every version FAILED when config.yaml is invalid, naming the field', async () => {
    const root = await repository({ 'm/config.yaml': 'max_batch_size: lots\n', 'm/1/model.onnx': '' });
    const registry = await ModelRegistry.open({ repository: root, backend: new FakeBackend(() => scaler(1)) });
    const [version] = registry.status('m').versions;
    expect(version).toMatchObject({ state: 'FAILED' });
    expect(version!.reason).toMatch(/^m\/config\.yaml: max_batch_size: /);
  });

  it('warns of folders laid out wrongly at start-up and on every reload, and serves the rest', async () => {
    const root = await repository({ 'm/1/model.onnx': '', 'flat/model.onnx': '' });
    const warnings: Array<Record<string, unknown>> = [];
    const logger = { info: () => undefined, error: () => undefined, warn: (fields: object, message: string) => warnings.push({ ...fields, message }) };
    const registry = ModelRegistry.create({ repository: root, backend: new FakeBackend(() => scaler(1)), logger });
    const report = await registry.loadRepository();
    const flat = 'model folder "flat" has model.onnx directly inside; expected <repo>/flat/<version>/model.onnx with a numeric version such as 1';
    expect(report).toEqual({ problems: [{ path: 'flat', model: 'flat', message: flat }], notLoaded: [] });
    expect(warnings).toEqual([{ message: 'model repository layout problem', repository: root, path: 'flat', problem: flat }]);
    expect(registry.list().map((m) => m.name)).toEqual(['m']);
    await mkdir(path.join(root, 'm', 'v2'));
    await writeFile(path.join(root, 'm', 'v2', 'model.onnx'), '');
    await registry.reload();
    expect(warnings.slice(1).map((w) => w['problem'])).toEqual([
      flat,
      'model folder "m" has a version folder "v2" that is not a number (rename it to 2); expected <repo>/m/<version>/model.onnx with a numeric version such as 1',
    ]);
  });

  it('answers Unavailable, not NotFound, for a model the repository has not loaded yet', async () => {
    const root = await repository({ 'm/1/model.onnx': '' });
    const registry = ModelRegistry.create({
      repository: root,
      backend: new FakeBackend(() => scaler(1)),
      logger: { info: () => undefined, warn: () => undefined, error: () => undefined },
    });
    const loading = registry.loadRepository();
    await expect(registry.infer({ model: 'later', inputs: x([1, 1]) })).rejects.toMatchObject({
      errorCode: 'Unavailable',
      details: "model 'later' is not loaded yet: the server is loading the model repository",
    });
    await loading;
    await expect(registry.infer({ model: 'later', inputs: x([1, 1]) })).rejects.toMatchObject({ errorCode: 'NotFound' });
  });

  it('answers Unavailable while a version loads, then serves it', async () => {
    const root = await repository({ 'm/1/model.onnx': '' });
    const registry = await ModelRegistry.open({ repository: root, backend: new FakeBackend(() => ({ ...scaler(1), loadDelayMs: 20 })) });
    await registry.unload('m');
    const states: string[] = [];
    const started = new Promise<void>((resolve) =>
      registry.onChange(() => {
        states.push(registry.status('m').versions[0]!.state);
        resolve();
      }),
    );
    const loading = registry.load('m');
    await started;
    await expect(registry.infer({ model: 'm', version: 1, inputs: x([1, 1]) })).rejects.toMatchObject({
      errorCode: 'Unavailable',
      details: "model 'm' version 1 is not ready: it is LOADING (loading)",
    });
    await loading;
    expect(states).toEqual(['LOADING', 'READY']);
    await expect(registry.infer({ model: 'm', inputs: x([1, 1]) })).resolves.toMatchObject({ version: 1 });
  });

  it('unloads after accepted requests finish, and refuses new ones meanwhile', async () => {
    const root = await repository({ 'm/config.yaml': 'instances: {count: 1}\nwarmup: false\n', 'm/1/model.onnx': '' });
    const held = gate();
    const backend = new FakeBackend(() => ({
      signature,
      run: async (inputs) => {
        await held.promise;
        return [{ ...inputs[0]!, name: 'y' }];
      },
    }));
    const registry = await ModelRegistry.open({ repository: root, backend });
    const accepted = registry.infer({ model: 'm', inputs: x([1, 1]) });
    const unloading = registry.unload('m');
    await new Promise((r) => setImmediate(r));
    expect(registry.status('m').versions[0]!.state).toBe('UNLOADING');
    await expect(registry.infer({ model: 'm', version: 1, inputs: x([1, 1]) })).rejects.toMatchObject({ errorCode: 'Unavailable' });
    held.open();
    await expect(accepted).resolves.toMatchObject({ version: 1 });
    await unloading;
    expect(registry.status('m')).toEqual({
      name: 'm',
      defaultVersion: undefined,
      versions: [{ version: 1, state: 'UNAVAILABLE', reason: 'unloaded' }],
      routing: { shares: [], shadowVersion: undefined, notes: ['no version is ready: requests naming no version get UNAVAILABLE'] },
    });
    expect(backend.closed).toEqual(["model 'm' version 1"]);
  });

  it('loads one named version on request and refuses one not on disk', async () => {
    const root = await repository({ 'm/1/model.onnx': '', 'm/2/model.onnx': '' });
    const registry = await ModelRegistry.open({ repository: root, backend: new FakeBackend((f) => scaler(versionOf(f))) });
    const status = await registry.load('m', '1');
    expect(status.versions.map((v) => v.state)).toEqual(['READY', 'READY']);
    await expect(registry.load('m', '3')).rejects.toMatchObject({ errorCode: 'NotFound', details: "model 'm' has no version 3 on disk; versions: 1, 2" });
    await expect(registry.load('../m')).rejects.toMatchObject({ errorCode: 'InvalidArgument' });
  });

  it('refuses a batched model whose first dimension is fixed', async () => {
    const root = await repository({ 'm/config.yaml': 'max_batch_size: 4\n', 'm/1/model.onnx': '' });
    const fixed: ModelSignature = { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2] }], outputs: signature.outputs };
    const registry = await ModelRegistry.open({ repository: root, backend: new FakeBackend(() => ({ ...scaler(1), signature: fixed })) });
    expect(registry.status('m').versions[0]).toMatchObject({
      state: 'FAILED',
      reason: "model 'm' version 1: max_batch_size 4 needs a variable first dimension on 'x', got [1,2]",
    });
  });

  it('never gives requests to an instance that failed for good while warming up; when every one did, the version is FAILED', async () => {
    const root = await repository({ 'm/config.yaml': 'instances: {count: 2}\n', 'm/1/model.onnx': '', 'n/config.yaml': 'instances: {count: 2}\n', 'n/1/model.onnx': '' });
    let warmed = 0;
    const backend: FakeBackend = new FakeBackend((file) => ({
      ...scaler(1),
      run: (inputs) => {
        // The first warm-up run of m kills instance 0; n's warm-up kills both of its instances.
        const of = (model: string) => backend.instances.filter((i) => i.label.includes(`'${model}'`));
        if (file.includes('/m/') && warmed++ === 0) of('m')[0]!.fail('died warming up');
        if (file.includes('/n/')) for (const i of of('n')) i.fail('died warming up');
        return scaler(1).run(inputs, []);
      },
    }));
    const registry = await ModelRegistry.open({ repository: root, backend });
    expect(registry.status('m').versions).toEqual([{ version: 1, state: 'READY', reason: '' }]);
    const answers = await Promise.allSettled(Array.from({ length: 4 }, () => registry.infer({ model: 'm', inputs: x([1, 1]) })));
    expect(answers.map((a) => a.status)).toEqual(Array(4).fill('fulfilled'));
    expect(registry.status('n').versions).toEqual([{ version: 1, state: 'FAILED', reason: 'every instance failed while warming up: died warming up' }]);
  });
});
