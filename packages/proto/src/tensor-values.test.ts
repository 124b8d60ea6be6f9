import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bfloat16BitsToNumber, float16BitsToNumber, numberToBfloat16Bits, numberToFloat16Bits } from './float16.js';
import { TensorCodecError } from './tensor-errors.js';
import { dataTypes, type DataType, type TensorData } from './tensor-types.js';
import { tensorDataFromValues } from './tensor-values.js';

/**
 * The rules, written out a second time as an oracle (independent of the checker): which values each
 * datatype takes, and what it stores for them.
 */
const integerRanges: Partial<Record<DataType, readonly [bigint, bigint]>> = {
  UINT8: [0n, 255n],
  UINT16: [0n, 65535n],
  UINT32: [0n, 4294967295n],
  UINT64: [0n, 18446744073709551615n],
  INT8: [-128n, 127n],
  INT16: [-32768n, 32767n],
  INT32: [-2147483648n, 2147483647n],
  INT64: [-9223372036854775808n, 9223372036854775807n],
};

/** Below these magnitudes a finite number stays finite in the datatype (the midpoint to the next power of two rounds up). */
const overflowAt: Partial<Record<DataType, number>> = {
  FP16: 65520,
  BF16: (2 - 2 ** -8) * 2 ** 127,
  FP32: (2 - 2 ** -24) * 2 ** 127,
  FP64: Infinity,
};

/** What each datatype's elements must be, as the messages must say it. */
const expectations: Record<DataType, string> = {
  BOOL: 'true or false (BOOL)',
  UINT8: 'an integer from 0 to 255 (UINT8)',
  UINT16: 'an integer from 0 to 65535 (UINT16)',
  UINT32: 'an integer from 0 to 4294967295 (UINT32)',
  UINT64: 'an integer from 0 to 18446744073709551615 (UINT64; a decimal string beyond 9007199254740991)',
  INT8: 'an integer from -128 to 127 (INT8)',
  INT16: 'an integer from -32768 to 32767 (INT16)',
  INT32: 'an integer from -2147483648 to 2147483647 (INT32)',
  INT64: 'an integer from -9223372036854775808 to 9223372036854775807 (INT64; a decimal string beyond ±9007199254740991)',
  FP16: 'a number in FP16 range (±65504)',
  BF16: 'a number in BF16 range (±3.3895314e38)',
  FP32: 'a number in FP32 range (±3.4028235e38)',
  FP64: 'a number in FP64 range (±1.7976931348623157e308)',
  BYTES: 'a string or bytes (BYTES)',
};

const is64 = (d: DataType) => d === 'INT64' || d === 'UINT64';
const isFloat = (d: DataType) => d in overflowAt;
const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder();

/** The integer a value stands for exactly, per the rules (decimal strings only for 64-bit types). */
function integerOf(datatype: DataType, v: unknown): bigint | undefined {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number') return Number.isInteger(v) && (Number.isSafeInteger(v) || !is64(datatype)) ? BigInt(v) : undefined;
  if (typeof v === 'string' && is64(datatype) && /^-?(0|[1-9][0-9]*)$/.test(v)) return BigInt(v);
  return undefined;
}

/** The datatype's own rounding of a number, as a number. */
function rounded(datatype: DataType, v: number): number {
  if (datatype === 'FP16') return float16BitsToNumber(numberToFloat16Bits(v));
  if (datatype === 'BF16') return bfloat16BitsToNumber(numberToBfloat16Bits(v));
  if (datatype === 'FP32') return Math.fround(v);
  return v;
}

/** Whether the rules accept `v` for `datatype`; `bytes` when it comes in a Uint8Array (BOOL's storage). */
function accepts(datatype: DataType, v: unknown, bytes = false): boolean {
  if (datatype === 'BOOL') return typeof v === 'boolean' || (bytes && (v === 0 || v === 1));
  if (datatype === 'BYTES') return v instanceof Uint8Array || (typeof v === 'string' && utf8Decoder.decode(utf8.encode(v)) === v);
  if (isFloat(datatype)) return typeof v === 'number' && (!Number.isFinite(v) || Math.abs(v) < overflowAt[datatype]!);
  const x = integerOf(datatype, v);
  const [min, max] = integerRanges[datatype]!;
  return x !== undefined && x >= min && x <= max;
}

