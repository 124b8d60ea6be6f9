/**
 * The SDK's inputs against every datatype: what a caller gives either reaches the wire exactly (floats
 * as the datatype rounds them) or is refused with INVALID_ARGUMENT, naming the input, the element and
 * the range, before any request exists. The rules themselves are property-tested in
 * @modelserve/proto (tensor-values.test.ts); these check that the SDK applies them on its paths.
 */
import fc from 'fast-check';
import {
  bfloat16BitsToNumber,
  dataTypes,
  decodeTensor,
  float16BitsToNumber,
  numberToBfloat16Bits,
  numberToFloat16Bits,
  type DataType,
  type DecodedTensor,
} from '@modelserve/proto';
import { describe, expect, it } from 'vitest';
import { ModelServeError } from './errors.js';
import { numbersToFp16, toDecodedTensor, type TensorInput } from './tensors.js';
import { encodePredictRequest } from './wire.js';

const integerRange: Partial<Record<DataType, [bigint, bigint]>> = {
  UINT8: [0n, 2n ** 8n - 1n],
  UINT16: [0n, 2n ** 16n - 1n],
  UINT32: [0n, 2n ** 32n - 1n],
  UINT64: [0n, 2n ** 64n - 1n],
  INT8: [-(2n ** 7n), 2n ** 7n - 1n],
  INT16: [-(2n ** 15n), 2n ** 15n - 1n],
  INT32: [-(2n ** 31n), 2n ** 31n - 1n],
  INT64: [-(2n ** 63n), 2n ** 63n - 1n],
};
/** The smallest magnitude each float datatype rounds to Infinity. */
const infiniteFrom: Partial<Record<DataType, number>> = { FP16: 65520, BF16: 511 * 2 ** 119, FP32: (2 ** 25 - 1) * 2 ** 103 };
const utf8 = new TextDecoder();

/** The element values of a decoded tensor: booleans, bigints (64-bit), numbers (FP16/BF16 decoded) or strings. */
function valuesOf(t: DecodedTensor): unknown[] {
  if (t.datatype === 'BOOL') return Array.from(t.data as Uint8Array, (b) => b === 1);
  if (t.datatype === 'BYTES') return (t.data as Uint8Array[]).map((b) => utf8.decode(b));
  if (t.datatype === 'FP16') return Array.from(t.data as Uint16Array, float16BitsToNumber);
  if (t.datatype === 'BF16') return Array.from(t.data as Uint16Array, bfloat16BitsToNumber);
  return Array.from(t.data as ArrayLike<number | bigint>);
}

/** What `v`, given for `datatype`, must arrive as. */
function arrivesAs(datatype: DataType, v: unknown): unknown {
  if (datatype === 'BOOL') return v === true || v === 1;
  if (datatype === 'BYTES') return typeof v === 'string' ? v : utf8.decode(v as Uint8Array);
  if (datatype === 'FP16') return float16BitsToNumber(numberToFloat16Bits(v as number));
  if (datatype === 'BF16') return bfloat16BitsToNumber(numberToBfloat16Bits(v as number));
  if (datatype === 'FP32') return Math.fround(v as number);
  if (datatype === 'FP64') return v;
  return datatype.endsWith('64') ? BigInt(v as bigint) : Number(v);
}

/** The tensor a server decodes from the request the SDK makes of `input`. */
function overTheWire(input: TensorInput): DecodedTensor {
  const [tensor] = encodePredictRequest('m', { x: input }, {}).inputs;
  return decodeTensor(tensor!, tensor!.raw_contents, "input 'x'");
}

