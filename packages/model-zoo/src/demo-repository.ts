import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cnn } from './cnn.js';
import { datatypes } from './datatypes.js';
import type { GeneratedModel } from './generated-model.js';
import { mlp } from './mlp.js';

/** One model in the demo repository. */
export interface DemoModel {
  /** Version directories written. */
  versions: readonly number[];
  /** PRNG seed used for each version's weights (empty for weightless models). */
  seeds: Readonly<Record<number, number>>;
  /** max_batch_size from config.yaml, when the model has one. */
  maxBatchSize?: number;
  /** Exact config.yaml contents; absent means no config.yaml (server defaults apply). */
  configYaml?: string;
}

/** What the demo repository contains, so tests can rebuild reference evaluators. */
export const demoModels = {
  mnist_mlp: {
    versions: [1, 2],
    seeds: { 1: 1, 2: 2 },
    maxBatchSize: 128,
    configYaml:
      '# Both versions serve; requests that name no version get the highest (2).\n' +
      'max_batch_size: 128\n' +
      'version_policy: all\n',
  },
  mnist_cnn: { versions: [1], seeds: { 1: 3 }, maxBatchSize: 64, configYaml: 'max_batch_size: 64\n' },
  tiny_mlp: {
    versions: [1],
    seeds: { 1: 4 },
    maxBatchSize: 8,
    configYaml: '# 4 features in, 3 scores out: small enough to type in a grpcurl call.\nmax_batch_size: 8\n',
  },
  datatypes: { versions: [1], seeds: {} },
} as const satisfies Record<string, DemoModel>;

/** Name of a model in the demo repository. */
export type DemoModelName = keyof typeof demoModels;

/** The `mlp()` behind demo model mnist_mlp at `version`. */
export function demoMlp(version: 1 | 2): GeneratedModel {
  return mlp({ seed: demoModels.mnist_mlp.seeds[version] });
}

/** The `cnn()` behind demo model mnist_cnn version 1. */
export function demoCnn(): GeneratedModel {
  return cnn({ seed: demoModels.mnist_cnn.seeds[1] });
}

/** The `mlp()` behind demo model tiny_mlp version 1: 4 inputs, 8 hidden, 3 outputs. */
export function demoTinyMlp(): GeneratedModel {
  return mlp({ seed: demoModels.tiny_mlp.seeds[1], inputSize: 4, hidden: 8, outputs: 3 });
}

/**
 * Writes the Triton-style demo repository (<dir>/<model>/[config.yaml], <dir>/<model>/<version>/model.onnx).
 * Existing files are overwritten; nothing else in `dir` is touched.
 */
export async function writeDemoRepository(dir: string): Promise<void> {
  const files: Array<[string, Uint8Array | string]> = [
    ['mnist_mlp/config.yaml', demoModels.mnist_mlp.configYaml],
    ['mnist_mlp/1/model.onnx', demoMlp(1).bytes],
    ['mnist_mlp/2/model.onnx', demoMlp(2).bytes],
    ['mnist_cnn/config.yaml', demoModels.mnist_cnn.configYaml],
    ['mnist_cnn/1/model.onnx', demoCnn().bytes],
    ['tiny_mlp/config.yaml', demoModels.tiny_mlp.configYaml],
    ['tiny_mlp/1/model.onnx', demoTinyMlp().bytes],
    ['datatypes/1/model.onnx', datatypes()],
  ];
  for (const [relative, contents] of files) {
    const path = join(dir, relative);
    await mkdir(join(path, '..'), { recursive: true });
    await writeFile(path, contents);
  }
}
