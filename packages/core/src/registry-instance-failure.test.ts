import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { mlp } from '@modelserve/model-zoo';
import { describe, expect, it } from 'vitest';
import type { Backend, InstanceOptions, ModelInstance } from './backend.js';
import { OnnxRuntimeBackend } from './backend-onnxruntime.js';
import type { Logger } from './logger.js';
import { ModelRegistry } from './registry.js';
import type { NamedTensor } from './tensor.js';

/** The real onnxruntime backend on two pool threads, keeping every instance it creates so a test can end their threads. */
class RecordingBackend implements Backend {
  readonly name = 'onnxruntime';
  readonly instances: ModelInstance[] = [];
  readonly real = new OnnxRuntimeBackend({ threads: 2 });

  async createInstance(options: InstanceOptions): Promise<ModelInstance> {
    const instance = await this.real.createInstance(options);
    this.instances.push(instance);
    return instance;
  }
}

/** Ends the pool thread an instance lives on, as a crash would (between runs: see backend-onnxruntime.test.ts). */
const killThread = (backend: RecordingBackend, instance: ModelInstance) => backend.real.pool.killThreadForTesting(backend.real.threadOf(instance));

/** A logger that lets a test wait for a message. */
function recordingLogger() {
  const lines: Array<{ fields: object; message: string }> = [];
  const waiters: Array<{ message: string; resolve(fields: object): void }> = [];
  const log = (fields: object, message: string): void => {
    lines.push({ fields, message });
    for (const w of waiters.filter((w) => w.message === message)) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve(fields);
    }
  };
  const logger: Logger = { info: log, warn: log, error: log };
  const next = (message: string) => new Promise<object>((resolve) => waiters.push({ message, resolve }));
  return { logger, lines, next };
}

const input = (): NamedTensor[] => [{ name: 'input', datatype: 'FP32', shape: [1, 784], data: new Float32Array(784).fill(0.5) }];

describe('a version whose pool threads die and cannot load it again', () => {
  it('serves on its other instances while one is left, then moves to FAILED with the reason, and loads again once the file is back', async () => {
    const model = mlp({ seed: 11 });
    const root = await mkdtemp(path.join(tmpdir(), 'registry-failure-'));
    const modelFile = path.join(root, 'm', '1', 'model.onnx');
    await mkdir(path.dirname(modelFile), { recursive: true });
    await writeFile(path.join(root, 'm', 'config.yaml'), 'instances: {count: 2, intra_op_threads: 1}\nwarmup: false\n');
    await writeFile(modelFile, model.bytes);
    const backend = new RecordingBackend();
    const { logger, next } = recordingLogger();
    const registry = await ModelRegistry.open({ repository: root, backend, logger });
    try {
      const states: string[] = [];
      registry.onChange(() => states.push(registry.status('m').versions[0]!.state));
      expect(backend.instances).toHaveLength(2);
      const [first, second] = backend.instances as [ModelInstance, ModelInstance];
      await expect(registry.infer({ model: 'm', inputs: input() })).resolves.toMatchObject({ version: 1 });

      // The model file is removed, then one instance's thread dies (the two are on different threads): its replacement cannot load the model.
      await rm(modelFile);
      const oneFailed = next('model instance failed; the others keep serving');
      await killThread(backend, first);
      expect(await oneFailed).toMatchObject({ model: 'm', version: 1, instancesLeft: 1 });
      // Still READY (no change event): every request goes to the instance left, none to the dead one.
      expect(backend.real.threadOf(first)).not.toBe(backend.real.threadOf(second));
      expect(states).toEqual([]);
      expect(registry.isReady('m')).toBe(true);
      const answers = await Promise.allSettled(Array.from({ length: 8 }, () => registry.infer({ model: 'm', inputs: input() })));
      expect(answers.map((a) => a.status)).toEqual(Array(8).fill('fulfilled'));

      // The other thread dies too: the version is FAILED with the reason, and readiness follows.
      const failed = new Promise<void>((resolve) => registry.onChange(() => registry.status('m').versions[0]!.state === 'FAILED' && resolve()));
      await killThread(backend, second);
      await failed;
      expect(states).toEqual(['FAILED']);
      const [status] = registry.status('m').versions;
      expect(status!.reason).toMatch(/^its last instance failed: pool thread \d exited with code 1 between runs and the session could not load again: onnxruntime cannot load model 'm' version 1: .+/);
      expect(registry.isReady('m')).toBe(false);
      await expect(registry.infer({ model: 'm', version: 1, inputs: input() })).rejects.toMatchObject({
        errorCode: 'Unavailable',
        details: `model 'm' version 1 is not ready: it is FAILED (${status!.reason})`,
      });

      // With the file back, loading the model again serves it.
      await writeFile(modelFile, model.bytes);
      await registry.load('m');
      expect(states).toEqual(['FAILED', 'LOADING', 'READY']);
      await expect(registry.infer({ model: 'm', inputs: input() })).resolves.toMatchObject({ version: 1 });
    } finally {
      await registry.close();
    }
    // Real sessions load three times over: slow on a busy machine, and nothing here depends on how slow.
  }, 60_000);
});
