/**
 * Bins of one drift feature: numeric bins cut by edges, or one bin per class index.
 */

/**
 * A feature's bins. `edges` (strictly increasing) cut the line into `edges.length + 1` bins:
 * bin 0 is (-∞, edges[0]), bin i is [edges[i-1], edges[i]), the last is [edges[last], ∞).
 * `categories` is one bin per class index 0..categories-1 (an output's argmax).
 */
export type Bins = { edges: number[] } | { categories: number };

/** The number of bins, so the length of the counts. */
export function binCountOf(bins: Bins): number {
  return 'edges' in bins ? bins.edges.length + 1 : bins.categories;
}

/** The bin of a value: the number of edges at or below it, found by binary search. */
export function binIndex(edges: ArrayLike<number>, value: number): number {
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((edges[mid] as number) <= value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Edges of `binCount` quantile bins over ascending finite values: the values at ranks
 * ⌊q·n/binCount⌋ for q = 1..binCount-1, so each bin holds about n/binCount of them.
 * Where quantiles repeat, the value is a point mass (a binary input, a zero fraction): it gets
 * a bin of its own, ending at the next larger value, instead of a duplicate edge. So a feature
 * with few distinct values gets one bin per value, and fewer than `binCount` bins.
 */
export function quantileEdges(sorted: Float64Array, binCount: number): number[] {
  const n = sorted.length;
  const edges: number[] = [];
  if (n === 0) return edges;
  let previous = NaN;
  for (let q = 1; q < binCount; q++) {
    const value = sorted[Math.min(n - 1, Math.floor((q * n) / binCount))] as number;
    const last = edges[edges.length - 1];
    if (value === previous) {
      const next = sorted[upperBound(sorted, value)];
      if (next !== undefined && (last === undefined || next > last)) edges.push(next);
    } else if (last === undefined || value > last) {
      edges.push(value);
    }
    previous = value;
  }
  return edges;
}

/** The index of the first value above `value` in ascending `sorted` (its length when none is). */
function upperBound(sorted: Float64Array, value: number): number {
  return binIndex(sorted, value);
}
