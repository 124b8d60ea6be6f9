/**
 * Tensors as people type them: nested JSON arrays ⇄ flat typed arrays with a shape.
 */
import {
  bfloat16BitsToNumber,
  float16BitsToNumber,
  tensorDataFromValues,
  type DataType,
  type DecodedTensor,
} from '@modelserve/proto';

/** A shape as messages print it: `[-1,4]`. */
const formatShape = (shape: readonly number[]): string => `[${shape.join(',')}]`;

/**
 * The shape and flat, row-major elements of a nested JSON array; throws, naming the element, if it
 * is not rectangular. With `expected` (the model's shape, -1 where variable) the nesting must be as
 * deep as `expected` has dimensions; without it, as deep as the first element's.
 */
export function flattenJson(value: unknown, where: string, expected?: readonly number[]): { shape: number[]; values: unknown[] } {
  const shape: number[] = [];
  let rank = expected?.length ?? 0;
  if (expected === undefined) for (let v = value; Array.isArray(v); v = v[0]) rank++;
  const values: unknown[] = [];
  const nesting = (got: number): Error =>
    new Error(
      expected === undefined
        ? `${where}: ragged array: expected ${rank} levels of nesting, got ${got} at element ${values.length}`
        : `${where}: expected ${rank} levels of nesting for shape ${formatShape(expected)}, got ${got} at element ${values.length}`,
    );
  const walk = (v: unknown, depth: number): void => {
    if (depth === rank) {
      if (!Array.isArray(v)) {
        values.push(v);
        return;
      }
      let got = depth;
      for (let inner: unknown = v; Array.isArray(inner); inner = inner[0]) got++;
      throw nesting(got);
    }
    if (!Array.isArray(v)) throw nesting(depth);
    if (shape.length === depth) shape.push(v.length);
    else if (v.length !== shape[depth]) {
      throw new Error(`${where}: ragged array: expected ${shape[depth]} elements at depth ${depth}, got ${v.length} at element ${values.length}`);
    }
    for (const item of v) walk(item, depth + 1);
  };
  walk(value, 0);
  // An empty array leaves the dimensions below it unseen: the model's where fixed, else 0 (no elements either way).
  while (shape.length < rank) shape.push(Math.max(0, expected?.[shape.length] ?? 0));
  return { shape, values };
}

const decoder = new TextDecoder();

/**
 * A tensor of `datatype` from flat JSON values, each checked by @modelserve/proto's
 * tensorDataFromValues: a value the datatype cannot hold exactly is refused with the input, the
 * element and the datatype's range named (a TensorCodecError), never converted.
 */
export function tensorFromValues(name: string, datatype: DataType, shape: number[], values: readonly unknown[]): DecodedTensor {
  return { name, datatype, shape, data: tensorDataFromValues(datatype, values, `input '${name}'`) } as DecodedTensor;
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
    if (kind === 'zeros') return datatype === 'BYTES' ? '' : datatype === 'BOOL' ? false : 0;
    if (datatype === 'BYTES') return Math.random().toString(36).slice(2, 8);
    if (datatype === 'BOOL') return Math.random() < 0.5;
    if (datatype.startsWith('FP') || datatype === 'BF16') return Math.random();
    return Math.floor(Math.random() * 100);
  });
}
