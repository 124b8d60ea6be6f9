import { describe, expect, it } from 'vitest';
import { binCountOf, binIndex, quantileEdges } from './bins.js';

describe('binIndex', () => {
  it('puts values below the first edge in bin 0, an edge in the bin it opens, and beyond the last in the last bin', () => {
    const edges = [-1, 0, 2.5];
    expect(binIndex(edges, -100)).toBe(0);
    expect(binIndex(edges, -1)).toBe(1);
    expect(binIndex(edges, -0.5)).toBe(1);
    expect(binIndex(edges, 0)).toBe(2);
    expect(binIndex(edges, 2.4)).toBe(2);
    expect(binIndex(edges, 2.5)).toBe(3);
    expect(binIndex(edges, Infinity)).toBe(3);
    expect(binIndex([], 5)).toBe(0);
    expect(binCountOf({ edges })).toBe(4);
    expect(binCountOf({ categories: 10 })).toBe(10);
  });
});

describe('quantileEdges', () => {
  it('cuts 0..99 into ten bins of ten values', () => {
    const sorted = Float64Array.from({ length: 100 }, (_, i) => i);
    const edges = quantileEdges(sorted, 10);
    expect(edges).toEqual([10, 20, 30, 40, 50, 60, 70, 80, 90]);
    const counts = new Array<number>(10).fill(0);
    for (const v of sorted) counts[binIndex(edges, v)]!++;
    expect(counts).toEqual(new Array<number>(10).fill(10));
  });

  it('gives each value of a binary feature its own bin, however rare', () => {
    const sorted = Float64Array.from({ length: 100 }, (_, i) => (i < 95 ? 0 : 1));
    expect(quantileEdges(sorted, 10)).toEqual([0, 1]);
  });

  it('gives a point mass its own bin before the quantiles of the rest', () => {
    // 80 zeros, then 1..20
    const sorted = Float64Array.from({ length: 100 }, (_, i) => (i < 80 ? 0 : i - 79));
    expect(quantileEdges(sorted, 10)).toEqual([0, 1, 11]);
  });

  it('has no edges without values, so one bin for everything', () => {
    expect(quantileEdges(new Float64Array(0), 10)).toEqual([]);
    expect(quantileEdges(Float64Array.of(3, 3, 3), 10)).toEqual([3]);
  });
});
