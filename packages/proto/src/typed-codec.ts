/**
 * Typed contents (TensorContents): one repeated field per family of datatypes, as in Triton and
 * KServe. 64-bit integers travel as decimal strings (proto-loader's `longs: String`) to stay exact.
 */
import { bfloat16BitsToNumber, float16BitsToNumber } from './float16.js';
import { dataTypeInfo } from './tensor-types.js';
import type { DataType, TensorData, TensorDataMap, WireTensorContents } from './tensor-types.js';
import { TensorCodecError } from './tensor-errors.js';
import { halfFloatBits } from './tensor-values.js';

/** Typed contents as encodeTypedContents makes them: exactly one field set, 64-bit integers as strings. */
export interface EncodedTensorContents {
  bool_contents?: boolean[];
  int_contents?: number[];
  int64_contents?: string[];
  uint_contents?: number[];
  uint64_contents?: string[];
  fp32_contents?: number[];
  fp64_contents?: number[];
  bytes_contents?: Uint8Array[];
}

const integerString = /^-?\d+$/;
const int64Min = -(2n ** 63n);
const int64Max = 2n ** 63n - 1n;
const uint64Max = 2n ** 64n - 1n;

/** Whether `v` is an integer in range, per datatype; the bit tricks also reject fractions and NaN. */
const inRange: Partial<Record<DataType, (v: number) => boolean>> = {
  UINT8: (v) => (v & 0xff) === v,
  UINT16: (v) => (v & 0xffff) === v,
  UINT32: (v) => v >>> 0 === v,
  INT8: (v) => (v << 24) >> 24 === v,
  INT16: (v) => (v << 16) >> 16 === v,
  INT32: (v) => (v | 0) === v,
};

const ranges: Partial<Record<DataType, string>> = {
  BOOL: 'true or false',
  UINT8: 'an integer from 0 to 255',
  UINT16: 'an integer from 0 to 65535',
  UINT32: 'an integer from 0 to 4294967295',
  UINT64: `an integer from 0 to ${uint64Max}`,
  INT8: 'an integer from -128 to 127',
  INT16: 'an integer from -32768 to 32767',
  INT32: 'an integer from -2147483648 to 2147483647',
  INT64: `an integer from ${int64Min} to ${int64Max}`,
  FP16: 'a number from -65504 to 65504, ±Infinity or NaN',
  BF16: 'a number from -3.3895314e38 to 3.3895314e38, ±Infinity or NaN',
};

function outOfRange(where: string, datatype: DataType, field: string, i: number, v: unknown): TensorCodecError {
  const got = typeof v === 'string' ? `'${v}'` : typeof v === 'bigint' ? String(v) : JSON.stringify(v) ?? String(v);
  if (datatype === 'BYTES') {
    return new TensorCodecError('contents', `${where}: ${field}[${i}] is ${got}, expected bytes (a Buffer or Uint8Array)`);
  }
  return new TensorCodecError(
    'contents',
    `${where}: ${field}[${i}] is ${got}, out of range for ${datatype} (expected ${ranges[datatype]})`,
  );
}

/**
 * Decodes the values of the typed-contents field that belongs to `datatype` (the caller has checked
 * the field and that it holds as many values as the shape has elements) into fresh storage.
 */
export function decodeTypedContents<D extends DataType>(datatype: D, contents: WireTensorContents, where: string): TensorDataMap[D];
export function decodeTypedContents(datatype: DataType, contents: WireTensorContents, where: string): TensorData {
  const { field, array } = dataTypeInfo[datatype];
  const values = (contents[field] ?? []) as readonly unknown[];
  const n = values.length;
  switch (datatype) {
    case 'BOOL': {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) {
        const v = values[i];
        if (v !== true && v !== false) throw outOfRange(where, datatype, field, i, v);
        out[i] = v ? 1 : 0;
      }
      return out;
    }
    case 'INT64':
    case 'UINT64': {
      const signed = datatype === 'INT64';
      const out = signed ? new BigInt64Array(n) : new BigUint64Array(n);
      for (let i = 0; i < n; i++) {
        const v = values[i];
        const big = typeof v === 'string' && integerString.test(v) ? BigInt(v) : Number.isInteger(v) ? BigInt(v as number) : undefined;
        // Typed-array stores wrap silently, so the range check must come first.
        if (big === undefined || big > (signed ? int64Max : uint64Max) || big < (signed ? int64Min : 0n)) {
          throw outOfRange(where, datatype, field, i, v);
        }
        out[i] = big;
      }
      return out;
    }
    case 'FP16':
    case 'BF16': {
      // fp32_contents holds float32 values, some of them too large for FP16 (or, barely, BF16):
      // a finite value that would round to ±Infinity is refused, not stored as Infinity.
      const out = new Uint16Array(n);
      for (let i = 0; i < n; i++) {
        const bits = halfFloatBits(datatype, values[i] as number);
        if (bits === undefined) throw outOfRange(where, datatype, field, i, values[i]);
        out[i] = bits;
      }
      return out;
    }
    case 'FP32':
      return new Float32Array(values as readonly number[]);
    case 'FP64':
      return new Float64Array(values as readonly number[]);
    case 'BYTES': {
      // The Buffers proto-loader produced are kept, not copied.
      for (let i = 0; i < n; i++) {
        if (!(values[i] instanceof Uint8Array)) throw outOfRange(where, datatype, field, i, values[i]);
      }
      return (values as readonly Uint8Array[]).slice();
    }
    default: {
      // UINT8..UINT32, INT8..INT32: numbers checked by their datatype's range test.
      const check = inRange[datatype]!;
      const out = new array!(new ArrayBuffer(n * dataTypeInfo[datatype].size), 0, n) as Int32Array;
      for (let i = 0; i < n; i++) {
        const v = values[i] as number;
        if (!check(v)) throw outOfRange(where, datatype, field, i, v);
        out[i] = v;
      }
      return out;
    }
  }
}

/** Typed contents of `t`, with only its datatype's field set (INT64/UINT64 as decimal strings). */
export function encodeTypedContents(t: { datatype: DataType; data: TensorData }): EncodedTensorContents {
  const { datatype } = t;
  if (datatype === 'BYTES') return { bytes_contents: t.data as Uint8Array[] };
  const data = t.data as Exclude<TensorData, Uint8Array[]>;
  const n = data.length;
  switch (datatype) {
    case 'BOOL': {
      const out = new Array<boolean>(n);
      for (let i = 0; i < n; i++) out[i] = data[i] !== 0;
      return { bool_contents: out };
    }
    case 'INT64':
    case 'UINT64': {
      const out = new Array<string>(n);
      for (let i = 0; i < n; i++) out[i] = (data[i] as bigint).toString();
      return datatype === 'INT64' ? { int64_contents: out } : { uint64_contents: out };
    }
    case 'FP16':
    case 'BF16': {
      const toNumber = datatype === 'FP16' ? float16BitsToNumber : bfloat16BitsToNumber;
      const out = new Array<number>(n);
      for (let i = 0; i < n; i++) out[i] = toNumber(data[i] as number);
      return { fp32_contents: out };
    }
    default: {
      const out = new Array<number>(n);
      for (let i = 0; i < n; i++) out[i] = data[i] as number;
      const field = dataTypeInfo[datatype].field as 'int_contents' | 'uint_contents' | 'fp32_contents' | 'fp64_contents';
      return { [field]: out } as EncodedTensorContents;
    }
  }
}
