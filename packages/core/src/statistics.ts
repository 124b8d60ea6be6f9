import type { OutputAgreement } from './compare-outputs.js';
import type { VersionObserver } from './observer.js';
import type { ResponseCacheStats } from './response-cache.js';
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
  /** Runs per batch size, ascending, with their total run time. */
  batchSizes: Array<{ batchSize: number; count: number; computeTotalUs: number }>;
  /** Time from acceptance to the start of the run. */
  queueUs: Distribution;
  /** Time of the run, seen from the main thread. */
  computeUs: Distribution;
  /**
   * Cumulative microseconds, as Triton reports them: from acceptance to the answer of requests
   * answered with outputs (`successTotalUs`) and with an error (`failureTotalUs`); in the queue,
   * summed over requests that ran (`queueTotalUs`); and of runs, charged to every request in the
   * batch (`computeTotalUs`, summed over the `requestCount` requests).
   */
  successTotalUs: number;
  failureTotalUs: number;
  queueTotalUs: number;
  computeTotalUs: number;
  /** When the last run started, `Date.now()` milliseconds; 0 before the first. */
  lastInferenceMs: number;
  /** For a shadow version: how its outputs compared with those of the versions that answered. */
  comparisons: VersionComparison[];
  /** The response cache's counters, when the version has one. */
  cache?: ResponseCacheStats;
}

/** A shadow version's outputs against another version's, over the requests both ran. */
export interface VersionComparison {
  /** The version that answered the requests. */
  against: number;
  /** Requests compared. */
  requests: number;
  /** Share of rows whose argmax agreed (classifier outputs); undefined when none were compared. */
  argmaxAgreement: number | undefined;
  /** Mean absolute difference over all elements compared; undefined when none were. */
  meanAbsDiff: number | undefined;
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
  private readonly sizes = new Map<number, { count: number; us: number }>();
  private successUs = 0;
  private failureUs = 0;
  private queueUs = 0;
  private computeUs = 0;
  private lastInference = 0;
  private readonly comparisons = new Map<number, { requests: number } & OutputAgreement>();
  private readonly queue = histogram();
  private readonly compute = histogram();

  /** `observer` hears of every request queued, run and compared (metrics). */
  constructor(readonly observer?: VersionObserver) {}

  /** One request answered, with outputs or with an error, `us` microseconds after it was accepted. */
  request(ok: boolean, us = 0): void {
    if (ok) {
      this.requests++;
      this.successUs += us;
    } else {
      this.failures++;
      this.failureUs += us;
    }
  }

  /** One request left the queue for a run after `us` microseconds. */
  queued(us: number): void {
    this.queue.recordValue(clampUs(us));
    this.queueUs += us;
    this.observer?.queued(us / 1e6);
  }

  /** One run of `batchSize` samples for `requests` requests that took `us` microseconds. */
  ran(batchSize: number, us: number, requests = 1): void {
    this.batches++;
    this.inferences += batchSize;
    const size = this.sizes.get(batchSize);
    if (size === undefined) this.sizes.set(batchSize, { count: 1, us });
    else {
      size.count++;
      size.us += us;
    }
    this.compute.recordValue(clampUs(us));
    this.computeUs += us * requests;
    this.lastInference = Date.now();
    this.observer?.ran(batchSize, us / 1e6, requests);
  }

  /** This (shadow) version's outputs for one request, compared with version `against`'s. */
  compared(against: number, agreement: OutputAgreement): void {
    const c = this.comparisons.get(against) ?? { requests: 0, rows: 0, agreeingRows: 0, elements: 0, absDiffSum: 0 };
    c.requests++;
    c.rows += agreement.rows;
    c.agreeingRows += agreement.agreeingRows;
    c.elements += agreement.elements;
    c.absDiffSum += agreement.absDiffSum;
    this.comparisons.set(against, c);
    this.observer?.compared?.(against, agreement.rows, agreement.agreeingRows);
  }

  snapshot(name: string, version: number): VersionStatistics {
    return {
      name,
      version,
      requestCount: this.requests,
      failureCount: this.failures,
      batchCount: this.batches,
      inferenceCount: this.inferences,
      batchSizes: [...this.sizes].sort((a, b) => a[0] - b[0]).map(([batchSize, s]) => ({ batchSize, count: s.count, computeTotalUs: s.us })),
      queueUs: summary(this.queue),
      computeUs: summary(this.compute),
      successTotalUs: this.successUs,
      failureTotalUs: this.failureUs,
      queueTotalUs: this.queueUs,
      computeTotalUs: this.computeUs,
      lastInferenceMs: this.lastInference,
      comparisons: [...this.comparisons]
        .sort((x, y) => x[0] - y[0])
        .map(([against, c]) => ({
          against,
          requests: c.requests,
          argmaxAgreement: c.rows === 0 ? undefined : c.agreeingRows / c.rows,
          meanAbsDiff: c.elements === 0 ? undefined : c.absDiffSum / c.elements,
        })),
    };
  }
}
