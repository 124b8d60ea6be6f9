/**
 * Decoded (transport-free) tensors. Structurally identical to @modelserve/core's tensors, which
 * this package must not import: a core NamedTensor is a DecodedTensor and vice versa.
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

/** Element storage per datatype: BOOL one byte (0 or 1) per element, FP16 and BF16 raw bits. */
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

/** Any tensor's storage. */
export type TensorData = TensorDataMap[DataType];

/** A fixed-size datatype's storage (every datatype but BYTES). */
export type NumericTensorData = Exclude<TensorData, Uint8Array[]>;

/** A named tensor: datatype, row-major shape and flat data with one element per shape cell. */
export interface DecodedTensor<D extends DataType = DataType> {
  name: string;
  datatype: D;
  shape: number[];
  data: TensorDataMap[D];
}

/** The TensorContents fields (Open Inference Protocol's InferTensorContents has the same names). */
export type TypedContentsField =
  | 'bool_contents'
  | 'int_contents'
  | 'int64_contents'
  | 'uint_contents'
  | 'uint64_contents'
  | 'fp32_contents'
  | 'fp64_contents'
  | 'bytes_contents';

/** Typed contents as decoded by proto-loader (longs as strings); every field optional. */
export interface WireTensorContents {
  bool_contents?: readonly boolean[];
  int_contents?: readonly number[];
  int64_contents?: readonly (string | number)[];
  uint_contents?: readonly number[];
  uint64_contents?: readonly (string | number)[];
  fp32_contents?: readonly number[];
  fp64_contents?: readonly number[];
  bytes_contents?: readonly Uint8Array[];
}

type TypedArrayCtor = new (buffer: ArrayBufferLike, byteOffset?: number, length?: number) => NumericTensorData;

/** What the codec needs to know per datatype. */
export interface DataTypeInfo {
  /** Bytes per element; 0 for BYTES, whose elements vary in size. */
  readonly size: number;
  /** The TensorContents field that carries this datatype's typed values. */
  readonly field: TypedContentsField;
  /** The storage constructor; undefined for BYTES. */
  readonly array: TypedArrayCtor | undefined;
}

// Casts: the typed-array constructors' own signatures are overloads TypeScript cannot unify.
const info = (size: number, field: TypedContentsField, array: unknown): DataTypeInfo =>
  Object.freeze({ size, field, array: array as TypedArrayCtor | undefined });

/** Per-datatype facts, including the typed-contents mapping of Triton/KServe. */
export const dataTypeInfo: Readonly<Record<DataType, DataTypeInfo>> = Object.freeze({
  BOOL: info(1, 'bool_contents', Uint8Array),
  UINT8: info(1, 'uint_contents', Uint8Array),
  UINT16: info(2, 'uint_contents', Uint16Array),
  UINT32: info(4, 'uint_contents', Uint32Array),
  UINT64: info(8, 'uint64_contents', BigUint64Array),
  INT8: info(1, 'int_contents', Int8Array),
  INT16: info(2, 'int_contents', Int16Array),
  INT32: info(4, 'int_contents', Int32Array),
  INT64: info(8, 'int64_contents', BigInt64Array),
  FP16: info(2, 'fp32_contents', Uint16Array),
  BF16: info(2, 'fp32_contents', Uint16Array),
  FP32: info(4, 'fp32_contents', Float32Array),
  FP64: info(8, 'fp64_contents', Float64Array),
  BYTES: info(0, 'bytes_contents', undefined),
});

/** Every datatype, in the protocol's order. */
export const dataTypes: readonly DataType[] = Object.freeze(Object.keys(dataTypeInfo) as DataType[]);

/** Whether `s` names a datatype (case-sensitive, as the protocol spells them). */
export function isDataType(s: string): s is DataType {
  return Object.hasOwn(dataTypeInfo, s);
}
