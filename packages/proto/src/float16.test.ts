import { describe, expect, it } from 'vitest';
import { bfloat16BitsToNumber, float16BitsToNumber, numberToBfloat16Bits, numberToFloat16Bits } from './float16.js';

const isNaNBits = (bits: number, mantissaBits: number) => {
  const exponentMask = (0x7fff >>> mantissaBits) << mantissaBits;
  return (bits & exponentMask) === exponentMask && (bits & ((1 << mantissaBits) - 1)) !== 0;
};

describe('FP16', () => {
  it('round-trips every non-NaN bit pattern exactly', () => {
    for (let bits = 0; bits < 0x10000; bits++) {
      if (isNaNBits(bits, 10)) {
        expect(float16BitsToNumber(bits)).toBeNaN();
        continue;
      }
      if (numberToFloat16Bits(float16BitsToNumber(bits)) !== bits) {
        expect.fail(`bits 0x${bits.toString(16)}: ${float16BitsToNumber(bits)} -> 0x${numberToFloat16Bits(float16BitsToNumber(bits)).toString(16)}`);
      }
    }
  });

  it('decodes known values', () => {
    expect(float16BitsToNumber(0x3c00)).toBe(1);
    expect(float16BitsToNumber(0xc000)).toBe(-2);
    expect(float16BitsToNumber(0x7bff)).toBe(65504);
    expect(float16BitsToNumber(0x0001)).toBe(2 ** -24);
    expect(float16BitsToNumber(0x0400)).toBe(2 ** -14);
    expect(float16BitsToNumber(0x7c00)).toBe(Infinity);
    expect(float16BitsToNumber(0xfc00)).toBe(-Infinity);
    expect(Object.is(float16BitsToNumber(0x8000), -0)).toBe(true);
  });

  it.each([
    [1 + 2 ** -11, 0x3c00, 'a tie rounds to the even mantissa (down)'],
    [1 + 3 * 2 ** -11, 0x3c02, 'a tie rounds to the even mantissa (up)'],
    [1 + 2 ** -11 + 2 ** -40, 0x3c01, 'just above a tie rounds up (no double rounding through float32)'],
    [1 + 2 ** -11 - 2 ** -40, 0x3c00, 'just below a tie rounds down'],
    [0.1, 0x2e66, '0.1'],
    [65519.99, 0x7bff, 'just below the overflow threshold stays finite'],
    [65520, 0x7c00, 'the overflow threshold rounds to infinity'],
    [-1e10, 0xfc00, 'large negatives become -Infinity'],
    [2 ** -25, 0x0000, 'half the smallest subnormal ties to zero'],
    [2 ** -25 + 2 ** -40, 0x0001, 'just above it rounds to the smallest subnormal'],
    [3 * 2 ** -25, 0x0002, 'subnormal ties go to even'],
    [2 ** -14 - 2 ** -25, 0x0400, 'the largest subnormal rounds up into the smallest normal'],
    [-0, 0x8000, 'negative zero'],
    [-(2 ** -30), 0x8000, 'tiny negatives underflow to -0'],
    [NaN, 0x7e00, 'NaN is the canonical quiet NaN'],
    [Infinity, 0x7c00, 'Infinity'],
    [2 ** 15, 0x7800, 'powers of two'],
  ])('%d -> %i: %s', (value, bits) => {
    expect(numberToFloat16Bits(value)).toBe(bits);
  });
});

describe('BF16', () => {
  it('round-trips every non-NaN bit pattern exactly', () => {
    for (let bits = 0; bits < 0x10000; bits++) {
      if (isNaNBits(bits, 7)) continue;
      if (numberToBfloat16Bits(bfloat16BitsToNumber(bits)) !== bits) expect.fail(`bits 0x${bits.toString(16)}`);
    }
  });

  it('rounds float32 values like the usual integer trick (ties to even)', () => {
    const f = new Float32Array(1);
    const u = new Uint32Array(f.buffer);
    let seed = 12345;
    for (let i = 0; i < 100_000; i++) {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      u[0] = seed;
      if (Number.isNaN(f[0])) continue;
      const expected = ((u[0] + 0x7fff + ((u[0] >>> 16) & 1)) >>> 16) & 0xffff;
      const got = numberToBfloat16Bits(f[0]!);
      // The integer trick overflows float32's max to infinity bits exactly as RNE does.
      if (got !== expected) expect.fail(`0x${u[0].toString(16)}: got 0x${got.toString(16)}, expected 0x${expected.toString(16)}`);
    }
  });

  it.each([
    [1, 0x3f80],
    [1 + 2 ** -8, 0x3f80],
    [1 + 3 * 2 ** -8, 0x3f82],
    [-2, 0xc000],
    [NaN, 0x7fc0],
    [-Infinity, 0xff80],
    [1e39, 0x7f80],
    [-0, 0x8000],
    [2 ** -133, 0x0001],
  ])('%d -> %i', (value, bits) => {
    expect(numberToBfloat16Bits(value)).toBe(bits);
  });

  it('decodes as the top half of a float32', () => {
    expect(bfloat16BitsToNumber(0x3f80)).toBe(1);
    expect(bfloat16BitsToNumber(0x4049)).toBe(3.140625);
    expect(bfloat16BitsToNumber(0x7fc0)).toBeNaN();
  });
});
