/**
 * Tensor elements as people give them (JSON values from the CLI, JS values and typed arrays from the
 * SDK) to a datatype's storage, exactly or not at all. One checker for both, so a value a datatype
 * cannot hold is refused, with the element and the datatype's range named, before anything is sent.
 *
 * What each datatype takes:
 * - BOOL: `true` or `false`; numbers are refused, 0 and 1 included (the one exception: a Uint8Array,
 *   BOOL's own storage, of 0s and 1s).
 * - UINT8…UINT32, INT8…INT32: numbers (or bigints) that are integers within the range; strings,
 *   fractions, NaN and ±Infinity are refused.
 * - UINT64, INT64: integers within the range as safe-integer numbers, bigints or decimal strings
 *   (how 64-bit values beyond 2^53 travel in JSON); a number beyond ±(2^53 - 1) is refused, as its
 *   precision may already be lost.
 * - FP16, BF16, FP32, FP64: numbers, rounded to the nearest value of the datatype; NaN and ±Infinity
 *   are kept as they are (exact), but a finite number that would round to ±Infinity is refused.
 *   FP16 and BF16 given as a Uint16Array are raw bits, taken as they are.
 * - BYTES: strings (UTF-8; a lone surrogate has no UTF-8 and is refused) or Uint8Arrays.
 * A typed array of the datatype's own storage is exact by construction and taken as it is (but for
 * BOOL); any other array is checked element by element.
 */
import { numberToBfloat16Bits, numberToFloat16Bits } from './float16.js';
import { TensorCodecError } from './tensor-errors.js';
import { dataTypeInfo } from './tensor-types.js';
import type { DataType, TensorData, TensorDataMap } from './tensor-types.js';

const int64Min = -(2n ** 63n);
const int64Max = 2n ** 63n - 1n;
const uint64Max = 2n ** 64n - 1n;

/** The integer range of each integer datatype. */
const integerRanges = {
  UINT8: [0, 255],
  UINT16: [0, 65535],
  UINT32: [0, 4294967295],
  INT8: [-128, 127],
  INT16: [-32768, 32767],
  INT32: [-2147483648, 2147483647],
} as const;

/** What each datatype's elements must be, as messages say it. */
const expectations: Readonly<Record<DataType, string>> = {
  BOOL: 'true or false (BOOL)',
  UINT8: 'an integer from 0 to 255 (UINT8)',
  UINT16: 'an integer from 0 to 65535 (UINT16)',
  UINT32: 'an integer from 0 to 4294967295 (UINT32)',
  UINT64: `an integer from 0 to ${uint64Max} (UINT64; a decimal string beyond ${Number.MAX_SAFE_INTEGER})`,
  INT8: 'an integer from -128 to 127 (INT8)',
  INT16: 'an integer from -32768 to 32767 (INT16)',
  INT32: 'an integer from -2147483648 to 2147483647 (INT32)',
  INT64: `an integer from ${int64Min} to ${int64Max} (INT64; a decimal string beyond ±${Number.MAX_SAFE_INTEGER})`,
  FP16: 'a number in FP16 range (±65504)',
  BF16: 'a number in BF16 range (±3.3895314e38)',
  FP32: 'a number in FP32 range (±3.4028235e38)',
  FP64: 'a number in FP64 range (±1.7976931348623157e308)',
  BYTES: 'a string or bytes (BYTES)',
};

const decimalInteger = /^-?(0|[1-9][0-9]*)$/;
const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const utf8 = new TextEncoder();

/** An element as messages show it: strings, arrays and objects as JSON (cut at 40 characters), bigints with `n`. */
function showElement(v: unknown): string {
  if (typeof v === 'number') return Object.is(v, -0) ? '-0' : String(v);
  if (typeof v === 'bigint') return `${v}n`;
  if (v === undefined || typeof v === 'function' || typeof v === 'symbol') return String(v);
  if (ArrayBuffer.isView(v)) return `a ${v.constructor.name} of ${v.byteLength} bytes`;
  let text: string;
  try {
    text = JSON.stringify(v) ?? String(v);
  } catch {
    text = Object.prototype.toString.call(v);
  }
  // JSON escapes lone surrogates, so shown text is always printable.
  return text.length > 40 ? `${text.slice(0, 39)}…` : text;
}

function refused(where: string, datatype: DataType, i: number, v: unknown, why = ''): TensorCodecError {
  return new TensorCodecError('contents', `${where}: element ${i} is ${showElement(v)}, expected ${expectations[datatype]}${why}`);
}

/** The 64-bit integer `v` gives exactly: a bigint, a safe-integer number or a decimal string. */
function bigIntegerOf(v: unknown): bigint | undefined {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number') return Number.isSafeInteger(v) ? BigInt(v) : undefined;
  if (typeof v === 'string' && decimalInteger.test(v)) return BigInt(v);
  return undefined;
}

