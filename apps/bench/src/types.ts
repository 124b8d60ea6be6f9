/**
 * The data that moves between the benchmark's processes and into its reports: the sweep's here,
 * `--sdk`'s in types-sdk.ts, `--rss`, `--soak` and `--overload`'s in types-stress.ts, `--many-models`' in types-many.ts.
 */
import type { LatencySummary } from './histogram.js';
import type { ManyModelsResult } from './types-many.js';
import type { SdkResult } from './types-sdk.js';
import type { OverloadResult, RssResult, SoakResult } from './types-stress.js';

/** The demo models the benchmark drives. */
export type ModelKey = 'mlp' | 'cnn';

/** What is measured: (a) compute limit, (b) echo, (c) naive, (d) modelserve off, (e) modelserve on. */
export type ConfigKey = 'compute' | 'echo' | 'naive' | 'off' | 'on';

/**
 * What the echo server runs on: `grpc-js` (the transport limit the targets judge against), or `direct`: grpc-js with its
 * unary calls and PredictStream answered on its HTTP/2 streams, the transport modelserve uses.
 */
export type EchoTransport = 'grpc-js' | 'direct';

/** Unary `Predict` calls or `PredictStream` messages. */
export type Method = 'unary' | 'stream';

/** One load worker's share of a measurement point. */
export interface LoadJob {
  address: string;
  method: Method;
  /** Encoded `PredictRequest`s (base64, without `id`), sent in turn. */
  payloads: string[];
  /** Closed loop: calls in flight (unary). */
  concurrency: number;
  /** Closed loop, stream: requests in flight on each of this worker's streams. */
  streams: number[];
  /** Open loop: requests per second from this worker; 0 for the closed loop. */
  rate: number;
  /** Open loop: in-flight cap beyond which due requests are dropped (and counted). */
  maxInFlight: number;
  warmupMs: number;
  /** Measured window; ignored when `requests` is set. */
  durationMs: number;
  /** Stop after this many answered requests (no warm-up), e.g. the RSS mode; 0 for a timed window. */
  requests: number;
  /** Per-call deadline. */
  deadlineMs: number;
  /** Separate HTTP/2 connections this worker opens to the server. */
  channels: number;
  /** Count the answers that arrive after the window while draining too (`--overload`: every call sent is accounted for). */
  countDrained: boolean;
}

/** What a load worker measured for one job. */
export interface WorkerResult {
  /** Requests answered with outputs inside the window. */
  completed: number;
  /** Failed requests inside the window, by gRPC status code name. */
  errors: Record<string, number>;
  /** Open loop: due requests not sent because of the in-flight cap. */
  dropped: number;
  /** Requests still in flight when the drain gave up. */
  unanswered: number;
  /** Requests answered with outputs within the job's deadline (latency from the scheduled time in the open loop). */
  withinDeadline: number;
  /** Length of the measured window. */
  windowMs: number;
  /** HDR histogram of latencies in microseconds, compressed base64. */
  histogram: string;
  /** The failed requests' latencies by status name, encoded like `histogram`. */
  errorHistograms: Record<string, string>;
  /** Open loop: how late requests left after their scheduled time, encoded like `histogram`. */
  sendLag: string;
}

/** Messages from the parent to a load worker (it is ended with SIGTERM). */
export type ToLoadWorker = { type: 'job'; job: LoadJob };

/** Messages from a load worker to the parent. */
export type FromLoadWorker =
  | { type: 'ready' }
  | { type: 'progress'; completed: number }
  | { type: 'result'; result: WorkerResult }
  | { type: 'failed'; message: string };

/** The server's own view of a measurement window (modelserve only; undefined fields were not answered). */
export interface ServerHealth {
  eventLoopDelayP50Ms?: number;
  eventLoopDelayP99Ms?: number;
  eventLoopDelayMaxMs?: number;
  rssBytes?: number;
  /** Round trip of a `grpc.health.v1.Health/Check` during the window. */
  healthCheckMs?: number;
  healthStatus?: string;
}

/** One point of the sweep: a configuration, a model, a method and a load. */
export interface PointSpec {
  config: Exclude<ConfigKey, 'compute'>;
  model: ModelKey;
  method: Method;
  /** Requests in flight (closed loop); 0 in the open loop. */
  concurrency: number;
  /** Streams the in-flight requests are spread over (stream method). */
  streams: number;
  /** Requests per second (open loop); 0 in the closed loop. */
  rate: number;
}

/** A measured point. */
export interface PointResult extends PointSpec {
  requestsPerSecond: number;
  /** Samples per second: each request carries one sample (batch 1). */
  samplesPerSecond: number;
  latency: LatencySummary;
  errors: Record<string, number>;
  dropped: number;
  /** Samples per model run during the point, from `GetModelStatistics` (modelserve only). */
  meanBatchSize?: number;
  server?: ServerHealth;
  /** h2load stream points: messages per PredictStream call, and the time of whole calls (`latency` is empty). */
  messagesPerStream?: number;
  perStream?: LatencySummary;
  /** h2load on modelserve: requests and failures the server counted from the end of the warm-up to the end (GetModelStatistics). */
  serverRequests?: number;
  serverFailures?: number;
}

/** Which load driver measured the points, and why. */
export interface DriverInfo {
  name: 'node' | 'h2load';
  /** h2load's path and version. */
  binary?: string;
  version?: string;
  /** Why this driver (the default, asked for, or a fallback). */
  note: string;
}

/** The compute limit at one batch size: onnxruntime in-process, one session per worker thread. */
export interface ComputeResult {
  model: ModelKey;
  batchSize: number;
  threads: number;
  runsPerSecond: number;
  samplesPerSecond: number;
  /** Latency of one run. */
  latency: LatencySummary;
}

/** Why a configuration produced no points. */
export interface ConfigProblem {
  config: ConfigKey;
  model?: ModelKey;
  message: string;
}

/** Everything one run measured, as written to the JSON file. */
export interface BenchResults {
  startedAt: string;
  durationSeconds: number;
  machine: Record<string, string | number>;
  options: Record<string, unknown>;
  compute: ComputeResult[];
  points: PointResult[];
  problems: ConfigProblem[];
  /** The load driver of the points (absent in files written before there was a choice). */
  driver?: DriverInfo;
  rss?: RssResult;
  sdk?: SdkResult;
  soak?: SoakResult;
  overload?: OverloadResult;
  manyModels?: ManyModelsResult;
}
