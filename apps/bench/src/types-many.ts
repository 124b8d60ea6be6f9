/** `--many-models`'s data: two servers (one model, many models), their memory, and the paired traffic rounds. */

/** One served repository, from spawn until its versions settled, and its memory then. */
export interface ManyModelsServer {
  /** Models in the repository (one version each). */
  models: number;
  /** Seconds from spawning the server until every version was READY or FAILED; undefined if that never happened. */
  readySeconds: number | undefined;
  /** Versions READY and FAILED at the last ListModels poll (the end of the wait, or when the run stopped). */
  ready: number;
  failed: number;
  /** Every version READY. */
  allReady: boolean;
  /** The server process's VmRSS and thread count (/proc/<pid>/status) a second after the versions settled. */
  rssBytes: number | undefined;
  threads: number | undefined;
}

/** Where a traffic window's load goes: the one-model server, the many-model server's first model, or an even spread over many of its models. */
export type ManyModelsLoad = 'alone' | 'hot' | 'spread';

/** One closed-loop window. */
export interface ManyModelsWindow {
  requestsPerSecond: number;
  completed: number;
  /** Failed calls in the window, every status. */
  errors: number;
  p50Ms: number;
  p99Ms: number;
}

/** A round: each load once, back to back, in `order`; ratios against this round's `alone`. */
export interface ManyModelsRound {
  round: number;
  order: ManyModelsLoad[];
  windows: Record<ManyModelsLoad, ManyModelsWindow>;
  /** spread req/s over alone req/s. */
  spreadRatio: number | undefined;
  /** hot req/s over alone req/s. */
  hotRatio: number | undefined;
}

/** A ratio over the rounds: median and range. */
export interface RatioSummary {
  median: number | undefined;
  min: number | undefined;
  max: number | undefined;
}

/** Everything `--many-models` measured. */
export interface ManyModelsResult {
  /** Models in the many-model repository. */
  count: number;
  /** Models the spread load covers equally: min(100, count). */
  spreadModels: number;
  /** Requests in flight in every window. */
  concurrency: number;
  warmupMs: number;
  durationMs: number;
  /** Every model's config.yaml. */
  config: string;
  /** Passed to `modelserve serve` verbatim (`--many-server-args`). */
  serverArgs: string[];
  /** The two servers' VmRSS together may not pass this; past it both are stopped and the run reports what it has. */
  rssLimitBytes: number;
  /** Highest VmRSS of the two servers together, sampled every 250 ms. */
  peakRssBytes: number | undefined;
  /** The repository of the first model alone. */
  one: ManyModelsServer | undefined;
  /** The repository of `count` models. */
  many: ManyModelsServer | undefined;
  /** (many RSS − one RSS) / (count − 1). */
  marginalRssBytes: number | undefined;
  rounds: ManyModelsRound[];
  /** Medians and ranges over the rounds. */
  spread: RatioSummary;
  hot: RatioSummary;
  /** Median req/s of each load over the rounds. */
  requestsPerSecond: Record<ManyModelsLoad, number | undefined>;
  /** Why the run ended before measuring everything (RSS limit, a server exit), when it did. */
  stopped: string | undefined;
}
