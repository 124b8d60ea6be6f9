import { describe, expect, it } from 'vitest';
import { Arrivals, checkCurve, RateCurve } from './curves.js';
import { mulberry32 } from './random.js';

describe('load curves', () => {
  it('reads the JSON form, with its defaults', () => {
    const curve = checkCurve({ name: 'c', points: [[0, 1], [10, 3]] });
    expect(curve).toEqual({ name: 'c', description: '', unit: 'requests_per_second', points: [[0, 1], [10, 3]] });
    expect(checkCurve({ name: 'c', unit: 'replicas', surge: [2, 5], points: [[0, 1], [10, 3]] }).surge).toEqual([2, 5]);
  });

  it('refuses a malformed curve, saying where and what it got', () => {
    expect(() => checkCurve([], 'x.json')).toThrow('x.json: expected a JSON object');
    expect(() => checkCurve({ points: [[0, 1], [1, 1]] }, 'x.json')).toThrow('x.json: "name": expected a non-empty string, got nothing');
    expect(() => checkCurve({ name: 'c', points: [[0, 1]] })).toThrow('"points": expected an array of at least 2 [seconds, rate] pairs, got [[0,1]]');
    expect(() => checkCurve({ name: 'c', points: [[1, 1], [2, 1]] })).toThrow('"points"[0]: expected the curve to start at 0 seconds, got 1');
    expect(() => checkCurve({ name: 'c', points: [[0, 1], [5, 1], [4, 1]] })).toThrow('"points"[2]: expected a time of at least 5 s (times never decrease), got 4');
    expect(() => checkCurve({ name: 'c', points: [[0, 1], [5, -1]] })).toThrow('"points"[1]: expected a rate of 0 or more, got -1');
    expect(() => checkCurve({ name: 'c', points: [[0, 1], [5, '2']] })).toThrow('"points"[1]: expected a pair [seconds, rate] of numbers, got [5,"2"]');
    expect(() => checkCurve({ name: 'c', unit: 'rps', points: [[0, 1], [5, 1]] })).toThrow('"unit": expected "requests_per_second" or "replicas", got "rps"');
    expect(() => checkCurve({ name: 'c', surge: [3, 9], points: [[0, 1], [5, 1]] })).toThrow('"surge": expected [start, end] seconds with 0 ≤ start < end ≤ 5, got [3,9]');
  });

  it('is linear between points, steps where two share a time, and scales replicas by the capacity', () => {
    const curve = new RateCurve(checkCurve({ name: 'c', unit: 'replicas', points: [[0, 1], [10, 3], [10, 0], [20, 0]] }), 100);
    expect(curve.rpsAt(0)).toBe(100);
    expect(curve.rpsAt(5000)).toBeCloseTo(200);
    expect(curve.rpsAt(10_000)).toBe(0);
    expect(curve.durationMs).toBe(20_000);
    expect(curve.expectedRequests()).toBeCloseTo(2000);
  });

  it('draws Poisson arrivals whose count follows the integral of the rate, segment by segment', () => {
    const curve = new RateCurve(checkCurve({ name: 'c', points: [[0, 0], [100, 2000], [100, 500], [200, 500], [300, 0]] }), 1);
    const arrivals = new Arrivals(curve, mulberry32(3));
    const bins = [0, 0, 0];
    let last = 0;
    let ordered = true;
    for (let t = arrivals.next(); t !== Infinity; t = arrivals.next()) {
      ordered &&= t >= last;
      last = t;
      bins[Math.min(2, Math.floor(t / 100_000))]!++;
    }
    expect(ordered).toBe(true);
    expect(last).toBeLessThanOrEqual(300_000);
    // 100,000, 50,000 and 25,000 expected: a seeded draw, within 1.5% (several standard deviations).
    expect(bins[0]! / 100_000).toBeCloseTo(1, 1);
    expect(Math.abs(bins[1]! / 50_000 - 1)).toBeLessThan(0.015);
    expect(Math.abs(bins[2]! / 25_000 - 1)).toBeLessThan(0.02);
  });
});
