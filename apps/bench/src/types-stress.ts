/** The data of `--rss`, `--soak` and `--overload`: the server over many requests, over time, and past its capacity. */
import type { LatencySummary } from './histogram.js';

/** RSS of the server after growing numbers of requests (`--rss`). */
export interface RssResult {
  checkpoints: Array<{ requests: number; rssBytes: number | undefined }>;
  /** RSS at the last checkpoint over RSS at the first. */
  ratio: number | undefined;
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
