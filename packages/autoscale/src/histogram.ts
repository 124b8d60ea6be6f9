/** Latencies in log-spaced buckets (0.5% wide) from 1 µs up: quantiles within 0.5%, in constant memory. */

const MIN_MS = 0.001;
const GROWTH = Math.log1p(0.005);
/** Up to 1e9 ms (11.6 days), far past any curve. */
const BUCKETS = Math.ceil(Math.log(1e9 / MIN_MS) / GROWTH) + 1;

export class LatencyHistogram {
  private readonly counts = new Float64Array(BUCKETS);
  count = 0;
  sum = 0;
  max = 0;

  /** The bucket of `ms`, to record one value in several histograms at the cost of one. */
  static bucket(ms: number): number {
    return ms <= MIN_MS ? 0 : Math.min(BUCKETS - 1, Math.ceil(Math.log(ms / MIN_MS) / GROWTH));
  }

  record(ms: number, bucket = LatencyHistogram.bucket(ms)): void {
    this.counts[bucket]!++;
    this.count++;
    this.sum += ms;
    if (ms > this.max) this.max = ms;
  }

  /** The value at quantile `q` (0..1): the upper bound of its bucket, at most the maximum; NaN when empty. */
  quantile(q: number): number {
    if (this.count === 0) return NaN;
    const rank = Math.max(1, Math.ceil(q * this.count));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return Math.min(this.max, MIN_MS * Math.exp(i * GROWTH));
    }
    return this.max;
  }

  mean(): number {
    return this.count === 0 ? NaN : this.sum / this.count;
  }

  reset(): void {
    this.counts.fill(0);
    this.count = 0;
    this.sum = 0;
    this.max = 0;
  }
}
