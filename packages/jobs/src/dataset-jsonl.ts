/**
 * JSON values to row tensors and back, for JSONL datasets and results. Numbers are taken as they
 * are, never parsed from strings, except integer strings for INT64 and UINT64 beyond ±2^53 (as the
 * results writer writes them). Every problem is a `RowProblem` naming the input and the element.
 */
import { type DataType, elementCount, formatShape, type NamedTensor, numericArrayOf, type NumericTensorData } from '@modelserve/core';
import type { RowTensorSpec } from './types.js';

/** Why a row's value cannot be its input: the row fails with this message. */
export class RowProblem extends Error {
  override readonly name = 'RowProblem';
}

/** A row's JSON value for `spec`: a nested array of its shape, a flat array, or a scalar for shape []. */
export function tensorFromJson(spec: RowTensorSpec, value: unknown): NamedTensor {
  const label = `input "${spec.name}"`;
  const { shape, leaves } = flatten(spec, value, label);
  if (spec.datatype === 'BYTES') {
    const encoder = new TextEncoder();
    const data = leaves.map((leaf, i) => {
      if (typeof leaf !== 'string') throw new RowProblem(`${label}${at(shape, i)}: expected a string, got ${shown(leaf)}`);
      return encoder.encode(leaf);
    });
    return { name: spec.name, datatype: 'BYTES', shape, data };
  }
  const data = new numericArrayOf[spec.datatype](leaves.length);
  const convert = converters[spec.datatype];
  for (let i = 0; i < leaves.length; i++) {
    const element = convert(leaves[i]);
    if (typeof element === 'string') throw new RowProblem(`${label}${at(shape, i)}: ${element}`);
    data[i] = element as never;
  }
  return { name: spec.name, datatype: spec.datatype, shape, data } as NamedTensor;
}

/** A tensor as JSON: nested arrays by its shape. INT64 and UINT64 beyond ±2^53 as strings, FP16 and BF16 as numbers, BYTES as UTF-8 strings, NaN and ±Infinity as the strings "NaN", "Infinity", "-Infinity". */
export function tensorToJson(tensor: NamedTensor): unknown {
  const leaf = leafWriter(tensor);
  let next = 0;
  const build = (depth: number): unknown => {
    if (depth === tensor.shape.length) return leaf(next++);
    return Array.from({ length: tensor.shape[depth]! }, () => build(depth + 1));
  };
  return build(0);
}

function leafWriter(tensor: NamedTensor): (i: number) => unknown {
  if (tensor.datatype === 'BYTES') {
    const decoder = new TextDecoder();
    const data = tensor.data as Uint8Array[];
    return (i) => decoder.decode(data[i]);
  }
  const data = tensor.data as NumericTensorData;
  switch (tensor.datatype) {
    case 'BOOL':
      return (i) => data[i] !== 0;
    case 'INT64':
    case 'UINT64':
      return (i) => {
        const v = data[i] as bigint;
        return v >= -maxSafe && v <= maxSafe ? Number(v) : String(v);
      };
    case 'FP16':
      return (i) => finite(float16BitsToNumber(data[i] as number));
    case 'BF16':
      return (i) => finite(bfloat16BitsToNumber(data[i] as number));
    case 'FP32':
      return (i) => finite(shortestFloat32(data[i] as number));
    case 'FP64':
      return (i) => finite(data[i] as number);
    default:
      return (i) => data[i];
  }
}

const maxSafe = BigInt(Number.MAX_SAFE_INTEGER);
const finite = (v: number): number | string => (Number.isFinite(v) ? v : String(v));

/** The float64 with the fewest digits that is still `v` as a float32 (0.1, not 0.10000000149011612). */
function shortestFloat32(v: number): number {
  if (!Number.isFinite(v)) return v;
  // A float32 needs at most 9 digits; 6 digits already give the shortest for most short values.
  for (let digits = 6; digits <= 9; digits++) {
    const candidate = Number(v.toPrecision(digits));
    if (Math.fround(candidate) === v) return candidate;
  }
  return v;
}

