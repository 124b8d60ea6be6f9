import { describe, expect, it } from 'vitest';
import { encodeHistogram, mergeCounts, newHistogram, summarizeByName, summarizeEncoded } from './histogram.js';

function encoded(values: number[]): string {
  const histogram = newHistogram();
  for (const v of values) histogram.recordValue(v);
  const text = encodeHistogram(histogram);
  histogram.destroy();
  return text;
}

describe('latency histograms from several workers', () => {
  it('merge into one distribution, reported in milliseconds', () => {
    const fast = encoded(Array.from({ length: 990 }, () => 1000));
    const slow = encoded(Array.from({ length: 10 }, () => 50_000));
    const summary = summarizeEncoded([fast, slow]);
    expect(summary.count).toBe(1000);
    expect(summary.p50).toBeCloseTo(1, 2);
    expect(summary.p99).toBeCloseTo(1, 2);
    expect(summary.p999).toBeCloseTo(50, 0);
    expect(summary.max).toBeCloseTo(50, 0);
  });

  it('summarize nothing as NaN rather than zero latency', () => {
    expect(summarizeEncoded([encoded([])]).p50).toBeNaN();
  });

  it('merge failure latencies by status name', () => {
    const merged = summarizeByName([{ RESOURCE_EXHAUSTED: encoded([1000, 2000]) }, { RESOURCE_EXHAUSTED: encoded([3000]), DEADLINE_EXCEEDED: encoded([500_000]) }, {}]);
    expect(Object.keys(merged).sort()).toEqual(['DEADLINE_EXCEEDED', 'RESOURCE_EXHAUSTED']);
    expect(merged['RESOURCE_EXHAUSTED']).toMatchObject({ count: 3 });
    expect(merged['RESOURCE_EXHAUSTED']?.max).toBeCloseTo(3, 1);
    expect(merged['DEADLINE_EXCEEDED']?.p50).toBeCloseTo(500, -1);
  });

  it('add error counts by status name', () => {
    expect(mergeCounts([{ UNAVAILABLE: 2 }, { UNAVAILABLE: 1, DEADLINE_EXCEEDED: 4 }, {}])).toEqual({ UNAVAILABLE: 3, DEADLINE_EXCEEDED: 4 });
  });
});
