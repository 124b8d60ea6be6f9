/**
 * Largest |a[i] - b[i]| / max(|b[i]|, 1): relative for values of magnitude above 1, absolute
 * below, where a relative error would only measure cancellation in a sum. Throws on a length mismatch.
 */
export function maxRelativeDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let max = 0;
  for (let i = 0; i < a.length; i++) {
    const expected = b[i] ?? NaN;
    max = Math.max(max, Math.abs((a[i] ?? NaN) - expected) / Math.max(Math.abs(expected), 1));
  }
  return max;
}
