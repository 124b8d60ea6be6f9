import { decodeTensor, encodeTensor, type DecodedTensor, type PredictResponse__Output, type Tensor__Output } from '@modelserve/proto';

/** An FP32 tensor from flat values. */
export function fp32(name: string, shape: number[], values: ArrayLike<number>): DecodedTensor {
  return { name, datatype: 'FP32', shape, data: Float32Array.from(values) };
}

/** A wire tensor with raw or typed contents. */
export function wire(tensor: DecodedTensor, format: 'raw' | 'typed' = 'raw'): ReturnType<typeof encodeTensor> {
  return encodeTensor(tensor, format);
}

/** A response tensor decoded, whichever form it came in. */
export function decoded(tensor: Tensor__Output): DecodedTensor {
  return decodeTensor(tensor, tensor.raw_contents.length > 0 ? tensor.raw_contents : null, `output '${tensor.name}'`);
}

/** The named output of a response, decoded. */
export function output(response: PredictResponse__Output, name = 'output'): DecodedTensor {
  const tensor = response.outputs.find((o) => o.name === name);
  if (tensor === undefined) throw new Error(`response has no output '${name}'; outputs: ${response.outputs.map((o) => o.name).join(', ')}`);
  return decoded(tensor);
}

/** Deterministic pseudo-random values in [0, 1). */
export function sampleValues(count: number, seed = 1): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: count }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  });
}

/** Largest absolute difference between two arrays of equal length. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`lengths differ: ${a.length} vs ${b.length}`);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

/** Values at the edges of each datatype; the `datatypes` model's input for it is `in_<onnx type>`. */
export const datatypeSamples: ReadonlyArray<{ onnx: string; tensor: (name: string) => DecodedTensor }> = [
  { onnx: 'bool', tensor: (name) => ({ name, datatype: 'BOOL', shape: [3], data: Uint8Array.of(1, 0, 1) }) },
  { onnx: 'uint8', tensor: (name) => ({ name, datatype: 'UINT8', shape: [3], data: Uint8Array.of(0, 128, 255) }) },
  { onnx: 'uint16', tensor: (name) => ({ name, datatype: 'UINT16', shape: [3], data: Uint16Array.of(0, 300, 65535) }) },
  { onnx: 'uint32', tensor: (name) => ({ name, datatype: 'UINT32', shape: [3], data: Uint32Array.of(0, 70000, 4294967295) }) },
  { onnx: 'uint64', tensor: (name) => ({ name, datatype: 'UINT64', shape: [3], data: BigUint64Array.of(0n, 2n ** 53n + 1n, 2n ** 64n - 1n) }) },
  { onnx: 'int8', tensor: (name) => ({ name, datatype: 'INT8', shape: [3], data: Int8Array.of(-128, 0, 127) }) },
  { onnx: 'int16', tensor: (name) => ({ name, datatype: 'INT16', shape: [3], data: Int16Array.of(-32768, 1, 32767) }) },
  { onnx: 'int32', tensor: (name) => ({ name, datatype: 'INT32', shape: [3], data: Int32Array.of(-(2 ** 31), 7, 2 ** 31 - 1) }) },
  { onnx: 'int64', tensor: (name) => ({ name, datatype: 'INT64', shape: [3], data: BigInt64Array.of(-(2n ** 63n), 2n ** 53n + 1n, 2n ** 63n - 1n) }) },
  // FP16 bits: 1.0, -2.5, 65504 (largest half).
  { onnx: 'float16', tensor: (name) => ({ name, datatype: 'FP16', shape: [3], data: Uint16Array.of(0x3c00, 0xc100, 0x7bff) }) },
  { onnx: 'float32', tensor: (name) => ({ name, datatype: 'FP32', shape: [3], data: Float32Array.of(-1.5, 3.4028234663852886e38, 1e-45) }) },
  { onnx: 'float64', tensor: (name) => ({ name, datatype: 'FP64', shape: [3], data: Float64Array.of(Math.PI, -Number.MAX_VALUE, 5e-324) }) },
  { onnx: 'string', tensor: (name) => ({ name, datatype: 'BYTES', shape: [3], data: [utf8('hello'), utf8(''), utf8('naïve ✓')] }) },
];
