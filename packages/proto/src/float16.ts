/**
 * IEEE 754 half (FP16) and bfloat16 (BF16) conversions. Numbers are rounded straight from float64
 * (not through float32, which would round twice) to nearest, ties to even; NaN and ±Infinity are kept.
 */

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The value of FP16 bits (the low 16 bits of `bits`). */
export function float16BitsToNumber(bits: number): number {
  const exponent = (bits >>> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  const sign = bits & 0x8000 ? -1 : 1;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 0x1f) return mantissa === 0 ? sign * Infinity : NaN;
  return sign * (0x400 + mantissa) * 2 ** (exponent - 25);
}

/** The value of BF16 bits (the low 16 bits of `bits`): the top half of a float32. */
export function bfloat16BitsToNumber(bits: number): number {
  u32[0] = (bits & 0xffff) << 16;
  return f32[0]!;
}

/** FP16 bits of the nearest half to `value` (ties to even; beyond ±65504 rounds to ±Infinity). */
export function numberToFloat16Bits(value: number): number {
  return toMinifloatBits(value, 10, 15);
}

/** BF16 bits of the nearest bfloat16 to `value` (ties to even). */
export function numberToBfloat16Bits(value: number): number {
  return toMinifloatBits(value, 7, 127);
}

/** A binary float with 1 sign bit, 15 - mantissaBits exponent bits and the given exponent bias. */
function toMinifloatBits(value: number, mantissaBits: number, bias: number): number {
  const signBit = 0x8000;
  const infinity = (0x7fff >>> mantissaBits) << mantissaBits;
  if (Number.isNaN(value)) return infinity | (1 << (mantissaBits - 1)); // the canonical quiet NaN
  const sign = value < 0 || Object.is(value, -0) ? signBit : 0;
  const a = Math.abs(value);
  if (a === Infinity) return sign | infinity;
  if (a === 0) return sign;
  const implicit = 2 ** mantissaBits;
  const minExponent = 1 - bias;
  let exponent = Math.floor(Math.log2(a));
  if (exponent < minExponent) {
    // Subnormal: a multiple of 2^(minExponent - mantissaBits). Rounding up to `implicit` yields the
    // smallest normal's bits, which is right.
    return sign | roundHalfEven(a * 2 ** (mantissaBits - minExponent));
  }
  // Scaling by a power of two is exact; log2 may be off by one near powers of two, so correct it.
  let m = a * 2 ** (mantissaBits - exponent);
  if (m < implicit) {
    m *= 2;
    exponent--;
  } else if (m >= 2 * implicit) {
    m /= 2;
    exponent++;
  }
  // A mantissa that rounds up to 2 * implicit carries into the exponent, possibly up to infinity.
  const bits = (exponent + bias) * implicit + roundHalfEven(m) - implicit;
  return sign | (bits >= infinity ? infinity : bits);
}

function roundHalfEven(x: number): number {
  const floor = Math.floor(x);
  const fraction = x - floor;
  return fraction > 0.5 || (fraction === 0.5 && floor % 2 === 1) ? floor + 1 : floor;
}
