import type { ModelSignature } from './metadata.js';
import type { NamedTensor } from './tensor.js';

/** How to create one instance of a model version. */
export interface InstanceOptions {
  /** `model/version`, for messages. */
  label: string;
  modelFile: string;
  intraOpThreads: number;
  /**
   * Called once, with why, if the instance stops serving for good while open (its worker died and
   * a new one could not load the model). Its runs then fail with `Unavailable`.
   */
  onFailed?: ((reason: string) => void) | undefined;
}

/** One loaded copy of a model that runs one request at a time. */
export interface ModelInstance {
  readonly signature: ModelSignature;
  /** Runs the model; `outputs` names the outputs wanted (all when empty). Inputs are consumed. */
  run(inputs: NamedTensor[], outputs: readonly string[]): Promise<NamedTensor[]>;
  /** Frees the instance; pending runs fail with `Unavailable`. */
  close(): Promise<void>;
}

/** Creates model instances; the onnxruntime backend is the real one, tests may use a fake. */
export interface Backend {
  readonly name: string;
  createInstance(options: InstanceOptions): Promise<ModelInstance>;
  /** Frees what the backend holds beyond its instances (the onnxruntime backend's pool threads). */
  close?(): Promise<void>;
  /** Its worker threads and their busy time, when it has any (metrics). */
  stats?(): { threads: number; busySeconds: number };
}
