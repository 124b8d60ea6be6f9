/** A seeded PRNG returning floats in [0, 1); the same seed always yields the same sequence. */
export type Random = () => number;

/**
 * mulberry32: a tiny 32-bit generator. Chosen because it is a few lines of integer math,
 * so its output is identical on every JS engine (unlike Math.random, which cannot be seeded).
 */
export function mulberry32(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fills a Float32Array with values uniform in [-limit, limit). */
export function uniform(random: Random, count: number, limit: number): Float32Array {
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = (random() * 2 - 1) * limit;
  return out;
}
