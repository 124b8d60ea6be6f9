/**
 * One worker thread of the compute limit: one onnxruntime session (intraOpNumThreads 1) running
 * the same batch back to back, as a modelserve instance would with a full queue.
 */
import { performance } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';
import ort from 'onnxruntime-node';
import { encodeHistogram, newHistogram } from './histogram.js';

/** What the thread is created with. */
export interface ComputeThreadInit {
  modelFile: string;
  inputName: string;
}

/** One measurement: run `input` ([batch, ...dims]) for a warm-up, then count runs in the window. */
export interface ComputeThreadJob {
  input: Float32Array;
  dims: number[];
  warmupMs: number;
  durationMs: number;
}

/** What the thread answers. */
export type ComputeThreadMessage = { kind: 'loaded' } | { kind: 'measured'; runs: number; histogram: string };

const port = parentPort;
if (port === null) throw new Error('compute-thread must run in a worker thread');
const init = workerData as ComputeThreadInit;

async function measure(session: ort.InferenceSession, job: ComputeThreadJob): Promise<void> {
  const feeds = { [init.inputName]: new ort.Tensor('float32', job.input, job.dims) };
  const histogram = newHistogram();
  const origin = performance.now();
  const start = origin + job.warmupMs;
  const end = start + job.durationMs;
  let runs = 0;
  for (;;) {
    const before = performance.now();
    if (before >= end) break;
    await session.run(feeds);
    const after = performance.now();
    if (before >= start) {
      runs++;
      histogram.recordValue(Math.max(1, Math.round((after - before) * 1000)));
    }
  }
  port!.postMessage({ kind: 'measured', runs, histogram: encodeHistogram(histogram) } satisfies ComputeThreadMessage);
  histogram.destroy();
}

async function main(): Promise<void> {
  const session = await ort.InferenceSession.create(init.modelFile, {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    logSeverityLevel: 3,
  });
  port!.on('message', (job: ComputeThreadJob) => {
    void measure(session, job);
  });
  port!.postMessage({ kind: 'loaded' } satisfies ComputeThreadMessage);
}

void main();
