/** The data that moves between the benchmark's processes and into its reports. */

/** The demo models the benchmark drives. */
export type ModelKey = 'mlp' | 'cnn';

/** What is measured: (a) compute limit, (b) echo, (c) naive, (d) modelserve off, (e) modelserve on. */
export type ConfigKey = 'compute' | 'echo' | 'naive' | 'off' | 'on';

/**
 * What the echo server runs on: `grpc-js` (the transport limit), or `direct`: grpc-js with its
 * unary calls and PredictStream answered on its HTTP/2 streams, the transport modelserve uses.
 */
export type EchoTransport = 'grpc-js' | 'direct';

/** Unary `Predict` calls or `PredictStream` messages. */
export type Method = 'unary' | 'stream';

/** Latency percentiles in milliseconds. */
export interface LatencySummary {
  count: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

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

/** RSS of the server after growing numbers of requests (`--rss`). */
export interface RssResult {
  checkpoints: Array<{ requests: number; rssBytes: number | undefined }>;
  /** RSS at the last checkpoint over RSS at the first. */
  ratio: number | undefined;
}

/** `--sdk`: the client side measured, a bare grpc-js client or @modelserve/client with one of its policies. */
export type SdkPolicy = 'round_robin' | 'weighted_round_robin' | 'least_request' | 'peak_ewma' | 'random';
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
}

/** `--soak`: steady open-loop load in windows. */
export interface SoakResult {
  /** Closed-loop capacity measured first, req/s. */
  capacity: number;
  /** The open-loop rate of every window, req/s. */
  rate: number;
  windowSeconds: number;
  windows: Array<{ index: number; requestsPerSecond: number; p50Ms: number; p99Ms: number; errors: number; rssBytes: number | undefined }>;
  /** p99 of the last window over the first's. */
  p99Drift: number | undefined;
  /** RSS after the last window over RSS after the first. */
  rssGrowth: number | undefined;
  /** Errors and dropped requests over every window. */
  errors: number;
}

/** `--overload`: a compute-heavy MLP at `factor` times its measured capacity, open loop, every call with a deadline. */
export interface OverloadResult {
  factor: number;
  /** Closed-loop capacity measured first (64 in flight), req/s. */
  capacity: number;
  /** The open loop's rate, req/s. */
  offeredRate: number;
  /** OK calls per second over the window. */
  okRate: number;
  seconds: number;
  deadlineMs: number;
  /** The open loop's in-flight cap: due calls beyond it are not sent (`dropped`). */
  maxInFlight: number;
  /** Calls due in the window: every status's count, `dropped` and `unanswered`. */
  calls: number;
  /** By status name (`OK`: answered with outputs): count and latency from the scheduled time. */
  statuses: Record<string, { count: number; latency: LatencySummary }>;
  dropped: number;
  /** Calls still in flight a second past their deadline. */
  unanswered: number;
  /** OK calls answered within the deadline (latency from the scheduled time). */
  okWithinDeadline: number;
  /** How late the load workers sent the calls after their scheduled time: the client's share of every latency above. */
  sendLag: LatencySummary;
  /** The server's own counts over the window (GetModelStatistics): answered with outputs, accepted and then failed. */
  server: { requests: number; failures: number } | undefined;
  /** The server's event-loop delay over the window (GetServerStats), ms. */
  eventLoopDelayMs: { p50: number; p99: number; max: number } | undefined;
  /** `grpc.health.v1.Health/Check` every `intervalMs` during the window, on its own connection, each with `deadlineMs`. */
  health: {
    intervalMs: number;
    deadlineMs: number;
    sent: number;
    serving: number;
    /** Checks not answered SERVING, by the status answered or the gRPC status they failed with. */
    failed: Record<string, number>;
    /** Round trips of every check, answered or not. */
    latency: LatencySummary;
  };
  /** The server process's memory from /proc/<pid>/status (undefined where it cannot be read). */
  rss: {
    /** VmRSS after the model loaded, before any load. */
    idleBytes: number | undefined;
    /** Highest VmRSS sampled every `intervalMs` during the window. */
    peakBytes: number | undefined;
    /** VmHWM at the end: the kernel's high-water mark over the server's life, which sampling cannot miss. */
    hwmBytes: number | undefined;
    boundBytes: number;
    intervalMs: number;
    samples: Array<number | undefined>;
  };
  /** Why the server is gone, when it exited during the run. */
  exitReason: string | undefined;
}
