/** Latency histograms: recorded in microseconds in each process, merged in the parent. */
import * as hdr from 'hdr-histogram-js';

/** An empty HDR histogram of microseconds (3 significant digits, resizing as needed). */
export function newHistogram(): hdr.Histogram {
  return hdr.build({ bitBucketSize: 32, numberOfSignificantValueDigits: 3, autoResize: true });
}

/** A histogram as a compressed base64 string, small enough for an IPC message. */
export function encodeHistogram(histogram: hdr.Histogram): string {
  return hdr.encodeIntoCompressedBase64(histogram);
}

/** Adds every encoded histogram into one. */
export function mergeHistograms(encoded: readonly string[]): hdr.Histogram {
  const merged = newHistogram();
  for (const text of encoded) {
    const part = hdr.decodeFromCompressedBase64(text);
    merged.add(part);
    part.destroy();
  }
  return merged;
}

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

const ms = (us: number): number => us / 1000;

/** No latencies: NaN rather than zero. */
export const NO_LATENCY: LatencySummary = { count: 0, mean: NaN, p50: NaN, p90: NaN, p99: NaN, p999: NaN, max: NaN };

/** p50, p90, p99, p99.9, max and mean of a microsecond histogram, in milliseconds. */
export function summarize(histogram: hdr.Histogram): LatencySummary {
  if (histogram.totalCount === 0) return { ...NO_LATENCY };
  return {
    count: histogram.totalCount,
    mean: ms(histogram.mean),
    p50: ms(histogram.getValueAtPercentile(50)),
    p90: ms(histogram.getValueAtPercentile(90)),
    p99: ms(histogram.getValueAtPercentile(99)),
    p999: ms(histogram.getValueAtPercentile(99.9)),
    max: ms(histogram.maxValue),
  };
}

/** Merges encoded histograms and summarizes the result. */
export function summarizeEncoded(encoded: readonly string[]): LatencySummary {
  const merged = mergeHistograms(encoded);
  const summary = summarize(merged);
  merged.destroy();
  return summary;
}

/** Merges encoded histograms by key (failure latencies by status name, e.g. from several workers) and summarizes each. */
export function summarizeByName(parts: ReadonlyArray<Readonly<Record<string, string>>>): Record<string, LatencySummary> {
  const names = new Set(parts.flatMap((part) => Object.keys(part)));
  return Object.fromEntries([...names].map((name) => [name, summarizeEncoded(parts.flatMap((part) => part[name] ?? []))]));
}

/** Adds counts by key (errors by status name), e.g. from several workers. */
export function mergeCounts(parts: ReadonlyArray<Readonly<Record<string, number>>>): Record<string, number> {
  const total: Record<string, number> = {};
  for (const part of parts) {
    for (const [key, count] of Object.entries(part)) total[key] = (total[key] ?? 0) + count;
  }
  return total;
}
