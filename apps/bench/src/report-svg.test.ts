import { describe, expect, it } from 'vitest';
import { escapeXml, logRange, logTicks, renderSvg, seriesOf } from './report-svg.js';
import type { BenchResults, PointResult } from './types.js';

function point(over: Partial<PointResult>): PointResult {
  const p99 = over.latency?.p99 ?? 2;
  return {
    config: 'on',
    model: 'mlp',
    method: 'unary',
    concurrency: 1,
    streams: 0,
    rate: 0,
    requestsPerSecond: 1000,
    samplesPerSecond: 1000,
    latency: { count: 100, mean: 1, p50: 1, p90: 1.5, p99, p999: p99 * 2, max: p99 * 3 },
    errors: {},
    dropped: 0,
    ...over,
  };
}

const results = (points: PointResult[]): BenchResults => ({
  startedAt: '2025-01-01T00:00:00.000Z',
  durationSeconds: 1,
  machine: {},
  options: {},
  compute: [],
  points,
  problems: [],
});

describe('the throughput/p99 chart', () => {
  it('draws one line per configuration and method, in load order', () => {
    const points = [
      point({ concurrency: 64, requestsPerSecond: 5000, latency: { ...point({}).latency, p99: 40 } }),
      point({ concurrency: 1, requestsPerSecond: 800, latency: { ...point({}).latency, p99: 2 } }),
      point({ config: 'naive', concurrency: 1, requestsPerSecond: 900 }),
      point({ method: 'stream', concurrency: 64, streams: 8, requestsPerSecond: 12000 }),
      point({ config: 'echo', model: 'mlp', concurrency: 1 }),
      point({ model: 'cnn', concurrency: 1 }),
    ];
    const series = seriesOf(points, 'mlp');
    expect(series.map((s) => `${s.config}/${s.method}`)).toEqual(['on/unary', 'naive/unary', 'on/stream', 'echo/unary']);
    expect(series[0]!.points.map((p) => p.concurrency)).toEqual([1, 64]);
    // echo answers any model the same, so it shows in every panel
    expect(seriesOf(points, 'cnn').map((s) => s.config)).toEqual(['echo', 'on']);

    const svg = renderSvg(results(points));
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    expect(svg.match(/<polyline /g)).toHaveLength(6);
    expect(svg).toContain('stroke-dasharray="6 4"');
  });

  it('leaves out points without latencies and still renders with none', () => {
    const svg = renderSvg(results([point({ latency: { count: 0, mean: NaN, p50: NaN, p90: NaN, p99: NaN, p999: NaN, max: NaN } })]));
    expect(svg).not.toContain('NaN');
    expect(svg).toContain('no points');
  });

  it('picks powers of ten and 1-2-5 ticks for its log axes', () => {
    expect(logRange([800, 34_000, 84_000])).toEqual([100, 100_000]);
    expect(logRange([1, 1])).toEqual([1, 10]);
    expect(logTicks(0.1, 100)).toEqual([0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100]);
    expect(escapeXml('a<b & "c"')).toBe('a&lt;b &amp; &quot;c&quot;');
  });
});
