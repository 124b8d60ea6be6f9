import { describe, expect, it } from 'vitest';
import { LeastRequest, PeakEwma, PeakEwmaLatency, RandomPick, RoundRobin, WeightedRoundRobin, createPicker, type EndpointView } from './policies.js';

const view = (address: string, extra: Partial<EndpointView> = {}): EndpointView => ({ address, weight: 1, inflight: 0, latencyMs: 0, ...extra });
const picks = (picker: { pick(e: readonly EndpointView[]): EndpointView }, endpoints: EndpointView[], n: number) =>
  Array.from({ length: n }, () => picker.pick(endpoints).address);

/** A deterministic random source. */
function seeded(seed = 1): () => number {
  let s = seed;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('load-balancing policies', () => {
  it('round_robin takes turns', () => {
    expect(picks(new RoundRobin(), [view('a'), view('b'), view('c')], 7)).toEqual(['a', 'b', 'c', 'a', 'b', 'c', 'a']);
  });

  it('weighted_round_robin interleaves smoothly, as nginx: 3:1:1 is a b a c a', () => {
    const endpoints = [view('a', { weight: 3 }), view('b'), view('c')];
    expect(picks(new WeightedRoundRobin(), endpoints, 10)).toEqual(['a', 'b', 'a', 'c', 'a', 'a', 'b', 'a', 'c', 'a']);
  });

  it('least_request picks the less loaded of two random endpoints', () => {
    const endpoints = [view('a', { inflight: 10 }), view('b', { inflight: 0 }), view('c', { inflight: 10 })];
    const counts = { a: 0, b: 0, c: 0 } as Record<string, number>;
    for (const p of picks(new LeastRequest(seeded()), endpoints, 3000)) counts[p]!++;
    // b wins whenever it is one of the two choices: 2 of 3 pairs.
    expect(counts['b']! / 3000).toBeGreaterThan(0.6);
  });

  it('peak_ewma weighs latency by calls in flight, and tries endpoints with no answer yet', () => {
    const slow = view('slow', { latencyMs: 40 });
    const fast = view('fast', { latencyMs: 2, inflight: 3 });
    expect(new Set(picks(new PeakEwma(seeded()), [slow, fast], 50))).toEqual(new Set(['fast']));
    const fresh = view('fresh');
    expect(picks(new PeakEwma(seeded()), [slow, fresh], 50)).not.toContain('slow');
  });

  it('random covers every endpoint', () => {
    expect(new Set(picks(new RandomPick(seeded()), [view('a'), view('b'), view('c')], 100))).toEqual(new Set(['a', 'b', 'c']));
  });

  it('refuses unknown policy names', () => {
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
