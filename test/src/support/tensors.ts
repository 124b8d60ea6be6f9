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