/**
 * FP16 or BF16 bits of `v`, rounded to nearest (ties to even); NaN and ±Infinity as they are.
 * Undefined when `v` is finite but would round to ±Infinity (beyond ±65504 for FP16).
 */
export function halfFloatBits(datatype: 'FP16' | 'BF16', v: number): number | undefined {
  const bits = datatype === 'FP16' ? numberToFloat16Bits(v) : numberToBfloat16Bits(v);
  const infinity = datatype === 'FP16' ? 0x7c00 : 0x7f80;
  return (bits & 0x7fff) === infinity && Number.isFinite(v) ? undefined : bits;
}

function isTypedArray(v: unknown): v is ArrayLike<unknown> & ArrayBufferView {
  return ArrayBuffer.isView(v) && !(v instanceof DataView);
}

/**
 * Checks flat, row-major `values` against `datatype` (see the module comment for the rules) and
 * returns them as its storage: every element exactly as given, or (floats) as the datatype rounds
 * it. Throws a TensorCodecError naming `where` (e.g. "input 'x'"), the element's index, its value
 * and what the datatype takes, e.g. "input 'x': element 0 is 300, expected an integer from -128 to
 * 127 (INT8)". A typed array of the datatype's own storage is returned as it is, not copied.
 */
export function tensorDataFromValues<D extends DataType>(datatype: D, values: ArrayLike<unknown>, where: string): TensorDataMap[D];
export function tensorDataFromValues(datatype: DataType, values: ArrayLike<unknown>, where: string): TensorData {
  const n = values.length;
  const Storage = dataTypeInfo[datatype].array;
  if (datatype !== 'BOOL' && Storage !== undefined && isTypedArray(values) && values.constructor === Storage) {
    return values as unknown as TensorData;
  }
  switch (datatype) {
    case 'BOOL': {
      const out = new Uint8Array(n);
      const bytes = values instanceof Uint8Array;
      for (let i = 0; i < n; i++) {
        const v = values[i];
        if (v === true || v === false) out[i] = v ? 1 : 0;
        else if (bytes && (v === 0 || v === 1)) out[i] = v;
        else throw refused(where, datatype, i, v, bytes ? ', or 0 or 1 in a Uint8Array' : '');
      }
      return out;
    }
    case 'UINT8':
    case 'UINT16':
    case 'UINT32':
    case 'INT8':
    case 'INT16':
    case 'INT32': {
      const [min, max] = integerRanges[datatype];
      const out = new Storage!(new ArrayBuffer(n * dataTypeInfo[datatype].size), 0, n) as Int32Array;
      for (let i = 0; i < n; i++) {
        const v = values[i];
        const x = typeof v === 'bigint' && v >= BigInt(min) && v <= BigInt(max) ? Number(v) : v;
        if (typeof x !== 'number' || !Number.isInteger(x) || x < min || x > max) throw refused(where, datatype, i, v);
        out[i] = x;
      }
      return out;
    }
    case 'INT64':
    case 'UINT64': {
      const [min, max] = datatype === 'INT64' ? [int64Min, int64Max] : [0n, uint64Max];
      const out = datatype === 'INT64' ? new BigInt64Array(n) : new BigUint64Array(n);
      for (let i = 0; i < n; i++) {
        const v = values[i];
        const x = bigIntegerOf(v);
        if (x === undefined || x < min || x > max) {
          const lost = typeof v === 'number' && Number.isInteger(v) && !Number.isSafeInteger(v);
          throw refused(where, datatype, i, v, lost ? '; as a number it may have lost precision already' : '');
        }
        out[i] = x;
      }
      return out;
    }
    case 'FP16':
    case 'BF16': {
      const out = new Uint16Array(n);
      for (let i = 0; i < n; i++) {
        const v = values[i];
        const bits = typeof v === 'number' ? halfFloatBits(datatype, v) : undefined;
        if (bits === undefined) throw refused(where, datatype, i, v);
        out[i] = bits;
      }
      return out;
    }
    case 'FP32':
    case 'FP64': {
      const out = datatype === 'FP32' ? new Float32Array(n) : new Float64Array(n);
      for (let i = 0; i < n; i++) {
        const v = values[i];
        if (typeof v !== 'number') throw refused(where, datatype, i, v);
        out[i] = v;
        // Only FP32 can overflow: a finite number stored as ±Infinity.
        if (Number.isFinite(v) && !Number.isFinite(out[i]!)) throw refused(where, datatype, i, v);
      }
      return out;
    }
    case 'BYTES': {
      const out = new Array<Uint8Array>(n);
      for (let i = 0; i < n; i++) {
        const v = values[i];
        if (v instanceof Uint8Array) out[i] = v;
        else if (typeof v === 'string' && !loneSurrogate.test(v)) out[i] = utf8.encode(v);
        else throw refused(where, datatype, i, v, typeof v === 'string' ? '; a lone surrogate has no UTF-8' : '');
      }
      return out;
    }
  }
}
