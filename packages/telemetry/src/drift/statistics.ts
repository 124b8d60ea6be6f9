/**
 * Distances between two binned distributions: a reference's counts and a window's, over the same
 * bins. Each function normalises the counts itself, and returns NaN when either side is empty.
 */

/**
 * The share an empty bin is given in PSI. Without it one empty bin makes PSI infinite; with 1e-4
 * an empty bin adds at most about (p - 1e-4)·ln(p / 1e-4), 0.69 for p = 0.1: enough to alert.
 */
export const PSI_EPSILON = 1e-4;

/**
 * Population stability index: Σ (qᵢ - pᵢ)·ln(qᵢ / pᵢ) over the bins' shares p (reference) and q
 * (current), each share floored at `epsilon`. 0 for identical distributions; by convention
 * under 0.1 is stable, 0.1 to 0.25 a shift worth a look, above 0.25 a major shift.
 */
export function psi(reference: ArrayLike<number>, current: ArrayLike<number>, epsilon = PSI_EPSILON): number {
  const [p, q] = totals('psi', reference, current);
  if (p === 0 || q === 0) return NaN;
  let sum = 0;
  for (let i = 0; i < reference.length; i++) {
    const a = Math.max((reference[i] as number) / p, epsilon);
    const b = Math.max((current[i] as number) / q, epsilon);
    sum += (b - a) * Math.log(b / a);
  }
  return sum;
}

/**
 * Jensen–Shannon distance: the square root of the JS divergence with base-2 logarithms, so it
 * lies in [0, 1] (1 for distributions with no bin in common). Empty bins need no epsilon.
 */
export function jensenShannon(reference: ArrayLike<number>, current: ArrayLike<number>): number {
  const [p, q] = totals('jensenShannon', reference, current);
  if (p === 0 || q === 0) return NaN;
  let divergence = 0;
  for (let i = 0; i < reference.length; i++) {
    const a = (reference[i] as number) / p;
    const b = (current[i] as number) / q;
    const m = (a + b) / 2;
    if (a > 0) divergence += 0.5 * a * Math.log2(a / m);
    if (b > 0) divergence += 0.5 * b * Math.log2(b / m);
  }
  return Math.sqrt(Math.min(1, Math.max(0, divergence)));
}

/**
 * Binned Kolmogorov–Smirnov statistic: the largest absolute difference between the cumulative
 * shares, in [0, 1]. For categorical bins it depends on the order of the classes.
 */
export function kolmogorovSmirnov(reference: ArrayLike<number>, current: ArrayLike<number>): number {
  const [p, q] = totals('kolmogorovSmirnov', reference, current);
  if (p === 0 || q === 0) return NaN;
  let a = 0;
  let b = 0;
  let max = 0;
  for (let i = 0; i < reference.length; i++) {
    a += (reference[i] as number) / p;
    b += (current[i] as number) / q;
    max = Math.max(max, Math.abs(a - b));
  }
  return max;
}

function totals(name: string, reference: ArrayLike<number>, current: ArrayLike<number>): [number, number] {
  if (reference.length !== current.length) throw new RangeError(`${name}: expected ${reference.length} current counts (one per reference bin), got ${current.length}`);
  let p = 0;
  let q = 0;
  for (let i = 0; i < reference.length; i++) {
    p += reference[i] as number;
    q += current[i] as number;
  }
  return [p, q];
}
