/**
 * The interface the remote client and the in-process predictor share, so code written against
 * one runs against the other.
 */
import type { ModelServeError } from './errors.js';
import type { DataType, Tensor, TensorInputs } from './tensors.js';

/** Options of one prediction. */
export interface PredictOptions {
  /** Model version; default: the model's default version. */
  version?: string | number;
  /** Outputs to return; default: all. */
  outputs?: readonly string[];
  /** Echoed in the result; default "". */
  id?: string;
  /** Priority level, 1 the highest; default: the model's default level. */
  priority?: number;
  /** Deadline of the call (every retry included), ms from now. Default: the client's `timeoutMs`. */
  timeoutMs?: number;
  /** Aborting cancels the call; the promise rejects with CANCELLED. */
  signal?: AbortSignal;
}

/** A prediction's answer. */
export interface PredictResult {
  model: string;
  version: string;
  id: string;
  /** Outputs by name. */
  outputs: Record<string, Tensor>;
  /** `host:port` that answered; "local" for the in-process predictor. */
  endpoint: string;
}

/** One request of a stream. */
export interface StreamRequest {
  inputs: TensorInputs;
  /** Correlates the result; default: the request's position ("0", "1", …). Must be unique in the stream. */
  id?: string;
  version?: string | number;
  outputs?: readonly string[];
  priority?: number;
}

/** One result of a stream: outputs, or this request's error (the stream goes on). */
export type StreamResult = (PredictResult & { ok: true }) | { ok: false; id: string; error: ModelServeError };

/** Options of a stream. */
export interface StreamOptions {
  /** Requests sent and not yet answered; reading the request iterable pauses at this many. Default 128. */
  maxInflight?: number;
  /** Deadline of the whole stream, ms from now. Default: none. */
  timeoutMs?: number;
  /** Aborting cancels the stream; iteration throws CANCELLED. */
  signal?: AbortSignal;
}

/** A model version's state. */
export interface VersionInfo {
  version: string;
  /** LOADING, READY, UNLOADING, UNAVAILABLE or FAILED. */
  state: string;
  reason: string;
}

/** A model and its versions. */
export interface ModelInfo {
  name: string;
  /** The version requests naming none go to; undefined when none can serve. */
  defaultVersion: string | undefined;
  versions: VersionInfo[];
}

/** An input or output of a model: -1 where a dimension is variable; `[-1]` when the model leaves the rank open. */
export interface TensorSpec {
  name: string;
  datatype: DataType;
  shape: number[];
}

/** What a model version takes and gives. */
export interface ModelMetadata {
  name: string;
  version: string;
  platform: string;
  maxBatchSize: number;
  inputs: TensorSpec[];
  outputs: TensorSpec[];
}

/** `predict`, `predictStream`, `models`, `metadata`: remote (createClient) or in-process (createLocalPredictor). */
export interface Predictor {
  predict(model: string, inputs: TensorInputs, options?: PredictOptions): Promise<PredictResult>;
  /** Results come as they complete (not in request order), each exactly once. */
  predictStream(model: string, requests: AsyncIterable<StreamRequest> | Iterable<StreamRequest>, options?: StreamOptions): AsyncIterable<StreamResult>;
  models(): Promise<ModelInfo[]>;
  metadata(model: string, version?: string | number): Promise<ModelMetadata>;
  close(): Promise<void>;
}
