/**
 * Messages between the event loop and an inference pool thread (runs do not use them: see
 * pool-wire.js). Shared by both sides; imports nothing from onnxruntime.
 */
import type { WireTensor } from './pool-wire.js';

/** A tensor spec as the thread reads it from onnxruntime's metadata. */
export interface ThreadSpec {
  name: string;
  isTensor: boolean;
  type: string;
  /** Numbers for fixed dims, strings for symbolic ones. */
  shape: Array<number | string>;
}

/** Event loop → thread. */
export type PoolToThread =
  | { kind: 'load'; slot: number; modelFile: string; intraOpThreads: number; area: SharedArrayBuffer }
  | { kind: 'unload'; slot: number }
  /** A larger area for the session's next request. */
  | { kind: 'area'; slot: number; area: SharedArrayBuffer };

/** Thread → event loop. */
export type ThreadToPool =
  | { kind: 'ready' }
  | { kind: 'loaded'; slot: number; inputs: ThreadSpec[]; outputs: ThreadSpec[] }
  | { kind: 'load-failed'; slot: number; message: string }
  | { kind: 'unloaded'; slot: number }
  /** A run's outputs too large for its area. */
  | { kind: 'outputs'; slot: number; tensors: WireTensor[] };
