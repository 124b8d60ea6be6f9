import { build, type Histogram } from 'hdr-histogram-js';

/** A distribution of durations in microseconds. */
export interface Distribution {
  count: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

/** What one model version has served since it loaded. */
export interface VersionStatistics {
  name: string;
  version: number;
  /** Requests answered with outputs. */
  requestCount: number;
  /** Requests accepted and then answered with an error. */
  failureCount: number;
  /** Runs of the model; one run serves one batch. */
  batchCount: number;
  /** Samples run: the sum of batch sizes (one per run for a model that is not batched). */
  inferenceCount: number;
  /** Runs per batch size, ascending. */
  batchSizes: Array<{ batchSize: number; count: number }>;
  /** Time from acceptance to the start of the run. */
  queueUs: Distribution;
  /** Time of the run, seen from the main thread. */
  computeUs: Distribution;
}

function histogram(): Histogram {
  // 1 µs to 10 min at 3 significant digits: about 30 KiB per histogram.
  return build({ lowestDiscernibleValue: 1, highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: 3 });
}

function summary(h: Histogram): Distribution {
  if (h.totalCount === 0) return { count: 0, mean: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0 };
  return {
    count: h.totalCount,
    mean: h.mean,
    p50: h.getValueAtPercentile(50),
    p90: h.getValueAtPercentile(90),
    p99: h.getValueAtPercentile(99),
    p999: h.getValueAtPercentile(99.9),
    max: h.maxValue,
  };
}

const clampUs = (us: number): number => Math.min(600_000_000, Math.max(1, Math.round(us)));

/** Counters and histograms of one model version; recorded by its scheduler. */
export class VersionStats {
  private requests = 0;
  private failures = 0;
  private batches = 0;
  private inferences = 0;
  private readonly sizes = new Map<number, number>();
  private readonly queue = histogram();
  private readonly compute = histogram();

  /** One request answered: with outputs or with an error. */
  request(ok: boolean): void {
    if (ok) this.requests++;
    else this.failures++;
  }

  /** One request left the queue for a run after `us` microseconds. */
  queued(us: number): void {
    this.queue.recordValue(clampUs(us));
  }

  /** One run of `batchSize` samples that took `us` microseconds. */
  ran(batchSize: number, us: number): void {
    this.batches++;
    this.inferences += batchSize;
    this.sizes.set(batchSize, (this.sizes.get(batchSize) ?? 0) + 1);
    this.compute.recordValue(clampUs(us));
  }

  snapshot(name: string, version: number): VersionStatistics {
    return {
      name,
      version,
      requestCount: this.requests,
      failureCount: this.failures,
      batchCount: this.batches,
      inferenceCount: this.inferences,
      batchSizes: [...this.sizes].sort((a, b) => a[0] - b[0]).map(([batchSize, count]) => ({ batchSize, count })),
      queueUs: summary(this.queue),
      computeUs: summary(this.compute),
    };
  }
}
