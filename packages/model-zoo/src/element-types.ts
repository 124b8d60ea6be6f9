import { onnx } from './onnx.js';

/** ONNX tensor element types this package can declare on graph inputs and outputs. */
export type OnnxElementType =
  | 'bool'
  | 'uint8'
  | 'uint16'
  | 'uint32'
  | 'uint64'
  | 'int8'
  | 'int16'
  | 'int32'
  | 'int64'
  | 'float16'
  | 'bfloat16'
  | 'float32'
  | 'float64'
  | 'string';

const DataType = onnx.TensorProto.DataType;

// Names follow onnxruntime-node's Tensor.Type strings (ORT has no 'bfloat16') so tests
// can pass them straight through; callers never handle raw enum numbers.
const DATA_TYPE: Readonly<Record<OnnxElementType, number>> = {
  bool: DataType.BOOL,
  uint8: DataType.UINT8,
  uint16: DataType.UINT16,
  uint32: DataType.UINT32,
  uint64: DataType.UINT64,
  int8: DataType.INT8,
  int16: DataType.INT16,
  int32: DataType.INT32,
  int64: DataType.INT64,
  float16: DataType.FLOAT16,
  bfloat16: DataType.BFLOAT16,
  float32: DataType.FLOAT,
  float64: DataType.DOUBLE,
  string: DataType.STRING,
};

/** Every element type, in a fixed order (the order `datatypes()` declares its inputs). */
export const ELEMENT_TYPES: readonly OnnxElementType[] = Object.keys(DATA_TYPE) as OnnxElementType[];

/** Maps an element type name to its `TensorProto.DataType` number. */
export function dataTypeOf(type: OnnxElementType): number {
  return DATA_TYPE[type];
}
