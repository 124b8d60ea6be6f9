/**
 * The datatype mapping between modelserve and onnxruntime. Imports nothing from onnxruntime so
 * the event loop never loads it.
 */
import type { DataType } from './tensor.js';

/** onnxruntime's tensor type names for each datatype it serves. BF16 is absent: it cannot load. */
export const ortTypeOf: Readonly<Partial<Record<DataType, string>>> = {
  BOOL: 'bool',
  UINT8: 'uint8',
  UINT16: 'uint16',
  UINT32: 'uint32',
  UINT64: 'uint64',
  INT8: 'int8',
  INT16: 'int16',
  INT32: 'int32',
  INT64: 'int64',
  FP16: 'float16',
  FP32: 'float32',
  FP64: 'float64',
  BYTES: 'string',
};

const dataTypeByOrt: ReadonlyMap<string, DataType> = new Map(Object.entries(ortTypeOf).map(([datatype, ort]) => [ort, datatype as DataType]));

/** The datatype of an onnxruntime tensor type name, or undefined for one not served (per output of every run: a lookup). */
export function dataTypeOfOrt(type: string): DataType | undefined {
  return dataTypeByOrt.get(type);
}