/** A shape's cells in C order, and the shape of this row's value (a variable dimension resolved). */
function flatten(spec: RowTensorSpec, value: unknown, label: string): { shape: number[]; leaves: unknown[] } {
  const rank = spec.shape.length;
  if (!Array.isArray(value)) {
    if (rank === 0) return { shape: [], leaves: [value] };
    throw new RowProblem(`${label}: expected an array for shape ${formatShape(spec.shape)}, got ${shown(value)}`);
  }
  if (rank >= 2 && value.length > 0 && Array.isArray(value[0])) return nested(spec, value, label);
  // Flat: the length gives a single variable dimension.
  const variable = spec.shape.filter((d) => d < 0).length;
  const fixed = elementCount(spec.shape.filter((d) => d >= 0));
  if (variable === 0) {
    if (value.length !== fixed) throw new RowProblem(`${label}: expected ${fixed} elements, got ${value.length}`);
    return { shape: [...spec.shape], leaves: value };
  }
  if (variable > 1) throw new RowProblem(`${label}: shape ${formatShape(spec.shape)} has ${variable} variable dimensions; give a nested array, not a flat one`);
  if (fixed === 0 ? value.length !== 0 : value.length % fixed !== 0) {
    throw new RowProblem(`${label}: expected a multiple of ${fixed} elements for shape ${formatShape(spec.shape)}, got ${value.length}`);
  }
  return { shape: spec.shape.map((d) => (d < 0 ? (fixed === 0 ? 0 : value.length / fixed) : d)), leaves: value };
}

function nested(spec: RowTensorSpec, value: unknown[], label: string): { shape: number[]; leaves: unknown[] } {
  const rank = spec.shape.length;
  const shape: number[] = [];
  for (let level: unknown = value; Array.isArray(level); level = level[0]) shape.push(level.length);
  if (shape.length !== rank) throw new RowProblem(`${label}: expected ${rank} levels of nesting for shape ${formatShape(spec.shape)}, got ${shape.length} (${formatShape(shape)})`);
  const leaves: unknown[] = [];
  const walk = (item: unknown, depth: number, index: number[]): void => {
    if (depth === rank) {
      if (Array.isArray(item)) throw new RowProblem(`${label} at [${index.join(',')}]: expected a value at nesting depth ${rank}, got an array`);
      leaves.push(item);
      return;
    }
    if (!Array.isArray(item)) throw new RowProblem(`${label} at [${index.join(',')}]: expected an array of ${shape[depth]} elements, got ${shown(item)}`);
    if (item.length !== shape[depth]) throw new RowProblem(`${label} at [${index.join(',')}]: ragged nested array: expected ${shape[depth]} elements as in [${[...index.map(() => 0)].join(',')}], got ${item.length}`);
    item.forEach((child, i) => walk(child, depth + 1, [...index, i]));
  };
  walk(value, 0, []);
  if (!spec.shape.every((d, i) => d < 0 || d === shape[i])) throw new RowProblem(`${label}: expected shape ${formatShape(spec.shape)}, got a nested array of shape ${formatShape(shape)}`);
  return { shape, leaves };
}

/** ` at [i,j]`: a flat index as a position in `shape` (nothing for a scalar). */
function at(shape: readonly number[], flat: number): string {
  if (shape.length === 0) return '';
  const index = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    index[d] = flat % shape[d]!;
    flat = Math.floor(flat / shape[d]!);
  }
  return ` at [${index.join(',')}]`;
}

