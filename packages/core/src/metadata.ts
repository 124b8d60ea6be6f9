import type { EffectiveRouting } from './router.js';
import type { DataType } from './tensor.js';

/** One input or output of a model as served; `shape` uses -1 for a variable dimension. */
export interface TensorSpec {
  name: string;
  datatype: DataType;
  /** Dimensions, -1 where variable; `null` when the model does not fix the rank. */
  shape: number[] | null;
}

/** What a model version takes and gives, read from the model itself. */
export interface ModelSignature {
  inputs: TensorSpec[];
  outputs: TensorSpec[];
}

/** The lifecycle of one model version (Triton's model_lifecycle). */
export type VersionState = 'LOADING' | 'READY' | 'UNLOADING' | 'UNAVAILABLE' | 'FAILED';

/** One version's state and, when it is not ready, why. */
export interface VersionStatus {
  version: number;
  state: VersionState;
  reason: string;
}

/** A model's versions and the version used when a request names none. */
export interface ModelStatus {
  name: string;
  /** `undefined` when no version can serve. */
  defaultVersion: number | undefined;
  versions: VersionStatus[];
  /** Where requests naming no version go now: each answering version's share, the shadow, and what does not happen as set. */
  routing: EffectiveRouting;
}

/** A version's full description: its signature, its status and its batching limit. */
export interface ModelMetadata extends ModelSignature {
  name: string;
  version: number;
  platform: 'onnxruntime_onnx';
  maxBatchSize: number;
  status: ModelStatus;
}

/** Formats a shape for messages: `[-1,784]`, `[]`, or `any` for an unranked spec. */
export function formatShape(shape: readonly number[] | null): string {
  return shape === null ? 'any' : `[${shape.join(',')}]`;
}
