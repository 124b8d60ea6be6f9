import { describe, expect, it } from 'vitest';
import { jensenShannon, kolmogorovSmirnov, psi, PSI_EPSILON } from './statistics.js';

describe('psi', () => {
  it('is 0 for proportional counts', () => {
    expect(psi([10, 20, 30], [20, 40, 60])).toBeCloseTo(0, 12);
  });

  it('matches the hand-computed value of a 50/50 to 25/75 shift', () => {
    // (0.25 - 0.5)·ln(0.25/0.5) + (0.75 - 0.5)·ln(0.75/0.5)
    expect(psi([50, 50], [25, 75])).toBeCloseTo(0.25 * Math.log(2) + 0.25 * Math.log(1.5), 12);
    expect(psi([50, 50], [25, 75])).toBeCloseTo(0.274653, 6);
  });

  it('floors an empty bin at epsilon instead of going infinite', () => {
    // p = (1, 1e-4), q = (0.5, 0.5)
    const expected = (0.5 - 1) * Math.log(0.5 / 1) + (0.5 - PSI_EPSILON) * Math.log(0.5 / PSI_EPSILON);
    expect(psi([100, 0], [50, 50])).toBeCloseTo(expected, 12);
    expect(psi([100, 0], [50, 50])).toBeCloseTo(4.604319, 5);
  });

  it('is symmetric', () => {
    expect(psi([1, 2, 7], [3, 3, 4])).toBeCloseTo(psi([3, 3, 4], [1, 2, 7]), 12);
  });
});

describe('jensenShannon', () => {
  it('is 0 for identical and 1 for disjoint distributions', () => {
    expect(jensenShannon([5, 5], [1, 1])).toBeCloseTo(0, 12);
    expect(jensenShannon([1, 0], [0, 1])).toBeCloseTo(1, 12);
  });

  it('matches the hand-computed distance of a 50/50 to 25/75 shift', () => {
    // m = (0.375, 0.625); JSD = ½·KL(p‖m) + ½·KL(q‖m) in bits; distance = √JSD
    const klP = 0.5 * Math.log2(0.5 / 0.375) + 0.5 * Math.log2(0.5 / 0.625);
    const klQ = 0.25 * Math.log2(0.25 / 0.375) + 0.75 * Math.log2(0.75 / 0.625);
    expect(jensenShannon([50, 50], [25, 75])).toBeCloseTo(Math.sqrt((klP + klQ) / 2), 12);
    expect(jensenShannon([50, 50], [25, 75])).toBeCloseTo(0.220896, 5);
  });
});

describe('kolmogorovSmirnov', () => {
  it('is the largest gap between the cumulative shares', () => {
    // cumulative: (0.25, 0.5, 0.75, 1) against (0.1, 0.2, 0.7, 1)
    expect(kolmogorovSmirnov([1, 1, 1, 1], [1, 1, 5, 3])).toBeCloseTo(0.3, 12);
    expect(kolmogorovSmirnov([1, 0], [0, 1])).toBe(1);
    expect(kolmogorovSmirnov([2, 2], [1, 1])).toBe(0);
  });
});

describe('every statistic', () => {
  it('is NaN when a side is empty and throws when the bins differ in number', () => {
    for (const statistic of [psi, jensenShannon, kolmogorovSmirnov]) {
      expect(statistic([0, 0], [1, 1])).toBeNaN();
      expect(() => statistic([1, 1], [1, 1, 1])).toThrow('expected 2 current counts (one per reference bin), got 3');
    }
  });
});