/** A JSON value for a message, cut to 40 characters. */
export function shown(value: unknown): string {
  const text = value === undefined ? 'nothing' : JSON.stringify(value);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

/** One JSON value as an element of a datatype, or why it cannot be one. */
type Converter = (value: unknown) => number | bigint | string;

const integer =
  (datatype: DataType, min: number, max: number): Converter =>
  (v) => {
    if (typeof v !== 'number') return `expected a number, got ${shown(v)}`;
    if (!Number.isInteger(v)) return `expected an integer for ${datatype}, got ${v}`;
    if (v < min || v > max) return `value ${v} out of range for ${datatype}`;
    return v;
  };

const bigInteger =
  (datatype: DataType, min: bigint, max: bigint): Converter =>
  (v) => {
    let n: bigint;
    if (typeof v === 'number') {
      if (!Number.isInteger(v)) return `expected an integer for ${datatype}, got ${v}`;
      if (!Number.isSafeInteger(v)) return `value ${v} is beyond ±2^53, where JSON numbers lose digits; write it as a string of digits`;
      n = BigInt(v);
    } else if (typeof v === 'string' && /^-?\d+$/.test(v)) {
      n = BigInt(v);
    } else {
      return `expected an integer (a number, or a string of digits beyond ±2^53), got ${shown(v)}`;
    }
    if (n < min || n > max) return `value ${n} out of range for ${datatype}`;
    return n;
  };

const float =
  (datatype: DataType, toElement: (v: number) => number, outOfRange: (element: number) => boolean): Converter =>
  (v) => {
    if (typeof v !== 'number') return `expected a number, got ${shown(v)}`;
    const element = toElement(v);
    // JSON.parse reads 1e400 as Infinity.
    return !Number.isFinite(v) || outOfRange(element) ? `value ${v} out of range for ${datatype}` : element;
  };

const converters: { readonly [D in Exclude<DataType, 'BYTES'>]: Converter } = {
  BOOL: (v) => (typeof v === 'boolean' ? (v ? 1 : 0) : `expected true or false, got ${shown(v)}`),
  UINT8: integer('UINT8', 0, 0xff),
  UINT16: integer('UINT16', 0, 0xffff),
  UINT32: integer('UINT32', 0, 0xffffffff),
  UINT64: bigInteger('UINT64', 0n, 2n ** 64n - 1n),
  INT8: integer('INT8', -0x80, 0x7f),
  INT16: integer('INT16', -0x8000, 0x7fff),
  INT32: integer('INT32', -0x80000000, 0x7fffffff),
  INT64: bigInteger('INT64', -(2n ** 63n), 2n ** 63n - 1n),
  FP16: float('FP16', numberToFloat16Bits, (bits) => (bits & 0x7fff) === 0x7c00),
  BF16: float('BF16', numberToBfloat16Bits, (bits) => (bits & 0x7fff) === 0x7f80),
  FP32: float('FP32', Math.fround, (f) => !Number.isFinite(f)),
  FP64: float('FP64', (v) => v, () => false),
};

// ---- FP16 and BF16 (core has no converter; @modelserve/proto's is out of the jobs' reach) ----

const scratch = new DataView(new ArrayBuffer(8));

/** The bits of the binary16-like float nearest `value` (ties to even): 1 sign bit, 15 - `mantissaBits` exponent bits. */
function toMinifloatBits(value: number, mantissaBits: number, bias: number): number {
  const infinity = (0x7fff >> mantissaBits) << mantissaBits;
  if (Number.isNaN(value)) return infinity | (1 << (mantissaBits - 1));
  const sign = value < 0 || Object.is(value, -0) ? 0x8000 : 0;
  const a = Math.abs(value);
  if (a === Infinity) return sign | infinity;
  scratch.setFloat64(0, a);
  // The float64's binary exponent, read from its bits (log2 can be off by one); below the smallest
  // normal's, the steps are the subnormals' (the exponent's minimum).
  const exponent = Math.max(((scratch.getUint16(0) >> 4) & 0x7ff) - 1023, 1 - bias);
  // Scaling by a power of two is exact: the integer part is the implicit bit and the mantissa.
  const scaled = a * 2 ** (mantissaBits - exponent);
  const floor = Math.floor(scaled);
  const rounded = scaled - floor > 0.5 || (scaled - floor === 0.5 && floor % 2 === 1) ? floor + 1 : floor;
  // Adding, not or-ing, lets a mantissa rounded up to the next power of two carry into the exponent.
  const bits = (exponent + bias - 1) * 2 ** mantissaBits + rounded;
  return sign | Math.min(bits, infinity);
}

/** FP16 bits of the half nearest `value` (beyond ±65504 rounds to ±Infinity). */
export function numberToFloat16Bits(value: number): number {
  return toMinifloatBits(value, 10, 15);
}

/** BF16 bits of the bfloat16 nearest `value`. */
export function numberToBfloat16Bits(value: number): number {
  return toMinifloatBits(value, 7, 127);
}

/** The value of FP16 bits. */
export function float16BitsToNumber(bits: number): number {
  const exponent = (bits >> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  const sign = bits & 0x8000 ? -1 : 1;
  if (exponent === 0x1f) return mantissa === 0 ? sign * Infinity : NaN;
  return sign * (exponent === 0 ? mantissa * 2 ** -24 : (0x400 + mantissa) * 2 ** (exponent - 25));
}

/** The value of BF16 bits: the top half of a float32's. */
export function bfloat16BitsToNumber(bits: number): number {
  scratch.setUint32(0, (bits & 0xffff) << 16);
  return scratch.getFloat32(0);
}
