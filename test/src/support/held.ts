/**
 * A replica that answers nothing until the test lets it: an in-process server whose tiny_mlp
 * (same signature as the real one) waits on a gate. Where a test needs "the slow one", a held
 * replica makes slowness a fact the test controls instead of a race against the machine's load.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FakeBackend, gate } from '@modelserve/core/testing';
import { put } from './fixtures.js';
import { startTestServer, type TestServer } from './server.js';

/** A server whose tiny_mlp runs start (and are counted) at once and finish only after `release()`. */
export interface HeldReplica {
  readonly address: string;
  readonly server: TestServer;
  /** Runs started: every request that reached the model. */
  runs(): number;
  /** Lets every held run (and every later one) finish. */
  release(): void;
  /** Releases and stops the server. */
  stop(): Promise<void>;
}

/** Starts a held replica on 127.0.0.1:0; 64 instances, so no request waits in its queue. */
export async function startHeldReplica(): Promise<HeldReplica> {
  const root = await mkdtemp(path.join(tmpdir(), 'modelserve-held-'));
  await put(root, 'tiny_mlp/config.yaml', 'instances:\n  count: 64\nwarmup: false\n');
  await put(root, 'tiny_mlp/1/model.onnx', '');
  const held = gate();
  const backend = new FakeBackend(() => ({
    signature: {
      inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 4] }],
      outputs: [{ name: 'output', datatype: 'FP32', shape: [-1, 3] }],
    },
    run: async (inputs) => {
      await held.promise;
      const rows = inputs[0]!.shape[0]!;
      return [{ name: 'output', datatype: 'FP32', shape: [rows, 3], data: new Float32Array(rows * 3) }];
    },
  }));
  const server = await startTestServer({ modelRepository: root, backend });
  return {
    address: server.server.address,
    server,
    runs: () => backend.runs.length,
    release: held.open,
    async stop() {
      held.open();
      await server.close();
      await rm(root, { recursive: true, force: true });
    },
  };
}
