/**
 * The compute limit's own process (forked by compute-limit.ts): onnxruntime in-process, one
 * session per worker thread, every thread running batches back to back. No gRPC, no queue: the
 * most samples per second the model gives on this machine at each batch size.
 */
import { Worker } from 'node:worker_threads';
import { mulberry32 } from '@modelserve/model-zoo';
import { exitWithParent } from './children.js';
import type { ComputeThreadInit, ComputeThreadJob, ComputeThreadMessage } from './compute-thread.js';

/** The request compute-limit.ts sends. */
export interface ComputeRequest {
  modelFile: string;
  inputName: string;
  sampleDims: number[];
  batchSizes: number[];
  threads: number;
  warmupMs: number;
  durationMs: number;
}

/** The answers: one per batch size, then done. */
export type ComputeAnswer =
  | { type: 'measured'; batchSize: number; runs: number; histograms: string[] }
  | { type: 'done' }
  | { type: 'failed'; message: string };

function next(worker: Worker): Promise<ComputeThreadMessage> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: ComputeThreadMessage): void => {
      worker.off('error', onError);
      resolve(message);
    };
    const onError = (error: Error): void => {
      worker.off('message', onMessage);
      reject(error);
    };
    worker.once('message', onMessage);
    worker.once('error', onError);
  });
}

async function run(request: ComputeRequest): Promise<void> {
  const init: ComputeThreadInit = { modelFile: request.modelFile, inputName: request.inputName };
  const threads = Array.from({ length: request.threads }, () => new Worker(new URL('./compute-thread.js', import.meta.url), { workerData: init }));
  try {
    await Promise.all(threads.map(next));
    const sampleSize = request.sampleDims.reduce((a, b) => a * b, 1);
    for (const batchSize of request.batchSizes) {
      const random = mulberry32(batchSize);
      const input = Float32Array.from({ length: sampleSize * batchSize }, () => random());
      const job: ComputeThreadJob = {
        input,
        dims: [batchSize, ...request.sampleDims],
        warmupMs: request.warmupMs,
        durationMs: request.durationMs,
      };
      const answers = threads.map(next);
      for (const thread of threads) thread.postMessage(job);
      const measured = await Promise.all(answers);
      let runs = 0;
      const histograms: string[] = [];
      for (const m of measured) {
        if (m.kind !== 'measured') continue;
        runs += m.runs;
        histograms.push(m.histogram);
      }
      process.send?.({ type: 'measured', batchSize, runs, histograms } satisfies ComputeAnswer);
    }
    process.send?.({ type: 'done' } satisfies ComputeAnswer);
  } finally {
    await Promise.all(threads.map((t) => t.terminate()));
  }
}

exitWithParent();
// The parent ends this process once it has the answers.
process.once('message', (request: ComputeRequest) => {
  run(request).catch((error: unknown) => {
    process.send?.({ type: 'failed', message: error instanceof Error ? error.message : String(error) } satisfies ComputeAnswer);
  });
});
