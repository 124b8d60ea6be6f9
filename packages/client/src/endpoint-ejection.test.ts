import { describe, expect, it } from 'vitest';
import { OutlierDetector, type EjectionState } from './endpoint-ejection.js';

const fresh = (): EjectionState => ({ consecutiveFailures: 0, ejectedUntil: 0, ejections: 0 });
const failing = (n: number): EjectionState => ({ ...fresh(), consecutiveFailures: n });

describe('OutlierDetector (consecutive failures)', () => {
  it('ejects an endpoint after so many failures in a row, and not before', () => {
    const detector = new OutlierDetector({ consecutiveFailures: 3, baseEjectionMs: 1000 });
    const a = failing(2);
    const all = [a, fresh(), fresh()];
    expect(detector.afterFailure(a, all, 50)).toBe(0);
    a.consecutiveFailures = 3;
    expect(detector.afterFailure(a, all, 50)).toBe(1000);
    expect(a).toEqual({ consecutiveFailures: 0, ejectedUntil: 1050, ejections: 1 });
  });

  it('doubles the ejection each time in a row, up to the longest', () => {
    const detector = new OutlierDetector({ consecutiveFailures: 1, baseEjectionMs: 1000, maxEjectionMs: 5000 });
    const a = fresh();
    const all = [a, fresh()];
    const lengths: number[] = [];
    let now = 0;
    for (let i = 0; i < 5; i++) {
      a.consecutiveFailures = 1;
      const ms = detector.afterFailure(a, all, now);
      lengths.push(ms);
      now += ms; // back from ejection, and failing again at once
    }
    expect(lengths).toEqual([1000, 2000, 4000, 5000, 5000]);
  });

  it('earns back one doubling per success after an ejection, none while still ejected', () => {
    const detector = new OutlierDetector({ consecutiveFailures: 1, baseEjectionMs: 1000 });
    const a = { consecutiveFailures: 0, ejectedUntil: 2000, ejections: 2 };
    detector.afterSuccess(a, 1999);
    expect(a.ejections).toBe(2);
    detector.afterSuccess(a, 2000);
    detector.afterSuccess(a, 2001);
    detector.afterSuccess(a, 2002);
    expect(a.ejections).toBe(0);
  });

  it('does not eject an endpoint that is ejected already', () => {
    const detector = new OutlierDetector({ consecutiveFailures: 1 });
    const a = { consecutiveFailures: 4, ejectedUntil: 500, ejections: 1 };
    expect(detector.afterFailure(a, [a, fresh(), fresh()], 100)).toBe(0);
    expect(a).toEqual({ consecutiveFailures: 4, ejectedUntil: 500, ejections: 1 });
  });

  it('ejects at most maxEjectionPercent of the endpoints, at least one, and never all', () => {
    const detector = new OutlierDetector({ consecutiveFailures: 1, maxEjectionPercent: 50 });
    const four = [failing(1), failing(1), failing(1), failing(1)];
    expect(four.map((e) => detector.afterFailure(e, four, 0) > 0)).toEqual([true, true, false, false]);

    const two = [failing(1), failing(1)];
    const strict = new OutlierDetector({ consecutiveFailures: 1, maxEjectionPercent: 10 });
    expect(two.map((e) => strict.afterFailure(e, two, 0) > 0)).toEqual([true, false]);

    const one = [failing(1)];
    const lenient = new OutlierDetector({ consecutiveFailures: 1, maxEjectionPercent: 100 });
    expect(lenient.afterFailure(one[0]!, one, 0)).toBe(0);
  });

  it('counts only endpoints still ejected at `now` against the limit', () => {
    const detector = new OutlierDetector({ consecutiveFailures: 1, maxEjectionPercent: 50 });
    const back = { consecutiveFailures: 0, ejectedUntil: 100, ejections: 1 };
    const a = failing(1);
    expect(detector.afterFailure(a, [back, a], 99)).toBe(0);
    expect(detector.afterFailure(a, [back, a], 100)).toBeGreaterThan(0);
  });
});