/** Either the input's elements arrive exactly as `given` says, or the SDK refuses it with INVALID_ARGUMENT before making a request. */
function exactOrRefused(datatype: DataType, input: TensorInput, given: readonly unknown[]): 'sent' | ModelServeError {
  let tensor: DecodedTensor;
  try {
    tensor = overTheWire(input);
  } catch (error) {
    expect(error).toBeInstanceOf(ModelServeError);
    expect(error).toMatchObject({ code: 3, errorCode: 'InvalidArgument' });
    return error as ModelServeError;
  }
  expect(tensor.datatype).toBe(datatype);
  const got = valuesOf(tensor);
  given.forEach((v, i) => expect(Object.is(got[i], arrivesAs(datatype, v)) || got[i] === arrivesAs(datatype, v), `element ${i}: ${fc.stringify(v)} arrived as ${fc.stringify(got[i])}`).toBe(true));
  return 'sent';
}

function fits(datatype: DataType): fc.Arbitrary<unknown> {
  const range = integerRange[datatype];
  if (range !== undefined) {
    const given = (b: bigint) => [...(Number.isSafeInteger(Number(b)) ? [Number(b)] : []), b, ...(datatype.endsWith('64') ? [String(b)] : [])];
    return fc.bigInt({ min: range[0], max: range[1] }).chain((b) => fc.constantFrom(...given(b)));
  }
  if (datatype === 'BOOL') return fc.boolean();
  if (datatype === 'BYTES') return fc.oneof(fc.string({ unit: 'binary' }), fc.uint8Array({ maxLength: 4 }));
  const limit = infiniteFrom[datatype] ?? Infinity;
  return fc.oneof(fc.double().filter((v) => !(Math.abs(v) >= limit && Number.isFinite(v))), fc.constantFrom(NaN, Infinity, -Infinity));
}

function doesNotFit(datatype: DataType): fc.Arbitrary<unknown> {
  const strangers = fc.constantFrom<unknown>('x', '1.5', null, undefined, {}, Symbol.iterator);
  const range = integerRange[datatype];
  if (range !== undefined) {
    const beyond = fc.oneof(fc.bigInt({ max: range[0] - 1n }), fc.bigInt({ min: range[1] + 1n }));
    return fc.oneof(beyond, beyond.map(Number), fc.double().filter((v) => !Number.isSafeInteger(v)), fc.boolean(), strangers);
  }
  if (datatype === 'BOOL') return fc.oneof(fc.double(), fc.bigInt(), strangers);
  if (datatype === 'BYTES') return fc.oneof(fc.double(), fc.boolean(), fc.bigInt(), fc.constantFrom<unknown>(null, {}, '\udc00'));
  const others = fc.oneof(fc.bigInt(), fc.boolean(), strangers);
  const limit = infiniteFrom[datatype];
  if (limit === undefined) return others; // FP64 holds every number
  return fc.oneof(fc.double({ min: limit, noNaN: true, noDefaultInfinity: true }).chain((v) => fc.constantFrom(v, -v)), others);
}

