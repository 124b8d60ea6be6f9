import { mulberry32 } from '@modelserve/model-zoo';
import type { VersionStatistics__Output } from '@modelserve/proto';
import { describe, expect, it } from 'vitest';
import { cacheLines, pairedRatios, statistic, summarizeCache, zipfSampler, type CacheRun, type CacheWindow } from './cache.js';

describe('zipfSampler', () => {
  const n = 10_000;
  const s = 1.1;
  const draws = 200_000;
  const weights = Array.from({ length: n }, (_, k) => 1 / Math.pow(k + 1, s));
  const total = weights.reduce((a, b) => a + b, 0);
  const draw = zipfSampler(n, s, mulberry32(42));
  const counts = new Array<number>(n).fill(0);
  for (let i = 0; i < draws; i++) counts[draw()]! += 1;

  // A count of a share p of the draws is binomial: within 5 standard deviations of draws × p, or the sampler is wrong.
  const withinFiveSigma = (observed: number, p: number): void => {
    const sigma = Math.sqrt(draws * p * (1 - p));
    expect(Math.abs(observed - draws * p)).toBeLessThan(5 * sigma);
  };

  it('draws every rank in 0..n-1 and nothing else', () => {
    expect(counts.reduce((a, b) => a + b, 0)).toBe(draws);
  });

  it.each([0, 1, 9, 99])('draws rank %i as often as 1/(k+1)^1.1 says', (k) => {
    withinFiveSigma(counts[k]!, weights[k]! / total);
  });

  it('puts as much of its mass on the top 100 ranks as the distribution does', () => {
    const top = counts.slice(0, 100).reduce((a, b) => a + b, 0);
    withinFiveSigma(top, weights.slice(0, 100).reduce((a, b) => a + b, 0) / total);
  });

  it('reaches the tail: the last half of the ranks gets its share', () => {
    const tail = counts.slice(n / 2).reduce((a, b) => a + b, 0);
    withinFiveSigma(tail, weights.slice(n / 2).reduce((a, b) => a + b, 0) / total);
  });

  it('repeats itself for the same seed', () => {
    const a = zipfSampler(100, s, mulberry32(7));
    const b = zipfSampler(100, s, mulberry32(7));
    expect(Array.from({ length: 50 }, a)).toEqual(Array.from({ length: 50 }, b));
  });
});

const window = (round: number, workload: CacheWindow['workload'], cache: CacheWindow['cache'], requestsPerSecond: number): CacheWindow => ({ round, workload, cache, requestsPerSecond, p99Ms: 1, errors: 0, hitRatio: cache === 'on' ? 0.9 : undefined });

function passingRun(): CacheRun {
  return {
    windows: [0, 1, 2].flatMap((r) => [window(r, 'zipf', 'on', 6000 + r), window(r, 'zipf', 'off', 1000), window(r, 'distinct', 'on', 990), window(r, 'distinct', 'off', 1000)]),
    coalesce: [0, 1, 2].map((round) => ({ round, runs: 1, answers: 64, correct: 64 })),
    shared: [0, 1, 2].map((round) => ({ round, requests: 20_000, singleHitRatio: 0.8, pairHitRatio: 0.79 })),
    sharedSkipped: undefined,
  };
}

const byKey = (run: CacheRun): Record<string, ReturnType<typeof summarizeCache>[number]> => Object.fromEntries(summarizeCache(run).map((v) => [v.key, v]));

describe('summarizeCache', () => {
  it('pairs cache on with cache off within each round', () => {
    expect(pairedRatios(passingRun().windows, 'zipf')).toEqual([6, 6.001, 6.002]);
    expect(pairedRatios([window(0, 'zipf', 'on', 5000), window(1, 'zipf', 'off', 1000)], 'zipf')).toEqual([]);
  });

  it('passes a run that meets every target, judging medians', () => {
    const verdicts = byKey(passingRun());
    expect(Object.values(verdicts).map((v) => v.pass)).toEqual([true, true, true, true]);
    expect(verdicts['zipf']!.median).toBeCloseTo(6.001);
    expect(verdicts['distinct']!).toMatchObject({ min: 0.99, max: 0.99 });
    expect(verdicts['shared']!.median).toBeCloseTo(0.79 / 0.8);
  });

  it('fails a cache that is not fast enough or costs too much on misses', () => {
    const run = passingRun();
    run.windows = run.windows.map((w) => (w.cache === 'on' ? { ...w, requestsPerSecond: w.workload === 'zipf' ? 4000 : 960 } : w));
    const verdicts = byKey(run);
    expect(verdicts['zipf']!.pass).toBe(false);
    expect(verdicts['distinct']!.pass).toBe(false);
  });

  it('fails coalescing when any round ran more than once or answered wrongly', () => {
    const twice = passingRun();
    twice.coalesce[1] = { round: 1, runs: 2, answers: 64, correct: 64 };
    expect(byKey(twice)['coalesce']!.pass).toBe(false);
    const wrong = passingRun();
    wrong.coalesce[2] = { round: 2, runs: 1, answers: 64, correct: 63 };
    expect(byKey(wrong)['coalesce']!).toMatchObject({ pass: false, note: '64/64/63 of 64 correct per round (1 rounds wrong)' });
  });

  it('leaves unmeasured targets undecided rather than passing them', () => {
    const run = passingRun();
    run.shared = [];
    run.sharedSkipped = 'no redis-server';
    run.coalesce = run.coalesce.map((c) => ({ ...c, runs: undefined }));
    const verdicts = byKey(run);
    expect(verdicts['shared']!).toMatchObject({ pass: undefined, note: 'not measured: no redis-server' });
    expect(verdicts['coalesce']!.pass).toBeUndefined();
    const lines = cacheLines(run, summarizeCache(run), 64, 3, 10_000).join('\n');
    expect(lines).toMatch(/shared tier.*n\/a.*not measured: no redis-server/);
  });

  it('prints a verdict per target', () => {
    const lines = cacheLines(passingRun(), summarizeCache(passingRun()), 64, 3, 10_000);
    expect(lines.filter((l) => l.includes('PASS'))).toHaveLength(4);
  });
});

describe('statistic', () => {
  const version = (fields: Record<string, unknown>): VersionStatistics__Output => ({ name: 'slow_mlp', version: '1', ...fields }) as unknown as VersionStatistics__Output;

  it('sums a uint64 counter (a string on the wire) over versions', () => {
    expect(statistic([version({ cache_hits: '5' }), version({ cache_hits: '7' })], 'cache_hits')).toBe(12);
  });

  it('answers undefined when no version has the field (a server without the cache)', () => {
    expect(statistic([version({ batch_count: '3' })], 'cache_hits')).toBeUndefined();
    expect(statistic(undefined, 'cache_hits')).toBeUndefined();
  });
});
