/**
 * Drift features of a tensor, extracted per sample (one row of the batch dimension) into a
 * caller's scratch array, so the hot path allocates nothing per element.
 */
import type { DataType, NamedTensor } from '@modelserve/core';

/** Inputs and outputs are profiled alike, except float outputs of several elements (class scores). */
export type TensorKind = 'input' | 'output';

/**
 * How a tensor's samples become features:
 * - `elements`: each element of the flattened sample is a feature, named "0", "1", ...;
 * - `summary`: the sample's mean, std (population), min, max and zero_fraction;
 * - `argmax`: the index of the largest score, a class, counted in one bin per class.
 */
export type TensorLayout =
  | { mode: 'elements'; size: number }
  | { mode: 'summary' }
  | { mode: 'argmax'; classes: number };

/** The features of the `summary` layout, in profile order. */
export const SUMMARY_FEATURES: readonly string[] = ['mean', 'std', 'min', 'max', 'zero_fraction'];

/** The feature of the `argmax` layout. */
export const ARGMAX_FEATURE = 'argmax';

/** Samples of at most this many elements are profiled element by element; larger ones by summary. */
export const DEFAULT_ELEMENT_FEATURE_LIMIT = 64;

/** Float outputs of 2..this many elements per sample are taken for class scores. */
export const DEFAULT_MAX_CLASSES = 1000;

/** Options of feature extraction. */
export interface FeatureOptions {
  /** Samples of at most this many elements get one feature per element. Default 64. */
  elementFeatureLimit?: number;
  /** Float outputs with 2..maxClasses elements per sample are class scores (argmax). Default 1000. */
  maxClasses?: number;
}

const floatTypes: ReadonlySet<DataType> = new Set<DataType>(['FP16', 'BF16', 'FP32', 'FP64']);

/** The layout of a tensor first seen with this datatype and per-sample element count. */
export function chooseLayout(datatype: DataType, size: number, kind: TensorKind, options: FeatureOptions = {}): TensorLayout {
  const elementLimit = options.elementFeatureLimit ?? DEFAULT_ELEMENT_FEATURE_LIMIT;
  const maxClasses = options.maxClasses ?? DEFAULT_MAX_CLASSES;
  if (kind === 'output' && size > 1 && size <= maxClasses && floatTypes.has(datatype)) return { mode: 'argmax', classes: size };
  return size <= elementLimit ? { mode: 'elements', size } : { mode: 'summary' };
}

/** The feature names of a layout, in profile order. */
export function featureNames(layout: TensorLayout): string[] {
  switch (layout.mode) {
    case 'elements':
      return Array.from({ length: layout.size }, (_, i) => String(i));
    case 'summary':
      return [...SUMMARY_FEATURES];
    case 'argmax':
      return [ARGMAX_FEATURE];
  }
}

/** Whether samples of `size` elements fit a layout (summaries fit any size). */
export function fitsLayout(layout: TensorLayout, size: number): boolean {
  switch (layout.mode) {
    case 'elements':
      return size === layout.size;
    case 'summary':
      return size > 0;
    case 'argmax':
      return size === layout.classes;
  }
}

/** A tensor's elements as numbers, viewed as `rows` samples of `size` elements each. */
export interface TensorRows {
  values: ArrayLike<number>;
  rows: number;
  size: number;
}

/**
 * A numeric tensor's samples; undefined for BYTES and for data that does not match the shape.
 * The first dimension is the batch; a scalar is one sample of one element. INT64, UINT64, FP16
 * and BF16 are converted to one Float64Array per tensor (not per element).
 */
export function tensorRows(tensor: NamedTensor): TensorRows | undefined {
  const { data, shape } = tensor;
  if (Array.isArray(data)) return undefined;
  const rows = shape.length === 0 ? 1 : (shape[0] as number);
  let size = 1;
  for (let i = 1; i < shape.length; i++) size *= shape[i] as number;
  if (!(rows > 0) || !(size > 0) || rows * size !== data.length) return undefined;
  return { values: numericValues(tensor.datatype, data), rows, size };
}

function numericValues(datatype: DataType, data: Exclude<NamedTensor['data'], Uint8Array[]>): ArrayLike<number> {
  if (data instanceof BigInt64Array || data instanceof BigUint64Array) {
    const out = new Float64Array(data.length);
    for (let i = 0; i < data.length; i++) out[i] = Number(data[i]);
    return out;
  }
  if (datatype === 'FP16' || datatype === 'BF16') {
    const decode = datatype === 'FP16' ? halfToNumber : bfloatToNumber;
    const out = new Float64Array(data.length);
    for (let i = 0; i < data.length; i++) out[i] = decode(data[i] as number);
    return out;
  }
  return data;
}

function halfToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 0x1f) return fraction ? NaN : sign * Infinity;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

const bfloatBits = new Uint32Array(1);
const bfloatValue = new Float32Array(bfloatBits.buffer);

function bfloatToNumber(bits: number): number {
  bfloatBits[0] = bits << 16;
  return bfloatValue[0] as number;
}

/**
 * Writes the features of the sample at `offset` (of `size` elements) into `out`, in profile
 * order. A feature that cannot be computed (an argmax of NaNs) is NaN, and is not counted.
 */
export function extractRow(values: ArrayLike<number>, offset: number, size: number, layout: TensorLayout, out: Float64Array): void {
  switch (layout.mode) {
    case 'elements':
      for (let j = 0; j < size; j++) out[j] = values[offset + j] as number;
      return;
    case 'argmax': {
      let best = -Infinity;
      let index = -1;
      for (let j = 0; j < size; j++) {
        const v = values[offset + j] as number;
        if (v > best || (index < 0 && v === v)) {
          best = v;
          index = j;
        }
      }
      out[0] = index < 0 ? NaN : index;
      return;
    }
    case 'summary': {
      // Welford's one pass: stable for the long rows that get summaries.
      let mean = 0;
      let m2 = 0;
      let min = Infinity;
      let max = -Infinity;
      let zeros = 0;
      for (let j = 0; j < size; j++) {
        const v = values[offset + j] as number;
        if (v === 0) zeros++;
        if (v < min) min = v;
        if (v > max) max = v;
        const delta = v - mean;
        mean += delta / (j + 1);
        m2 += delta * (v - mean);
      }
      out[0] = mean;
      out[1] = Math.sqrt(m2 / size);
      out[2] = min === Infinity ? NaN : min;
      out[3] = max === -Infinity ? NaN : max;
      out[4] = zeros / size;
      return;
    }
  }
}

/** The number of samples in a request: the largest batch dimension among its tensors. */
export function requestRows(inputs: readonly NamedTensor[], outputs: readonly NamedTensor[]): number {
  let rows = 0;
  for (const list of [inputs, outputs]) {
    for (const tensor of list) rows = Math.max(rows, tensor.shape.length === 0 ? 1 : (tensor.shape[0] as number));
  }
  return rows;
}
