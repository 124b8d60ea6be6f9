import { describe, expect, it } from 'vitest';
import { LeastRequest, PeakEwma, PeakEwmaLatency, RandomPick, RoundRobin, WeightedRoundRobin, createPicker, type EndpointView } from './policies.js';

const view = (address: string, extra: Partial<EndpointView> = {}): EndpointView => ({ address, weight: 1, inflight: 0, latencyMs: 0, ...extra });
const picks = (picker: { pick(e: readonly EndpointView[]): EndpointView }, endpoints: EndpointView[], n: number) =>
  Array.from({ length: n }, () => picker.pick(endpoints).address);
const countOf = (list: string[]): Record<string, number> => {
  const counts: Record<string, number> = {};
  for (const p of list) counts[p] = (counts[p] ?? 0) + 1;
  return counts;
};

/** A deterministic random source. */
function seeded(seed = 1): () => number {
  let s = seed;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/**
 * Where a Binomial(n, p) count falls with probability 1 - 1e-6 (normal approximation, z = 4.892
 * two-sided; n·p·(1-p) is in the hundreds in these tests, where the approximation holds).
 */
function binomialBounds(n: number, p: number): [number, number] {
  const sd = Math.sqrt(n * p * (1 - p));
  return [n * p - 4.892 * sd, n * p + 4.892 * sd];
}

describe('load-balancing policies', () => {
  it('round_robin takes turns', () => {
    expect(picks(new RoundRobin(), [view('a'), view('b'), view('c')], 7)).toEqual(['a', 'b', 'c', 'a', 'b', 'c', 'a']);
  });

  it('weighted_round_robin interleaves smoothly, as nginx: 3:1:1 is a b a c a', () => {
    const endpoints = [view('a', { weight: 3 }), view('b'), view('c')];
    expect(picks(new WeightedRoundRobin(), endpoints, 10)).toEqual(['a', 'b', 'a', 'c', 'a', 'a', 'b', 'a', 'c', 'a']);
  });

  it('least_request compares two distinct endpoints, so of two it always takes the less loaded', () => {
    const endpoints = [view('busy', { inflight: 10 }), view('idle')];
    expect(new Set(picks(new LeastRequest(), endpoints, 200))).toEqual(new Set(['idle']));
  });

  it('least_request picks the idle one of three whenever it is one of the two choices: 2 pairs in 3', () => {
    const n = 3000;
    const endpoints = [view('a', { inflight: 10 }), view('b', { inflight: 0 }), view('c', { inflight: 10 })];
    const counts = countOf(picks(new LeastRequest(), endpoints, n));
    const [low, high] = binomialBounds(n, 2 / 3);
    expect(counts['b']).toBeGreaterThanOrEqual(low);
    expect(counts['b']).toBeLessThanOrEqual(high);
  });

  it('peak_ewma weighs latency by calls in flight, and tries endpoints with no answer yet', () => {
    const slow = view('slow', { latencyMs: 40 });
    const fast = view('fast', { latencyMs: 2, inflight: 3 });
    expect(new Set(picks(new PeakEwma(seeded()), [slow, fast], 50))).toEqual(new Set(['fast']));
    const fresh = view('fresh');
    expect(picks(new PeakEwma(seeded()), [slow, fresh], 50)).not.toContain('slow');
  });

  it('random picks each of three endpoints a third of the time', () => {
    const n = 3000;
    const counts = countOf(picks(new RandomPick(), [view('a'), view('b'), view('c')], n));
    const [low, high] = binomialBounds(n, 1 / 3);
    for (const address of ['a', 'b', 'c']) {
      expect(counts[address], address).toBeGreaterThanOrEqual(low);
      expect(counts[address], address).toBeLessThanOrEqual(high);
    }
  });

  it('a policy name gives its picker, a Picker is taken as it is, and unknown names are refused', () => {
    expect(createPicker('least_request')).toBeInstanceOf(LeastRequest);
    const own = { pick: (e: readonly EndpointView[]) => e[0]! };
    expect(createPicker(own)).toBe(own);
    expect(() => createPicker('fastest' as never)).toThrow("unknown load-balancing policy 'fastest'");
  });
});

describe('PeakEwmaLatency', () => {
  it('jumps to a slower sample at once and decays towards faster ones with time', () => {
    const ewma = new PeakEwmaLatency(1000);
    ewma.observe(10, 0);
    ewma.observe(50, 10);
    expect(ewma.ms).toBe(50);
    ewma.observe(10, 10 + 1000); // one decay time later: weight e^-1 on the old value
    expect(ewma.ms).toBeCloseTo(50 * Math.exp(-1) + 10 * (1 - Math.exp(-1)), 6);
  });
});