/** Whether element `i` of `data` is exactly what `datatype` stores for `v` (floats: as the datatype rounds it). */
function storedExactly(datatype: DataType, data: TensorData, i: number, v: unknown): boolean {
  const got = data[i];
  if (datatype === 'BOOL') return got === (v === true || v === 1 ? 1 : 0);
  if (datatype === 'BYTES') return utf8Decoder.decode(got as Uint8Array) === (typeof v === 'string' ? v : utf8Decoder.decode(v as Uint8Array)) && (typeof v === 'string' || got === v);
  if (datatype === 'FP16') return got === numberToFloat16Bits(v as number) && Object.is(float16BitsToNumber(got as number), rounded(datatype, v as number));
  if (datatype === 'BF16') return got === numberToBfloat16Bits(v as number) && Object.is(bfloat16BitsToNumber(got as number), rounded(datatype, v as number));
  if (isFloat(datatype)) return Object.is(got, rounded(datatype, v as number));
  return BigInt(got as number | bigint) === integerOf(datatype, v);
}

/** Values each datatype must take. */
function inRange(datatype: DataType): fc.Arbitrary<unknown> {
  if (datatype === 'BOOL') return fc.boolean();
  if (datatype === 'BYTES') return fc.oneof(fc.string({ unit: 'binary' }), fc.uint8Array({ maxLength: 8 }));
  if (isFloat(datatype)) {
    const limit = overflowAt[datatype]!;
    const finite = fc.double({ noNaN: true, noDefaultInfinity: true }).filter((v) => Math.abs(v) < limit);
    const near = fc.double({ min: Math.min(limit, Number.MAX_VALUE) / 2, max: Math.min(limit, Number.MAX_VALUE), maxExcluded: limit !== Infinity, noNaN: true }).chain((v) => fc.constantFrom(v, -v));
    const integers = fc.integer().filter((v) => Math.abs(v) < limit);
    return fc.oneof(finite, near, integers, fc.constantFrom(NaN, Infinity, -Infinity, -0, 0, Number.MIN_VALUE));
  }
  const [min, max] = integerRanges[datatype]!;
  const big = fc.bigInt({ min, max });
  const edges = fc.constantFrom(min, max, 0n > min ? 0n : min);
  return fc.oneof(big, edges).chain((b) => {
    const safe = b >= BigInt(Number.MIN_SAFE_INTEGER) && b <= BigInt(Number.MAX_SAFE_INTEGER);
    return fc.constantFrom<unknown>(b, ...(safe ? [Number(b)] : []), ...(is64(datatype) ? [b.toString()] : []));
  });
}

const notNumbers = fc.oneof(
  fc.constantFrom<unknown>(null, undefined, {}, [], [1], '1', '1.5', '', 'x', '0x10', ' 1', '+1', '01', '1e3', true, false),
  fc.string({ maxLength: 50 }),
  fc.object({ maxDepth: 1 }),
);
const loneSurrogates = fc
  .tuple(fc.string({ unit: 'binary', maxLength: 3 }), fc.integer({ min: 0xd800, max: 0xdfff }))
  .map(([s, c]) => `${s}${String.fromCharCode(c)}`);

/** Values each datatype must refuse. */
function outOfRange(datatype: DataType): fc.Arbitrary<unknown> {
  const anyNumber = fc.oneof(fc.double(), fc.integer(), fc.constantFrom(0, 1, NaN, Infinity, -Infinity));
  if (datatype === 'BOOL') return fc.oneof(anyNumber, notNumbers.filter((v) => typeof v !== 'boolean'), fc.bigInt(), fc.uint8Array({ maxLength: 2 }));
  if (datatype === 'BYTES') return fc.oneof(anyNumber, fc.bigInt(), fc.boolean(), fc.constantFrom<unknown>(null, undefined, {}, [], ['a']), loneSurrogates);
  const strings = is64(datatype) ? fc.constantFrom('1.5', '', 'x', '0x10', ' 1', '+1', '01', '1e3', '-', '--1') : fc.string({ maxLength: 20 });
  const others = fc.oneof(notNumbers.filter((v) => typeof v !== 'string'), strings, fc.boolean());
  if (isFloat(datatype)) {
    const limit = overflowAt[datatype]!;
    if (limit === Infinity) return fc.oneof(others, fc.bigInt());
    const overflow = fc.double({ min: limit, max: Number.MAX_VALUE, noNaN: true }).chain((v) => fc.constantFrom(v, -v));
    return fc.oneof(overflow, others, fc.bigInt());
  }
  const [min, max] = integerRanges[datatype]!;
  const beyond = fc.oneof(fc.bigInt({ min: min - 2n ** 70n, max: min - 1n }), fc.bigInt({ min: max + 1n, max: max + 2n ** 70n }));
  const fractions = fc.double({ noNaN: true, noDefaultInfinity: true }).filter((v) => !Number.isInteger(v));
  const unsafe = fc.double({ min: 2 ** 53, max: 2 ** 62 }).filter(Number.isInteger).chain((v) => fc.constantFrom(v, -v));
  return fc.oneof(
    beyond.chain((b) => fc.constantFrom<unknown>(b, ...(is64(datatype) ? [b.toString()] : [Number(b)]))),
    fractions,
    unsafe,
    fc.constantFrom(NaN, Infinity, -Infinity),
    others,
  );
}

