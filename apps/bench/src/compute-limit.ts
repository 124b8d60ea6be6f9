/** Configuration (a), the compute limit: runs compute-main.ts in its own process and collects its answers. */
import { join } from 'node:path';
import { forkChild, stopChild, waitForMessage } from './children.js';
import type { ComputeAnswer, ComputeRequest } from './compute-main.js';
import { summarizeEncoded } from './histogram.js';
import type { BenchModel } from './payloads.js';
import type { ComputeResult } from './types.js';

/** Options of one compute-limit measurement. */
export interface ComputeOptions {
  /** The model repository written for this run (`<repo>/<model>/1/model.onnx`). */
  repository: string;
  batchSizes: number[];
  threads: number;
  warmupMs: number;
  durationMs: number;
  /** Called after each batch size. */
  onMeasured?: (result: ComputeResult) => void;
}

/** Samples per second of `model` at each batch size, onnxruntime in-process with no server. */
export async function measureComputeLimit(model: BenchModel, options: ComputeOptions): Promise<ComputeResult[]> {
  const child = forkChild('./compute-main.js');
  const results: ComputeResult[] = [];
  try {
    const request: ComputeRequest = {
      modelFile: join(options.repository, model.name, '1', 'model.onnx'),
      inputName: model.inputName,
      sampleDims: model.sampleDims,
      batchSizes: options.batchSizes,
      threads: options.threads,
      warmupMs: options.warmupMs,
      durationMs: options.durationMs,
    };
    const perBatch = options.warmupMs + options.durationMs;
    const finished = waitForMessage(
      child,
      (message) => {
        const answer = message as ComputeAnswer;
        if (answer.type === 'failed') throw new Error(`compute limit: ${answer.message}`);
        if (answer.type === 'done') return true;
        const seconds = options.durationMs / 1000;
        const result: ComputeResult = {
          model: model.key,
          batchSize: answer.batchSize,
          threads: options.threads,
          runsPerSecond: answer.runs / seconds,
          samplesPerSecond: (answer.runs * answer.batchSize) / seconds,
          latency: summarizeEncoded(answer.histograms),
        };
        results.push(result);
        options.onMeasured?.(result);
        return undefined;
      },
      30_000 + perBatch * options.batchSizes.length,
    );
    child.send(request);
    await finished;
    return results;
  } finally {
    await stopChild(child);
  }
}
