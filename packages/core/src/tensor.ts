/**
 * Transport-free tensors: the Open Inference Protocol's datatypes over plain typed arrays.
 * @modelserve/proto's DecodedTensor has the same structure (core may not import proto); the
 * server passes one for the other, so the compiler checks they stay alike.
 */

/** Open Inference Protocol datatypes. */
export type DataType =
  | 'BOOL'
  | 'UINT8'
  | 'UINT16'
  | 'UINT32'
  | 'UINT64'
  | 'INT8'
  | 'INT16'
  | 'INT32'
  | 'INT64'
  | 'FP16'
  | 'BF16'
  | 'FP32'
  | 'FP64'
  | 'BYTES';

/** The element storage of each datatype. BOOL is one byte per element (0 or 1); FP16 and BF16 are raw bits. */
export interface TensorDataMap {
  BOOL: Uint8Array;
  UINT8: Uint8Array;
  UINT16: Uint16Array;
  UINT32: Uint32Array;
  UINT64: BigUint64Array;
  INT8: Int8Array;
  INT16: Int16Array;
  INT32: Int32Array;
  INT64: BigInt64Array;
  FP16: Uint16Array;
  BF16: Uint16Array;
  FP32: Float32Array;
  FP64: Float64Array;
  BYTES: Uint8Array[];
}

/** A numeric tensor's storage. */
export type NumericTensorData = Exclude<TensorDataMap[DataType], Uint8Array[]>;

/** A numeric datatype's typed array: made of `length` zeros, or as a view on bytes. */
export interface NumericArrayConstructor<T extends NumericTensorData> {
  readonly BYTES_PER_ELEMENT: number;
  new (length: number): T;
  new (buffer: ArrayBufferLike, byteOffset: number, length: number): T;
}

/** The typed array of each numeric datatype, checked against TensorDataMap: one table for every place that makes one (warm-up's zeros, views on onnxruntime's outputs). */
export const numericArrayOf: { readonly [D in Exclude<DataType, 'BYTES'>]: NumericArrayConstructor<TensorDataMap[D]> } = {
  BOOL: Uint8Array,
  UINT8: Uint8Array,
  UINT16: Uint16Array,
  UINT32: Uint32Array,
  UINT64: BigUint64Array,
  INT8: Int8Array,
  INT16: Int16Array,
  INT32: Int32Array,
  INT64: BigInt64Array,
  FP16: Uint16Array,
  BF16: Uint16Array,
  FP32: Float32Array,
  FP64: Float64Array,
};

/** Any tensor's storage. */
export type TensorData = TensorDataMap[DataType];

/** A tensor: datatype, shape (row-major) and flat data with one element per shape cell. */
export interface Tensor<D extends DataType = DataType> {
  datatype: D;
  shape: number[];
  data: TensorDataMap[D];
}

/** A tensor with its name, as it appears in requests and responses. */
export interface NamedTensor extends Tensor {
  name: string;
}

/** The number of elements a shape holds (1 for a scalar, 0 when any dimension is 0). */
export function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

