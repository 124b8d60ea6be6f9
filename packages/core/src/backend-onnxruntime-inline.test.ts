import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { mlp } from '@modelserve/model-zoo';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OnnxRuntimeBackend } from './backend-onnxruntime.js';
import type { NamedTensor } from './tensor.js';

let dir: string;
let modelFile: string;
const model = mlp({ seed: 11 });

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'ort-inline-'));
  modelFile = path.join(dir, 'mlp.onnx');
  await writeFile(modelFile, model.bytes);
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const input = Float32Array.from({ length: 784 }, (_, i) => Math.sin(i));
const request = (): NamedTensor[] => [{ name: 'input', datatype: 'FP32', shape: [1, 784], data: input.slice() }];

function expectReference(outputs: NamedTensor[]): void {
  const expected = model.forward(input, 1);
  const got = outputs[0]!.data as Float32Array;
  expect(outputs[0]!.shape).toEqual([1, 10]);
  for (let i = 0; i < expected.length; i++) expect(Math.abs(got[i]! - expected[i]!)).toBeLessThan(1e-4);
}

describe('inline runs of lone requests', () => {
  it('go inline once the copy of the session has opened, with the same answers as the pool', async () => {
    const backend = new OnnxRuntimeBackend({ threads: 1, inlineMaxUs: 10_000_000, alone: () => true });
    const instance = await backend.createInstance({ label: "model 'mlp' version 1", modelFile, intraOpThreads: 1 });
    try {
      // The first run goes to the pool (it measures the run); later ones open the inline copy in
      // the background and use it once it is open. Bounded: the copy opens in a few runs' time.
      let runs = 0;
      while (backend.inlineRuns === 0 && runs < 5000) {
        expectReference(await instance.run(request(), []));
        runs++;
      }
      expect(backend.inlineRuns).toBe(1);
      expect(runs).toBeGreaterThan(1);
      for (let i = 0; i < 20; i++) expectReference(await instance.run(request(), []));
      expect(backend.inlineRuns).toBe(21);
    } finally {
      await instance.close();
      await backend.close();
    }
  });

  it('leave a lone request to the pool when its size makes it longer than the limit', async () => {
    // Inline runs block the event loop: a batch 256 times the size of the fastest run is expected
    // to take 256 times as long (≥ 1.3 ms for any MLP run of ≥ 5 µs), past a 1 ms limit that batch-1
    // runs (≤ 1 ms here at their fastest) stay within.
    const backend = new OnnxRuntimeBackend({ threads: 1, inlineMaxUs: 1000, alone: () => true });
    const instance = await backend.createInstance({ label: "model 'mlp' version 1", modelFile, intraOpThreads: 1 });
    try {
      for (let runs = 0; backend.inlineRuns === 0 && runs < 5000; runs++) expectReference(await instance.run(request(), []));
      expect(backend.inlineRuns).toBe(1);
      const batch = 256;
      const big = new Float32Array(784 * batch);
      for (let row = 0; row < batch; row++) big.set(input, row * 784);
      const outputs = await instance.run([{ name: 'input', datatype: 'FP32', shape: [batch, 784], data: big }], []);
      expect(outputs[0]!.shape).toEqual([batch, 10]);
      expect(backend.inlineRuns).toBe(1);
      expectReference(await instance.run(request(), []));
      expect(backend.inlineRuns).toBe(2);
    } finally {
      await instance.close();
      await backend.close();
    }
  });

  it('never go inline while another request is in flight, nor past the run-time limit', async () => {
    for (const options of [{ inlineMaxUs: 10_000_000, alone: () => false }, { inlineMaxUs: 0, alone: () => true }]) {
      const backend = new OnnxRuntimeBackend({ threads: 1, ...options });
      const instance = await backend.createInstance({ label: "model 'mlp' version 1", modelFile, intraOpThreads: 1 });
      try {
        for (let i = 0; i < 50; i++) expectReference(await instance.run(request(), []));
        expect(backend.inlineRuns).toBe(0);
      } finally {
        await instance.close();
        await backend.close();
      }
    }
  });
});
