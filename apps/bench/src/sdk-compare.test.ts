import { describe, expect, it } from 'vitest';
import { formatSdkRatio, median, pairOrder, sdkRows, sdkTable, sdkTargets, summarizePolicy, summarizeSdk } from './sdk-compare.js';
import type { SdkPair, SdkResult, SdkRun } from './types-sdk.js';

function run(requestsPerSecond: number, errors: Record<string, number> = {}, cpuPerCallUs = 100): SdkRun {
  const latency = { count: 1, mean: 1, p50: 1, p90: 1, p99: 1, p999: 1, max: 1 };
  return { requestsPerSecond, completed: requestsPerSecond, errors, windowMs: 1000, latency, cpuPerCallUs, eventLoopUtilization: 1 };
}

/** Pairs of (grpc-js, SDK) req/s, round 1, 2, … */
function pairs(...list: Array<[SdkRun, SdkRun]>): SdkPair[] {
  return list.map(([grpc, sdk], i) => ({ round: i + 1, first: pairOrder(i + 1)[0], grpc, sdk }));
}

function result(byPolicy: SdkResult['pairs']): SdkResult {
  return { servers: 3, concurrency: 32, rounds: 1, warmupMs: 1000, durationMs: 5000, loadAverage: [0.5, 3.5], pairs: byPolicy, summary: summarizeSdk(byPolicy) };
}

describe('median', () => {
  it('takes the middle value, or the mean of the two middle ones, ignoring missing values', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([undefined, 5, NaN])).toBe(5);
    expect(median([])).toBeUndefined();
    expect(median([undefined])).toBeUndefined();
  });
});

describe('a policy against grpc-js', () => {
  it('alternates which side of a pair runs first', () => {
    expect([1, 2, 3].map(pairOrder)).toEqual([['grpc', 'sdk'], ['sdk', 'grpc'], ['grpc', 'sdk']]);
  });

  it('divides each SDK run by its grpc-js pair and takes the median of those ratios', () => {
    // Round 2 is slow for both: the per-round ratio is unaffected, the ratio of the medians would not be.
    const s = summarizePolicy('round_robin', pairs([run(10_000), run(9800)], [run(5000), run(4950)], [run(10_000), run(9000)]));
    expect(s.ratios).toEqual([0.98, 0.99, 0.9]);
    expect(s.ratio).toBe(0.98);
    expect(s.grpcRequestsPerSecond).toBe(10_000);
    expect(s.sdkRequestsPerSecond).toBe(9000);
    expect(s.grpcErrors).toBe(0);
    expect(s.sdkErrors).toBe(0);
  });

  it('compares the client CPU time per call the same way', () => {
    const s = summarizePolicy('peak_ewma', pairs([run(1000, {}, 100), run(900, {}, 110)], [run(500, {}, 100), run(500, {}, 104)], [run(1000, {}, 200), { ...run(1000), cpuPerCallUs: undefined }]));
    expect(s.grpcCpuPerCallUs).toBe(100);
    expect(s.sdkCpuPerCallUs).toBe(107);
    expect(s.cpuRatio).toBeCloseTo(1.07);
  });

  it('has no ratio for a pair where grpc-js answered nothing, and counts errors of both sides', () => {
    const s = summarizePolicy('random', pairs([run(0, { UNAVAILABLE: 2 }), run(900, { DEADLINE_EXCEEDED: 1 })], [run(1000), run(960)]));
    expect(s.ratios).toEqual([undefined, 0.96]);
    expect(s.ratio).toBe(0.96);
    expect(s.grpcErrors).toBe(2);
    expect(s.sdkErrors).toBe(1);
  });

  it('summarizes the policies measured, in the order of sdkPolicies', () => {
    const r = result({ random: pairs([run(1000), run(990)]), round_robin: pairs([run(1000), run(950)]) });
    expect(r.summary.map((s) => s.policy)).toEqual(['round_robin', 'random']);
  });
});

describe('verdicts and the table', () => {
  it('passes at a ratio of 0.95 or more without SDK errors', () => {
    const r = result({
      round_robin: pairs([run(1000), run(950)]),
      least_request: pairs([run(1000), run(949)]),
      random: pairs([run(1000), run(990, { UNAVAILABLE: 3 })]),
      peak_ewma: pairs([run(1000), run(1200)]),
    });
    const verdicts = Object.fromEntries(sdkTargets(r).map((t) => [t.target.split(':')[0], t.verdict]));
    expect(verdicts).toEqual({ 'SDK round_robin': 'PASS', 'SDK least_request': 'FAIL', 'SDK peak_ewma': 'PASS', 'SDK random': 'FAIL' });
    expect(sdkTargets(result({ round_robin: pairs([run(0), run(10)]) }))[0]?.verdict).toBe('NOT MEASURED');
  });

  it('prints 3 decimals so that the threshold is not rounded across', () => {
    expect(formatSdkRatio(0.9496)).toBe('0.950×');
    expect(formatSdkRatio(0.949)).toBe('0.949×');
    expect(formatSdkRatio(undefined)).toBe('n/a');
  });

  it('has one row per policy: medians, ratio, each round, errors', () => {
    const r = result({ weighted_round_robin: pairs([run(10_000), run(9700)], [run(12_000), run(11_400, { CANCELLED: 1 })]) });
    expect(sdkRows(r.summary)).toEqual([['weighted_round_robin', '11,000', '10,550', '0.960×', '0.970 0.950', '100 µs / 100 µs', '1.000×', '0/1']]);
    const table = sdkTable(r, 2);
    expect(table.some((line) => line.includes('(1-minute average, 2 cores): 0.50 before the run, 3.50 after it'))).toBe(true);
    expect(table.some((line) => line.startsWith('policy') && line.includes('SDK/grpc-js'))).toBe(true);
    expect(table.some((line) => line.startsWith('weighted_round_robin'))).toBe(true);
  });
});
