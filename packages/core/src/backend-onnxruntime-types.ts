/**
 * Messages between the main thread and an onnxruntime worker, and the datatype mapping.
 * Shared by both sides; imports nothing from onnxruntime so the main thread never loads it.
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

/** A tensor as it crosses the thread boundary. */
export interface WireTensor {
  name: string;
  type: string;
  dims: number[];
  /** Typed array for numbers; strings for `string`. */
  data: ArrayBufferView | string[];
}

/** A tensor spec as the worker reads it from onnxruntime's metadata. */
export interface WorkerSpec {
  name: string;
  isTensor: boolean;
  type: string;
  /** Numbers for fixed dims, strings for symbolic ones. */
  shape: Array<number | string>;
}

/** What the worker is started with. */
export interface WorkerInit {
  modelFile: string;
  intraOpThreads: number;
}

/** Main thread → worker. */
export type ToWorker = { kind: 'run'; id: number; inputs: WireTensor[]; outputs: string[] };

/** Worker → main thread. */
export type FromWorker =
  | { kind: 'loaded'; inputs: WorkerSpec[]; outputs: WorkerSpec[] }
  | { kind: 'load-failed'; message: string }
  | { kind: 'result'; id: number; outputs: WireTensor[] }
  | { kind: 'run-failed'; id: number; message: string };
