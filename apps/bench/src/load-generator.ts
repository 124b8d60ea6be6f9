/**
 * The parent side of the load: forks the load workers once, splits each measurement point over
 * them, and merges their counts and histograms. Several processes keep the client from being the
 * bottleneck (one Node client saturates a core before a grpc-js server does).
 */
import type { ChildProcess } from 'node:child_process';
import { forkChild, stopChild, waitForMessage } from './children.js';
import { mergeCounts, summarizeByName, summarizeEncoded, type LatencySummary } from './histogram.js';
import type { FromLoadWorker, LoadJob, Method, WorkerResult } from './types.js';

/** One measurement as the parent asks for it. */
export interface LoadSpec {
  address: string;
  method: Method;
  payloads: string[];
  /** Closed loop: requests in flight in total. */
  concurrency: number;
  /** Stream method: streams in total (at most `concurrency` in the closed loop). */
  streams: number;
  /** Open loop: requests per second in total; 0 for the closed loop. */
  rate: number;
  warmupMs: number;
  durationMs: number;
  /** Answered requests to stop after (0: timed window). */
  requests?: number;
  deadlineMs?: number;
  /** Open loop: in-flight cap in total. */
  maxInFlight?: number;
  /** Connections per worker. */
  channels?: number;
  /** h2load driver, stream method: messages per PredictStream call (default: concurrency / streams). */
  messagesPerStream?: number;
  /** Node driver: count the answers that arrive after the window while draining too (default false). */
  countDrained?: boolean;
}

/** The merged outcome of a measurement. */
export interface LoadOutcome {
  completed: number;
  requestsPerSecond: number;
  latency: LatencySummary;
  errors: Record<string, number>;
  /** Latencies of the failed requests by status name (empty with h2load, which does not time failures). */
  errorLatency: Record<string, LatencySummary>;
  dropped: number;
  /** Node driver: requests still in flight when the drain gave up. */
  unanswered?: number;
  /** Node driver: requests answered with outputs within the deadline (latency from the scheduled time in the open loop). */
  withinDeadline?: number;
  /** Node driver, open loop: how late requests left after their scheduled time, which every latency above includes. */
  sendLag?: LatencySummary;
  /**
   * h2load's stream method: requests are messages (each stream carries `messagesPerStream`) and
   * `latency` is empty (h2load cannot time messages); `perStream` is the time of whole streams.
   */
  messagesPerStream?: number;
  perStream?: LatencySummary;
}

/** What drives the load: the Node load workers or h2load. */
export interface LoadDriver {
  /** Runs one measurement; `onProgress` gets the requests answered so far, when the driver knows. */
  run(spec: LoadSpec, onProgress?: (completed: number) => void): Promise<LoadOutcome>;
  close(): Promise<void>;
}

/** `total` split into `parts` near-equal integers, larger ones first. */
export function split(total: number, parts: number): number[] {
  return Array.from({ length: parts }, (_, i) => Math.floor(total / parts) + (i < total % parts ? 1 : 0));
}

/** The jobs of each worker for `spec` (workers with nothing to do get none). */
export function planJobs(spec: LoadSpec, workers: number): LoadJob[] {
  const base = {
    address: spec.address,
    method: spec.method,
    payloads: spec.payloads,
    rate: 0,
    maxInFlight: 0,
    warmupMs: spec.warmupMs,
    durationMs: spec.durationMs,
    requests: 0,
    deadlineMs: spec.deadlineMs ?? 30_000,
    channels: spec.channels ?? 1,
    countDrained: spec.countDrained ?? false,
  };
  if (spec.rate > 0) {
    const streams = split(Math.max(spec.streams, workers), workers);
    const inFlight = split(spec.maxInFlight ?? 10_000, workers);
    return split(spec.rate * 1000, workers).map((milli, i) => ({
      ...base,
      concurrency: 0,
      streams: Array.from({ length: streams[i]! }, () => 0),
      rate: milli / 1000,
      maxInFlight: Math.max(1, inFlight[i]!),
    }));
  }
  let jobs: LoadJob[];
  if (spec.method === 'unary') {
    jobs = split(spec.concurrency, workers).map((concurrency) => ({ ...base, concurrency, streams: [] }));
  } else {
    // Requests spread evenly over the streams, the streams dealt round-robin to the workers.
    const perStream = split(spec.concurrency, Math.max(1, Math.min(spec.streams, spec.concurrency)));
    jobs = Array.from({ length: workers }, (_, w) => ({ ...base, concurrency: 0, streams: perStream.filter((_, s) => s % workers === w) }));
  }
  jobs = jobs.filter((job) => job.concurrency > 0 || job.streams.length > 0);
  if (spec.requests !== undefined && spec.requests > 0) {
    const shares = split(spec.requests, jobs.length);
    jobs = jobs.map((job, i) => ({ ...job, requests: Math.max(1, shares[i]!) }));
  }
  return jobs;
}

/** Merges the workers' results of one measurement. */
export function mergeResults(results: readonly WorkerResult[]): LoadOutcome {
  const completed = results.reduce((sum, r) => sum + r.completed, 0);
  const windowMs = Math.max(1, ...results.map((r) => r.windowMs));
  return {
    completed,
    requestsPerSecond: completed / (windowMs / 1000),
    latency: summarizeEncoded(results.map((r) => r.histogram)),
    errors: mergeCounts(results.map((r) => r.errors)),
    errorLatency: summarizeByName(results.map((r) => r.errorHistograms)),
    dropped: results.reduce((sum, r) => sum + r.dropped, 0),
    unanswered: results.reduce((sum, r) => sum + r.unanswered, 0),
    withinDeadline: results.reduce((sum, r) => sum + r.withinDeadline, 0),
    sendLag: summarizeEncoded(results.map((r) => r.sendLag)),
  };
}

/** A set of load worker processes. */
export class LoadGenerator implements LoadDriver {
  private constructor(private readonly workers: ChildProcess[]) {}

  /** Forks `count` load workers and waits until each is ready. */
  static async start(count: number): Promise<LoadGenerator> {
    const workers = Array.from({ length: count }, () => forkChild('./load-worker.js'));
    await Promise.all(workers.map((w) => waitForMessage(w, (m) => ((m as FromLoadWorker).type === 'ready' ? true : undefined))));
    return new LoadGenerator(workers);
  }

  /** Runs one measurement; `onProgress` gets the requests answered so far (about twice a second). */
  async run(spec: LoadSpec, onProgress?: (completed: number) => void): Promise<LoadOutcome> {
    const jobs = planJobs(spec, this.workers.length);
    const progress = new Array<number>(jobs.length).fill(0);
    const results = await Promise.all(
      jobs.map((job, i) => {
        const worker = this.workers[i]!;
        const onMessage = (m: FromLoadWorker): void => {
          if (m.type !== 'progress') return;
          progress[i] = m.completed;
          onProgress?.(progress.reduce((a, b) => a + b, 0));
        };
        worker.on('message', onMessage);
        const answer = waitForMessage(worker, (message) => {
          const m = message as FromLoadWorker;
          if (m.type === 'result') return m.result;
          if (m.type === 'failed') throw new Error(`load worker failed: ${m.message}`);
          return undefined;
        }, spec.requests ? 24 * 3600_000 : spec.warmupMs + spec.durationMs + 60_000);
        worker.send({ type: 'job', job });
        return answer.finally(() => worker.off('message', onMessage));
      }),
    );
    return mergeResults(results);
  }

  /** Ends the workers. */
  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => stopChild(w)));
  }
}
