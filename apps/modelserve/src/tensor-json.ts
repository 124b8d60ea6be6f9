/**
 * Tensors as people type them: nested JSON arrays ⇄ flat typed arrays with a shape.
 */
import {
  bfloat16BitsToNumber,
  float16BitsToNumber,
  numberToBfloat16Bits,
  numberToFloat16Bits,
  type DataType,
  type DecodedTensor,
} from '@modelserve/proto';

type Json = number | string | boolean | Json[];

/** The shape and flat elements of a nested JSON array; throws if it is not rectangular. */
export function flattenJson(value: Json, where: string): { shape: number[]; values: Array<number | string | boolean> } {
  const shape: number[] = [];
  for (let v: Json = value; Array.isArray(v); v = v[0] as Json) shape.push(v.length);
  const values: Array<number | string | boolean> = [];
  const walk = (v: Json, depth: number): void => {
    if (depth === shape.length) {
      if (Array.isArray(v)) throw new Error(`${where}: ragged array: expected a value at depth ${depth}, got an array`);
      values.push(v);
      return;
    }
    if (!Array.isArray(v) || v.length !== shape[depth]) {
      throw new Error(`${where}: ragged array: expected ${shape[depth]} elements at depth ${depth}, got ${Array.isArray(v) ? v.length : 'a value'}`);
    }
    for (const item of v) walk(item, depth + 1);
  };
  walk(value, 0);
  return { shape, values };
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A tensor of `datatype` from flat JSON values. */
export function tensorFromValues(name: string, datatype: DataType, shape: number[], values: Array<number | string | boolean>): DecodedTensor {
  const num = (v: number | string | boolean): number => Number(v);
  const big = (v: number | string | boolean): bigint => BigInt(typeof v === 'boolean' ? Number(v) : v);
  const data = ((): DecodedTensor['data'] => {
    switch (datatype) {
      case 'BOOL':
      case 'UINT8':
        return Uint8Array.from(values, num);
      case 'INT8':
        return Int8Array.from(values, num);
      case 'UINT16':
        return Uint16Array.from(values, num);
      case 'INT16':
        return Int16Array.from(values, num);
      case 'UINT32':
        return Uint32Array.from(values, num);
      case 'INT32':
        return Int32Array.from(values, num);
      case 'UINT64':
        return BigUint64Array.from(values, big);
      case 'INT64':
        return BigInt64Array.from(values, big);
      case 'FP16':
        return Uint16Array.from(values, (v) => numberToFloat16Bits(num(v)));
      case 'BF16':
        return Uint16Array.from(values, (v) => numberToBfloat16Bits(num(v)));
      case 'FP32':
        return Float32Array.from(values, num);
      case 'FP64':
        return Float64Array.from(values, num);
      case 'BYTES':
        return values.map((v) => encoder.encode(String(v)));
    }
  })();
  return { name, datatype, shape, data } as DecodedTensor;
}

/** A tensor's elements as JSON values: 64-bit integers beyond 2^53 as strings, BYTES as text. */
export function valuesOf(tensor: DecodedTensor): Array<number | string | boolean> {
  switch (tensor.datatype) {
    case 'BOOL':
      return Array.from(tensor.data as Uint8Array, (v) => v !== 0);
    case 'BYTES':
      return (tensor.data as Uint8Array[]).map((b) => decoder.decode(b));
    case 'FP16':
      return Array.from(tensor.data as Uint16Array, float16BitsToNumber);
    case 'BF16':
      return Array.from(tensor.data as Uint16Array, bfloat16BitsToNumber);
    case 'INT64':
    case 'UINT64':
      return Array.from(tensor.data as BigInt64Array, (v) => (v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString()));
    default:
      return Array.from(tensor.data as Float32Array);
  }
}

/** Random or zero values for a datatype, for `--input name=random`. */
export function generatedValues(datatype: DataType, count: number, kind: 'random' | 'zeros'): Array<number | string | boolean> {
  return Array.from({ length: count }, () => {
    if (kind === 'zeros') return datatype === 'BYTES' ? '' : 0;
    if (datatype === 'BYTES') return Math.random().toString(36).slice(2, 8);
    if (datatype === 'BOOL') return Math.random() < 0.5;
    if (datatype.startsWith('FP') || datatype === 'BF16') return Math.random();
    return Math.floor(Math.random() * 100);
  });
}
