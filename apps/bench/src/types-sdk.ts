/** `--sdk`'s data: the SDK worker's jobs and runs, and the paired rounds and their summary. */
import type { LatencySummary } from './histogram.js';

/** `--sdk`: the client side measured, a bare grpc-js client or @modelserve/client with one of its policies. */
export type SdkPolicy = 'round_robin' | 'weighted_round_robin' | 'least_request' | 'peak_ewma' | 'random';
/** The client an SDK job runs: `grpc` for the bare grpc-js client, else the SDK with that policy. */
export type SdkClientKind = 'grpc' | SdkPolicy;

/** `--sdk`: one measurement of the SDK worker, closed loop against the echo servers. */
export interface SdkJob {
  client: SdkClientKind;
  /** host:port of each echo server. */
  addresses: string[];
  concurrency: number;
  warmupMs: number;
  /** Measured window after the warm-up; 0 counts the warm-up itself (the parent's warm-up pass). */
  durationMs: number;
  deadlineMs: number;
}

/** What the SDK worker measured for one job. */
export interface SdkRun {
  requestsPerSecond: number;
  /** Calls answered with outputs inside the window. */
  completed: number;
  /** Failed calls inside the window, by gRPC status code name. */
  errors: Record<string, number>;
  windowMs: number;
  latency: LatencySummary;
  /** CPU time (user + system) of the client process per answered call in the window, µs: less noisy than req/s on a busy machine. */
  cpuPerCallUs: number | undefined;
  /** Event-loop utilization of the client process in the window (near 1: the client is the bottleneck). */
  eventLoopUtilization: number;
}

/** Messages from the parent to the SDK worker (it is ended with SIGTERM). */
export type ToSdkWorker = { type: 'job'; job: SdkJob };

/** Messages from the SDK worker to the parent. */
export type FromSdkWorker = { type: 'ready' } | { type: 'result'; result: SdkRun } | { type: 'failed'; message: string };

/** `--sdk`: a grpc-js run and an SDK run measured back to back (in either order) in one round. */
export interface SdkPair {
  round: number;
  /** Which of the two ran first (the order alternates between rounds). */
  first: 'grpc' | 'sdk';
  grpc: SdkRun;
  sdk: SdkRun;
}

/** One policy of `--sdk`: medians over the rounds, each round's SDK req/s over its grpc-js pair's req/s. */
export interface SdkPolicySummary {
  policy: SdkPolicy;
  grpcRequestsPerSecond: number | undefined;
  sdkRequestsPerSecond: number | undefined;
  /** Median of the per-round ratios (not the ratio of the medians). */
  ratio: number | undefined;
  ratios: Array<number | undefined>;
  /** Medians of the client's CPU time per answered call, µs, and of the per-round ratio SDK/grpc-js. */
  grpcCpuPerCallUs: number | undefined;
  sdkCpuPerCallUs: number | undefined;
  cpuRatio: number | undefined;
  grpcErrors: number;
  sdkErrors: number;
}

/** `--sdk`: @modelserve/client against a bare grpc-js client (round_robin) on the same load. */
export interface SdkResult {
  servers: number;
  concurrency: number;
  rounds: number;
  warmupMs: number;
  durationMs: number;
  /** 1-minute load average of the machine before and after the rounds (after includes the run's own processes). */
  loadAverage: [number, number];
  /** Per policy, one pair per round. */
  pairs: Partial<Record<SdkPolicy, SdkPair[]>>;
  summary: SdkPolicySummary[];
}
