/** The benchmark's options, their defaults and the `--quick` preset. */
import { availableParallelism } from 'node:os';
import type { ConfigKey, EchoTransport, Method, ModelKey } from './types.js';

/** Everything a run is shaped by; the CLI fills it from flags. */
export interface BenchOptions {
  /** Measured window of each point, ms. */
  durationMs: number;
  /** Warm-up before each point's window, ms (same connections, not counted). */
  warmupMs: number;
  /** Closed loop: requests in flight, unary. */
  concurrency: number[];
  /** Closed loop: requests in flight, PredictStream. */
  streamConcurrency: number[];
  /** PredictStream: streams the in-flight requests are spread over (fewer when fewer are in flight). */
  streams: number;
  /** h2load driver: PredictStream messages per call; 0 for K/S (K in flight on S streams). */
  streamMessages: number;
  /** Open loop: requests per second; when set, replaces the concurrency sweeps. */
  rates: number[];
  /** Open loop: in-flight cap across workers; requests due beyond it are dropped and counted. */
  maxInFlight: number;
  /** Load driver: h2load when installed (auto), else the Node load workers. */
  driver: 'auto' | 'node' | 'h2load';
  /** Load worker processes. */
  workers: number;
  /** HTTP/2 connections per load worker. */
  channels: number;
  /** Per-call deadline, ms. */
  deadlineMs: number;
  models: ModelKey[];
  configs: ConfigKey[];
  /** The echo server's transport (see EchoTransport). */
  echoTransport: EchoTransport;
  methods: Method[];
  /** Compute limit: batch sizes, threads (one session each), window. */
  batchSizes: number[];
  computeThreads: number;
  computeDurationMs: number;
  /** modelserve: sessions per model version (both configurations), max_batch_size, batcher knobs. */
  instances: number | undefined;
  maxBatchSize: number;
  maxQueueDelayUs: number;
  preferredBatchSizes: number[];
  /** Where the JSON and SVG files go. */
  outDir: string;
  /** RSS mode: requests in total and between RSS readings. */
  rss: boolean;
  rssRequests: number;
  rssCheckpoint: number;
  rssConcurrency: number;
  /** `--soak`: steady load instead of the sweep. */
  soak: boolean;
  soakMinutes: number;
  /** Share of the measured capacity to soak at. */
  soakLoad: number;
  soakWindowSeconds: number;
  /** `--overload`: a heavy model at `overloadFactor` × its measured capacity for `overloadSeconds`, each call with `overloadDeadlineMs`. */
  overload: boolean;
  overloadFactor: number;
  overloadSeconds: number;
  overloadDeadlineMs: number;
  /** Connections per load worker in overload mode: many clients, each under grpc.max_concurrent_streams. */
  overloadChannels: number;
  /** The server's peak RSS may exceed its idle RSS by at most this (MiB). */
  overloadRssGrowthMib: number;
  /** SDK mode: @modelserve/client against a bare grpc-js client; requests in flight, rounds. */
  sdk: boolean;
  sdkConcurrency: number;
  sdkRounds: number;
  /** `--many-models`: many tiny models on one server (many-models.ts). */
  manyModels: boolean;
  /** Models in the many-model repository. */
  manyCount: number;
  /** Passed to `modelserve serve` verbatim. */
  manyServerArgs: string[];
  /** The servers' RSS together past which they are stopped, MB. */
  manyRssLimitMb: number;
  /** Rounds of the three traffic windows, and requests in flight in each window. */
  manyRounds: number;
  manyConcurrency: number;
  quick: boolean;
}

/**
 * The RSS growth over idle that `--overload` accepts by default, MiB. With the default limits what
 * the server holds for calls is bounded: at most 256 streams per connection (16 connections here)
 * and 1,024 queued requests per model, of 3 KiB each: under 16 MiB; the rest is V8's and grpc-js's
 * working memory, which the README's overload runs (Operating it, Benchmarks) measure well below this.
 */
export const OVERLOAD_RSS_GROWTH_MIB = 256;

/** The defaults: about 5 minutes on a 2-core machine. */
export function defaultOptions(): BenchOptions {
  const cores = availableParallelism();
  return {
    durationMs: 5000,
    warmupMs: 1000,
    concurrency: [1, 8, 32, 64],
    streamConcurrency: [8, 32, 64],
    streams: 8,
    streamMessages: 0,
    rates: [],
    maxInFlight: 10_000,
    driver: 'auto',
    workers: 2,
    channels: 1,
    deadlineMs: 30_000,
    models: ['mlp', 'cnn'],
    configs: ['compute', 'echo', 'naive', 'off', 'on'],
    echoTransport: 'grpc-js',
    methods: ['unary', 'stream'],
    batchSizes: [1, 8, 32, 64],
    computeThreads: cores,
    computeDurationMs: 2000,
    instances: undefined,
    maxBatchSize: 128,
    maxQueueDelayUs: 0,
    preferredBatchSizes: [],
    outDir: 'bench-results',
    rss: false,
    rssRequests: 1_000_000,
    rssCheckpoint: 100_000,
    rssConcurrency: 64,
    soak: false,
    soakMinutes: 10,
    soakLoad: 0.7,
    soakWindowSeconds: 30,
    overload: false,
    overloadFactor: 10,
    overloadSeconds: 20,
    overloadDeadlineMs: 500,
    overloadChannels: 8,
    overloadRssGrowthMib: OVERLOAD_RSS_GROWTH_MIB,
    sdk: false,
    sdkConcurrency: 32,
    sdkRounds: 20,
    manyModels: false,
    manyCount: 1000,
    manyServerArgs: [],
    manyRssLimitMb: 6000,
    manyRounds: 3,
    manyConcurrency: 64,
    quick: false,
  };
}

/** `--quick`: short windows and only the loads the targets name (about a minute). */
export const quickPreset: Partial<BenchOptions> = {
  durationMs: 1000,
  warmupMs: 500,
  concurrency: [1, 32, 64],
  streamConcurrency: [64],
  computeDurationMs: 500,
};
