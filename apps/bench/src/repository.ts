/** The model repositories the benchmark writes for its servers: the demo models, two configurations. */
import { rmSync } from 'node:fs';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BenchModel } from './payloads.js';

/** How modelserve schedules a model in the repository written for it. */
export interface RepositoryConfig {
  /** Gather queued requests into batches (`dynamic_batching` in config.yaml). */
  batching: boolean;
  maxBatchSize: number;
  /** Sessions (worker threads) per model version, the same with and without batching; undefined: modelserve's default. */
  instances: number | undefined;
  maxQueueDelayUs: number;
  preferredBatchSizes: number[];
}

/** The `config.yaml` for `config`. */
export function configYaml(config: RepositoryConfig): string {
  const lines = [`max_batch_size: ${config.maxBatchSize}`];
  if (config.batching) {
    lines.push('dynamic_batching:', `  max_queue_delay_us: ${config.maxQueueDelayUs}`);
    if (config.preferredBatchSizes.length > 0) lines.push(`  preferred_batch_sizes: [${config.preferredBatchSizes.join(', ')}]`);
  }
  // Unset: modelserve's default, fitted to the machine (what a user gets).
  if (config.instances !== undefined) lines.push('instances:', `  count: ${config.instances}`);
  return `${lines.join('\n')}\n`;
}

/** Writes `<dir>/<model>/1/model.onnx` and `<dir>/<model>/config.yaml` for each model. */
export async function writeRepository(dir: string, models: readonly BenchModel[], modelBytes: ReadonlyMap<string, Uint8Array>, config: RepositoryConfig): Promise<void> {
  for (const model of models) {
    const bytes = modelBytes.get(model.name);
    if (bytes === undefined) throw new Error(`no ONNX bytes for ${model.name}`);
    await mkdir(join(dir, model.name, '1'), { recursive: true });
    await writeFile(join(dir, model.name, '1', 'model.onnx'), bytes);
    await writeFile(join(dir, model.name, 'config.yaml'), configYaml(config));
  }
}

/** The ONNX bytes of each model, generated once by @modelserve/model-zoo (the demo repository's generator). */
export function generateModels(models: readonly BenchModel[]): Map<string, Uint8Array> {
  return new Map(models.map((model) => [model.name, model.generated().bytes]));
}

/** A new temporary directory, removed when the benchmark exits (however it exits, short of SIGKILL). */
export async function temporaryDirectory(prefix: string): Promise<{ path: string; remove: () => void }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  const remove = (): void => {
    process.off('exit', remove);
    rmSync(path, { recursive: true, force: true });
  };
  process.on('exit', remove);
  return { path, remove };
}