describe('inputs reach the wire exactly or not at all', () => {
  it.each(dataTypes)('%s: values that fit arrive exactly (floats as the datatype rounds them)', (datatype) => {
    fc.assert(
      fc.property(fc.array(fits(datatype), { maxLength: 6 }), (data) => {
        expect(exactOrRefused(datatype, { data: data as never, datatype }, data)).toBe('sent');
      }),
    );
  });

  it.each(dataTypes)('%s: a value that does not fit is INVALID_ARGUMENT naming the input, the element and the range', (datatype) => {
    fc.assert(
      fc.property(fc.array(fits(datatype), { maxLength: 4 }), doesNotFit(datatype), fc.nat(), (data, bad, at) => {
        const index = at % (data.length + 1);
        const given = [...data.slice(0, index), bad, ...data.slice(index)];
        const error = exactOrRefused(datatype, { data: given as never, datatype }, given);
        expect(error).toBeInstanceOf(ModelServeError);
        const details = (error as ModelServeError).details;
        expect(details).toMatch(new RegExp(`^input 'x': element ${index} is .*, expected .*${datatype === 'BYTES' || datatype === 'BOOL' ? `\\(${datatype}\\)` : datatype}`));
      }),
    );
  });

  it.each(dataTypes)('%s: any value is sent exactly or refused, never converted', (datatype) => {
    fc.assert(
      fc.property(fc.oneof(fc.anything(), fits(datatype), doesNotFit(datatype), fc.double(), fc.bigInt(), fc.string()), (v) => {
        exactOrRefused(datatype, { data: [v] as never, datatype }, [v]);
      }),
      { numRuns: 200 },
    );
  });

  const typedArrays = [Float32Array, Float64Array, Int8Array, Int16Array, Int32Array, BigInt64Array, Uint8Array, Uint16Array, Uint32Array, BigUint64Array];
  it.each(dataTypes.filter((d) => d !== 'BYTES'))('%s: a typed array of another type is checked element by element', (datatype) => {
    fc.assert(
      fc.property(fc.constantFrom(...typedArrays), fc.uint8Array({ maxLength: 24 }), (Ctor, bytes) => {
        const array = new Ctor(bytes.buffer.slice(0, bytes.length - (bytes.length % 8)));
        // FP16 and BF16 given as a Uint16Array are raw bits, not values.
        const given = (datatype === 'FP16' || datatype === 'BF16') && Ctor === Uint16Array ? Array.from(array as Uint16Array, datatype === 'FP16' ? float16BitsToNumber : bfloat16BitsToNumber) : Array.from(array as ArrayLike<unknown>);
        exactOrRefused(datatype, { data: array, datatype }, given);
      }),
    );
  });

  it('refuses what the issue found, with the message naming input, element and range', () => {
    const details = (input: TensorInput) => (exactOrRefused('FP32', input, []) as ModelServeError).details;
    expect(details({ data: [1, 2, 3, 'x'] as never, shape: [1, 4] })).toBe(`input 'x': element 3 is "x", expected a number in FP32 range (±3.4028235e38)`);
    expect(details({ data: [1, 2, 3, 1e40], shape: [1, 4] })).toBe('input \'x\': element 3 is 1e+40, expected a number in FP32 range (±3.4028235e38)');
    expect(details({ data: [null, 2, 3, 4] as never, shape: [1, 4] })).toBe("input 'x': element 0 is null, expected a number in FP32 range (±3.4028235e38)");
    expect(details({ data: Int32Array.of(1, 300), datatype: 'INT8' })).toBe("input 'x': element 1 is 300, expected an integer from -128 to 127 (INT8)");
    expect(details({ data: [-1], datatype: 'UINT8' })).toBe("input 'x': element 0 is -1, expected an integer from 0 to 255 (UINT8)");
    expect(details({ data: Float64Array.of(1.5), datatype: 'INT32' })).toBe("input 'x': element 0 is 1.5, expected an integer from -2147483648 to 2147483647 (INT32)");
    expect(details({ data: [[1, 2], [3, 4]] as never, shape: [2, 2] })).toBe("input 'x': expected flat (row-major) data for shape [2,2], got an array at element 0");
    expect(details({ data: Uint8Array.of(0, 2), datatype: 'BOOL' })).toBe("input 'x': element 1 is 2, expected true or false (BOOL), or 0 or 1 in a Uint8Array");
  });

  it('takes 64-bit integers as bigints and decimal strings, and BOOL as its 0/1 bytes', () => {
    expect(toDecodedTensor('x', { data: [2n ** 63n - 1n, -5n], datatype: 'INT64' }).data).toEqual(BigInt64Array.of(2n ** 63n - 1n, -5n));
    expect(toDecodedTensor('x', { data: ['18446744073709551615'] as never, datatype: 'UINT64' }).data).toEqual(BigUint64Array.of(2n ** 64n - 1n));
    expect(toDecodedTensor('x', { data: Uint8Array.of(1, 0), datatype: 'BOOL' }).data).toEqual(Uint8Array.of(1, 0));
  });

  it('numbersToFp16 refuses what FP16 cannot hold', () => {
    expect(numbersToFp16([1, Infinity])).toEqual(Uint16Array.of(0x3c00, 0x7c00));
    expect(() => numbersToFp16([1, 70000])).toThrow(new ModelServeError('InvalidArgument', 'numbersToFp16: element 1 is 70000, expected a number in FP16 range (±65504)'));
  });
});
