/**
 * The model repository and backend the gRPC conformance suite (test/interop/conformance.py) runs
 * against: a real ONNX identity for round trips, and scripted models whose runs wait until the
 * client releases them, so that a deadline or a cancellation can land while a request is queued or
 * while it runs. onnxruntime cannot hold a run for as long as a test needs, so those are fakes.
 */
import { OnnxRuntimeBackend, type Backend, type ModelSignature, type NamedTensor } from '@modelserve/core';
import { FakeBackend, gate } from '@modelserve/core/testing';
import { identity } from '@modelserve/model-zoo';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { put } from '../support/fixtures.js';

/** Models whose runs wait for a release: `held` on one instance (a second request queues), `held_wide` on 16. */
const heldModels = ['held', 'held_wide'] as const;
type HeldModel = (typeof heldModels)[number];
const scriptedModels: readonly string[] = [...heldModels, 'control', 'expand'];

/**
 * A repository of: `any_rank` (an onnxruntime FP32 identity of any shape), and `held`, `held_wide`,
 * `control` and `expand` (scripted). None sheds by deadline: a request with a deadline waits in its
 * queue (where `held`'s deadline cases need it), and a busy machine, on which runs look slow, cannot
 * make the scheduler refuse part of a long stream; these tests are about the transport.
 */
export async function conformanceRepository(): Promise<string> {
  const root = await mkdtemp(path.join(tmpdir(), 'modelserve-conformance-'));
  const config = (instances: number, warmup = false) => `instances:\n  count: ${instances}\nwarmup: ${warmup}\nshed_by_deadline: false\n`;
  await put(root, 'any_rank/config.yaml', config(1, true));
  await put(root, 'any_rank/1/model.onnx', identity('float32', 'unranked'));
  await put(root, 'held_wide/config.yaml', config(16));
  for (const name of ['held', 'control', 'expand']) await put(root, `${name}/config.yaml`, config(1));
  for (const name of scriptedModels) await put(root, `${name}/1/model.onnx`, '');
  return root;
}

const signature: ModelSignature = {
  inputs: [{ name: 'x', datatype: 'FP32', shape: [-1] }],
  outputs: [{ name: 'y', datatype: 'FP32', shape: [-1] }],
};

/**
 * onnxruntime for the identity, scripted runs for the rest. A run of a held model waits until a
 * `control` request with x = [1] releases every run waiting; any `control` request answers
 * y = [held started, held finished, held_wide started, held_wide finished], so the client can see
 * that a run began (or ended) without guessing from time. `expand` answers x = [n] with n zeros: a
 * small request with an answer as large as a test needs.
 */
export function conformanceBackend(): Backend {
  const onnx = new OnnxRuntimeBackend();
  const started: Record<HeldModel, number> = { held: 0, held_wide: 0 };
  const finished: Record<HeldModel, number> = { held: 0, held_wide: 0 };
  let release = gate();
  const counts = (): NamedTensor[] => [
    { name: 'y', datatype: 'FP32', shape: [4], data: Float32Array.of(started.held, finished.held, started.held_wide, finished.held_wide) },
  ];
  const modelOf = (file: string): string => path.basename(path.dirname(path.dirname(file)));
  const fake = new FakeBackend((file) => {
    const model = modelOf(file);
    if (model === 'control') {
      return {
        signature,
        run: (inputs) => {
          if ((inputs[0]!.data as Float32Array)[0] === 1) {
            release.open();
            release = gate();
          }
          return counts();
        },
      };
    }
    if (model === 'expand') {
      return {
        signature,
        run: (inputs) => {
          const count = (inputs[0]!.data as Float32Array)[0]!;
          return [{ name: 'y', datatype: 'FP32', shape: [count], data: new Float32Array(count) }];
        },
      };
    }
    if (!(heldModels as readonly string[]).includes(model)) return undefined;
    const held = model as HeldModel;
    return {
      signature,
      run: async (inputs) => {
        started[held]++;
        await release.promise;
        finished[held]++;
        return [{ ...inputs[0]!, name: 'y' }];
      },
    };
  });
  const scripted = (file: string): boolean => scriptedModels.includes(modelOf(file));
  return {
    name: 'onnxruntime with scripted models',
    createInstance: (options) => (scripted(options.modelFile) ? fake : onnx).createInstance(options),
  };
}
