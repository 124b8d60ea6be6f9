import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { bf16Identity, cnn, mlp } from '@modelserve/model-zoo';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OnnxRuntimeBackend } from './backend-onnxruntime.js';
import type { ModelInstance } from './backend.js';

const backend = new OnnxRuntimeBackend();
let dir: string;
let instances: ModelInstance[] = [];

async function start(name: string, bytes: Uint8Array): Promise<ModelInstance> {
  const modelFile = path.join(dir, `${name}.onnx`);
  await writeFile(modelFile, bytes);
  const instance = await backend.createInstance({ label: `model '${name}' version 1`, modelFile, intraOpThreads: 1 });
  instances.push(instance);
  return instance;
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'ort-backend-'));
});
afterAll(async () => {
  await Promise.all(instances.map((i) => i.close()));
  instances = [];
});

describe('onnxruntime backend', () => {
  it("reads the signature from the model, with -1 for symbolic dimensions", async () => {
    const instance = await start('mlp', mlp({ seed: 5 }).bytes);
    expect(instance.signature).toEqual({
      inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 784] }],
      outputs: [{ name: 'output', datatype: 'FP32', shape: [-1, 10] }],
    });
  });

  it('runs on a pool thread and gives the reference outputs', async () => {
    const model = mlp({ seed: 5 });
    const instance = await start('mlp2', model.bytes);
    const x = Float32Array.from({ length: 2 * 784 }, (_, i) => (i % 13) / 13);
    const [y] = await instance.run([{ name: 'input', datatype: 'FP32', shape: [2, 784], data: x }], []);
    expect(y!.shape).toEqual([2, 10]);
    const expected = model.forward(x, 2);
    (y!.data as Float32Array).forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 5));
  });

  it("copies the inputs to the thread and leaves the caller's arrays as they were", async () => {
    const instance = await start('mlp3', mlp({ seed: 5 }).bytes);
    const theirs = new Float32Array(784).fill(0.25);
    await instance.run([{ name: 'input', datatype: 'FP32', shape: [1, 784], data: theirs }], []);
    expect(theirs.byteLength).toBe(784 * 4);
    expect(theirs.every((v) => v === 0.25)).toBe(true);
  });

  it('keeps the event loop turning while a long run is in progress', async () => {
    const instance = await start('cnn', cnn({ seed: 1 }).bytes);
    const batch = 512;
    const input = { name: 'input', datatype: 'FP32' as const, shape: [batch, 1, 28, 28], data: new Float32Array(batch * 784) };
    // A run on this thread would hold the timer for the whole run: it could fire once, after it.
    // On a pool thread the timer keeps firing (fewer times on a loaded machine, but many).
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    const started = performance.now();
    await instance.run([input], []);
    const runMs = performance.now() - started;
    clearInterval(timer);
    expect(runMs).toBeGreaterThan(20);
    expect(ticks).toBeGreaterThanOrEqual(5);
  });

  it('refuses a model onnxruntime cannot load, with its reason', async () => {
    await expect(start('bf16', bf16Identity())).rejects.toMatchObject({
      errorCode: 'FailedPrecondition',
      details: "onnxruntime cannot load model 'bf16' version 1: Unsupported data type: 16",
    });
  });

  it('fails pending and later runs with Unavailable once closed', async () => {
    const instance = await start('closing', mlp({ seed: 6 }).bytes);
    await instance.close();
    await expect(instance.run([{ name: 'input', datatype: 'FP32', shape: [1, 784], data: new Float32Array(784) }], [])).rejects.toMatchObject({
      errorCode: 'Unavailable',
    });
  });

  it('replaces a pool thread that dies, and serves the next run on the new one', async () => {
    const model = cnn({ seed: 2 });
    const instance = await start('cnn-crash', model.bytes);
    const one = Float32Array.from({ length: 784 }, (_, i) => (i % 7) / 7);
    const run = () => instance.run([{ name: 'input', datatype: 'FP32', shape: [1, 1, 28, 28], data: one.slice() }], []);
    await run();
    // The pool thread dies between runs. (Ending it while onnxruntime's native run is in progress
    // aborts the whole process inside onnxruntime-node, so no test can kill it mid-run.)
    const restarts = backend.stats().restarts;
    await backend.pool.killThreadForTesting(backend.threadOf(instance));
    const [y] = await run();
    const expected = model.forward(one, 1);
    (y!.data as Float32Array).forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 4));
    expect(backend.stats().restarts).toBe(restarts + 1);
  });

  it('fails an instance for good, with the reason, when its thread dies and the model no longer loads', async () => {
    const modelFile = path.join(dir, 'broken-later.onnx');
    await writeFile(modelFile, mlp({ seed: 7 }).bytes);
    const reasons: string[] = [];
    let failed!: () => void;
    const failure = new Promise<void>((resolve) => (failed = resolve));
    const label = "model 'broken-later' version 1";
    const onFailed = (reason: string): void => {
      reasons.push(reason);
      failed();
    };
    const instance = await backend.createInstance({ label, modelFile, intraOpThreads: 1, onFailed });
    instances.push(instance);
    const run = () => instance.run([{ name: 'input', datatype: 'FP32', shape: [1, 784], data: new Float32Array(784) }], []);
    await run();
    // The file is broken on disk, then the thread dies: its replacement cannot load the model.
    await writeFile(modelFile, 'not an onnx model');
    const restarts = backend.stats().restarts;
    const thread = backend.threadOf(instance);
    await backend.pool.killThreadForTesting(thread);
    const waiting = run(); // waits for the restart
    await failure;
    expect(reasons).toHaveLength(1);
    expect(reasons[0]).toMatch(new RegExp(`^pool thread ${thread} exited with code 1 between runs and the session could not load again: onnxruntime cannot load model 'broken-later' version 1: .+`));
    const unavailable = { errorCode: 'Unavailable', details: `${label}: ${reasons[0]}` };
    await expect(waiting).rejects.toMatchObject(unavailable);
    await expect(run()).rejects.toMatchObject(unavailable);
    expect(backend.stats().restarts).toBe(restarts + 1);
    await instance.close();
    expect(reasons).toHaveLength(1);
  });
});
