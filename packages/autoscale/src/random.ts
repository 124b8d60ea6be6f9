/** Seeded random numbers for the simulation: the same seed gives the same run. */

/** mulberry32: a small 32-bit generator, uniform in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * An independent stream per purpose (`stream` 1, 2, …) from one seed, so that arrivals stay the
 * same when, say, the policy changes how many service times are drawn.
 */
export function randomStream(seed: number, stream: number): () => number {
  // splitmix32-style mixing of the seed and the stream number.
  let h = (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(stream, 0x85ebca6b)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x21f0aaad) >>> 0;
  h = Math.imul(h ^ (h >>> 15), 0x735a2d97) >>> 0;
  return mulberry32((h ^ (h >>> 15)) >>> 0);
}

/** An exponential variate of mean 1. */
export function exponential(random: () => number): number {
  return -Math.log(1 - random());
}