/** A row of values in range with `bad` at a random index. */
const rowWith = (datatype: DataType, bad: fc.Arbitrary<unknown>) =>
  fc.tuple(fc.array(inRange(datatype), { maxLength: 5 }), bad, fc.array(inRange(datatype), { maxLength: 5 })).map(([before, v, after]) => ({
    values: [...before, v, ...after],
    index: before.length,
    bad: v,
  }));

function thrown(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('tensorDataFromValues', () => {
  it.each(dataTypes)('%s: takes every value in range, stored exactly (floats as the datatype rounds them)', (datatype) => {
    fc.assert(
      fc.property(fc.array(inRange(datatype), { maxLength: 8 }), (values) => {
        const data = tensorDataFromValues(datatype, values, "input 'x'");
        expect(data).toHaveLength(values.length);
        values.forEach((v, i) => expect(storedExactly(datatype, data, i, v), `element ${i}: ${fc.stringify(v)}`).toBe(true));
      }),
    );
  });

  it.each(dataTypes)('%s: refuses every value out of range, naming the input, the element and the range', (datatype) => {
    fc.assert(
      fc.property(rowWith(datatype, outOfRange(datatype)), ({ values, index }) => {
        const error = thrown(() => tensorDataFromValues(datatype, values, "input 'x'"));
        expect(error).toBeInstanceOf(TensorCodecError);
        expect((error as TensorCodecError).field).toBe('contents');
        const message = (error as Error).message;
        expect(message.startsWith(`input 'x': element ${index} is `), message).toBe(true);
        expect(message).toContain(`, expected ${expectations[datatype]}`);
      }),
    );
  });

  it.each(dataTypes)('%s: converts nothing silently: any value is refused, or stored exactly as the rules say', (datatype) => {
    const anyValue = fc.oneof(fc.anything(), fc.double(), fc.integer(), fc.bigInt(), fc.string(), fc.boolean(), inRange(datatype), outOfRange(datatype));
    fc.assert(
      fc.property(anyValue, (v) => {
        const error = thrown(() => tensorDataFromValues(datatype, [v], "input 'x'"));
        expect(error === undefined ? 'taken' : 'refused', `value ${fc.stringify(v)}`).toBe(accepts(datatype, v) ? 'taken' : 'refused');
        if (error === undefined) expect(storedExactly(datatype, tensorDataFromValues(datatype, [v], "input 'x'"), 0, v)).toBe(true);
        else expect(error).toBeInstanceOf(TensorCodecError);
      }),
      { numRuns: 300 },
    );
  });

  const typedArrays = [Float32Array, Float64Array, Int8Array, Int16Array, Int32Array, BigInt64Array, Uint8Array, Uint16Array, Uint32Array, BigUint64Array];
  const ownStorage: Partial<Record<DataType, unknown>> = {
    UINT8: Uint8Array, UINT16: Uint16Array, UINT32: Uint32Array, UINT64: BigUint64Array,
    INT8: Int8Array, INT16: Int16Array, INT32: Int32Array, INT64: BigInt64Array,
    FP16: Uint16Array, BF16: Uint16Array, FP32: Float32Array, FP64: Float64Array,
  };

  it.each(dataTypes)('%s: checks each element of a typed array of another datatype; takes its own storage as it is', (datatype) => {
    const bytes = fc.uint8Array({ minLength: 0, maxLength: 32 }).map((b) => b.buffer.slice(0, b.length - (b.length % 8)));
    fc.assert(
      fc.property(fc.constantFrom(...typedArrays), bytes, (Ctor, buffer) => {
        const array = new Ctor(buffer);
        const elements = Array.from(array as ArrayLike<unknown>);
        const error = thrown(() => tensorDataFromValues(datatype, array, "input 'x'"));
        if (ownStorage[datatype] === Ctor) {
          expect(error).toBeUndefined();
          expect(tensorDataFromValues(datatype, array, "input 'x'")).toBe(array);
          return;
        }
        const bytesForBool = datatype === 'BOOL' && Ctor === Uint8Array;
        expect(error === undefined).toBe(elements.every((v) => accepts(datatype, v, bytesForBool)));
        if (error === undefined) {
          const data = tensorDataFromValues(datatype, array, "input 'x'");
          elements.forEach((v, i) => expect(storedExactly(datatype, data, i, v)).toBe(true));
        }
      }),
    );
  });

  it.each([
    ['FP32', [1, 2, 3, 'x'], `input 'x': element 3 is "x", expected a number in FP32 range (±3.4028235e38)`],
    ['FP32', [1e40], 'input \'x\': element 0 is 1e+40, expected a number in FP32 range (±3.4028235e38)'],
    ['FP32', [-1e39], 'input \'x\': element 0 is -1e+39, expected a number in FP32 range (±3.4028235e38)'],
    ['FP32', [1, null], "input 'x': element 1 is null, expected a number in FP32 range (±3.4028235e38)"],
    ['FP32', [{}], "input 'x': element 0 is {}, expected a number in FP32 range (±3.4028235e38)"],
    ['FP32', [[1, 2]], "input 'x': element 0 is [1,2], expected a number in FP32 range (±3.4028235e38)"],
    ['FP16', [70000], "input 'x': element 0 is 70000, expected a number in FP16 range (±65504)"],
    ['BF16', [1e39], "input 'x': element 0 is 1e+39, expected a number in BF16 range (±3.3895314e38)"],
    ['FP64', ['1.5'], `input 'x': element 0 is "1.5", expected a number in FP64 range (±1.7976931348623157e308)`],
    ['INT8', [300], "input 'x': element 0 is 300, expected an integer from -128 to 127 (INT8)"],
    ['UINT8', [-1], "input 'x': element 0 is -1, expected an integer from 0 to 255 (UINT8)"],
    ['INT32', [1.5], "input 'x': element 0 is 1.5, expected an integer from -2147483648 to 2147483647 (INT32)"],
    ['INT32', ['5'], `input 'x': element 0 is "5", expected an integer from -2147483648 to 2147483647 (INT32)`],
    ['UINT32', [NaN], "input 'x': element 0 is NaN, expected an integer from 0 to 4294967295 (UINT32)"],
    ['INT16', [40000n], "input 'x': element 0 is 40000n, expected an integer from -32768 to 32767 (INT16)"],
    ['INT64', [2 ** 53], "input 'x': element 0 is 9007199254740992, expected an integer from -9223372036854775808 to 9223372036854775807 (INT64; a decimal string beyond ±9007199254740991); as a number it may have lost precision already"],
    ['INT64', ['9223372036854775808'], `input 'x': element 0 is "9223372036854775808", expected an integer from -9223372036854775808 to 9223372036854775807 (INT64; a decimal string beyond ±9007199254740991)`],
    ['UINT64', [-1n], "input 'x': element 0 is -1n, expected an integer from 0 to 18446744073709551615 (UINT64; a decimal string beyond 9007199254740991)"],
    ['BOOL', [true, 1], "input 'x': element 1 is 1, expected true or false (BOOL)"],
    ['BOOL', Uint8Array.of(1, 2), "input 'x': element 1 is 2, expected true or false (BOOL), or 0 or 1 in a Uint8Array"],
    ['BYTES', ['a', 5], "input 'x': element 1 is 5, expected a string or bytes (BYTES)"],
    ['BYTES', ['\ud800'], `input 'x': element 0 is "\\ud800", expected a string or bytes (BYTES); a lone surrogate has no UTF-8`],
    ['FP32', ['a'.repeat(100)], `input 'x': element 0 is "${'a'.repeat(38)}…, expected a number in FP32 range (±3.4028235e38)`],
  ] as Array<[DataType, ArrayLike<unknown>, string]>)('%s: refuses with the message %2$s', (datatype, values, message) => {
    expect(() => tensorDataFromValues(datatype, values, "input 'x'")).toThrow(new TensorCodecError('contents', message));
  });

  it('takes 64-bit integers beyond 2^53 as decimal strings and bigints, exactly', () => {
    expect(tensorDataFromValues('INT64', ['9007199254740993', -(2n ** 63n), 5], "input 'x'")).toEqual(BigInt64Array.of(9007199254740993n, -(2n ** 63n), 5n));
    expect(tensorDataFromValues('UINT64', ['18446744073709551615'], "input 'x'")).toEqual(BigUint64Array.of(2n ** 64n - 1n));
  });

  it('keeps NaN and ±Infinity in float datatypes, and rounds as the datatype does', () => {
    expect(tensorDataFromValues('FP32', [NaN, Infinity, -Infinity, 0.1], "input 'x'")).toEqual(Float32Array.of(NaN, Infinity, -Infinity, 0.1));
    expect(tensorDataFromValues('FP16', [NaN, -Infinity, 65504, 65519], "input 'x'")).toEqual(Uint16Array.of(0x7e00, 0xfc00, 0x7bff, 0x7bff));
  });
});
