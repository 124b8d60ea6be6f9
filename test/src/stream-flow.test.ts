import { FakeBackend, gate } from '@modelserve/core/testing';
import type { NamedTensor } from '@modelserve/core';
import { afterEach, describe, expect, it } from 'vitest';
import { put } from './support/fixtures.js';
import { startTestServer, type TestServer } from './support/server.js';
import { collect, eventually } from './support/stream.js';
import { fp32, wire } from './support/tensors.js';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

// Flow control and cancellation are about what reaches the backend, so a scripted backend whose
// runs wait on a gate shows exactly which requests the server accepted and started.
async function gatedServer(maxInflightPerStream: number) {
  const root = await mkdtemp(path.join(tmpdir(), 'stream-flow-'));
  await put(root, 'slow/config.yaml', 'instances:\n  count: 64\n');
  await put(root, 'slow/1/model.onnx', '');
  await put(root, 'single/1/model.onnx', '');
  const held = gate();
  const backend = new FakeBackend(() => ({
    signature: { inputs: [{ name: 'x', datatype: 'FP32', shape: [-1] }], outputs: [{ name: 'y', datatype: 'FP32', shape: [-1] }] },
    run: async (inputs: NamedTensor[]) => {
      await held.promise;
      return [{ ...inputs[0]!, name: 'y' }];
    },
  }));
  const server = await startTestServer({ modelRepository: root, backend, maxInflightPerStream });
  return { server, backend, release: held.open };
}

const x = (id: string, model = 'slow') => ({ id, model_name: model, inputs: [wire(fp32('x', [1], [1]))] });

let current: TestServer | undefined;
afterEach(async () => {
  await current?.close();
  current = undefined;
});

describe('PredictStream flow control', () => {
  it('stops reading at maxInflightPerStream requests in flight, and resumes as they finish', async () => {
    const { server, backend, release } = await gatedServer(8);
    current = server;
    const call = server.predictor.PredictStream();
    const done = collect(call);
    for (let i = 0; i < 50; i++) call.write(x(String(i)));
    call.end();
    await eventually(() => backend.runs.length === 8);
    await new Promise((r) => setTimeout(r, 100));
    expect(backend.runs.length).toBe(8);
    release();
    const { responses, error } = await done;
    expect(error).toBeUndefined();
    expect(new Set(responses.map((r) => r.id)).size).toBe(50);
  });

  it('drops queued work when the client cancels', async () => {
    const { server, backend, release } = await gatedServer(64);
    current = server;
    const call = server.predictor.PredictStream();
    const done = collect(call);
    // `single` has one instance: the first request runs (held at the gate), the rest wait in its queue.
    for (let i = 0; i < 10; i++) call.write(x(String(i), 'single'));
    await eventually(() => backend.runs.length === 1);
    await new Promise((r) => setTimeout(r, 50));
    call.cancel();
    const { error } = await done;
    expect(error?.message).toMatch(/Cancelled/);
    // The client sees its own cancel at once; give the server's RST_STREAM time to arrive.
    await new Promise((r) => setTimeout(r, 200));
    release();
    await new Promise((r) => setTimeout(r, 100));
    expect(backend.runs.length).toBe(1);
  });
});
