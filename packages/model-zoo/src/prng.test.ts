import { describe, expect, it } from 'vitest';
import { mulberry32, uniform } from './prng.js';

describe('mulberry32', () => {
  it('repeats its sequence for a seed and stays in [0, 1)', () => {
    const a = Array.from({ length: 1000 }, mulberry32(42));
    const b = Array.from({ length: 1000 }, mulberry32(42));
    expect(a).toEqual(b);
    expect(a.every((x) => x >= 0 && x < 1)).toBe(true);
    expect(Array.from({ length: 1000 }, mulberry32(43))).not.toEqual(a);
  });

  it('produces a pinned sequence, so weights never drift across engines or refactors', () => {
    const r = mulberry32(1);
    expect([r(), r(), r()]).toMatchInlineSnapshot(`
      [
        0.6270739405881613,
        0.002735721180215478,
        0.5274470399599522,
      ]
    `);
  });

  it('uniform stays within ±limit', () => {
    const values = uniform(mulberry32(5), 10_000, 0.25);
    expect(Math.max(...values)).toBeLessThanOrEqual(0.25);
    expect(Math.min(...values)).toBeGreaterThanOrEqual(-0.25);
  });
});
