import type { CancelSignal } from './cancellation.js';
import type { RequestTrace } from './trace.js';
import type { NamedTensor } from './tensor.js';

/** A transport-free inference request. */
export interface InferenceRequest {
  model: string;
  /** A version number, or empty / undefined for the model's default version. */
  version?: string | number | undefined;
  /** Echoed in the response. */
  id?: string | undefined;
  inputs: NamedTensor[];
  /** Outputs wanted, all when empty or undefined. */
  outputs?: readonly string[] | undefined;
  /** Absolute deadline in `Date.now()` milliseconds. */
  deadline?: number | undefined;
  /** Aborting drops the request if it has not started. */
  signal?: CancelSignal | undefined;
  /** Priority level, 1 the highest; 0 or undefined for the model's default. */
  priority?: number | undefined;
  /** Background work (batch jobs): waits below every priority level, so online requests go first. */
  background?: boolean | undefined;
  /** Microseconds the request may wait in the queue; 0 or undefined for the model's default. */
  timeoutUs?: number | undefined;
  /** Sticky routing: requests with the same key go to the same version of a split (e.g. a user id). */
  routingKey?: string | undefined;
  /** Filled by the scheduler with the request's queue and run times (tracing); none when undefined. */
  trace?: RequestTrace | undefined;
}

/** The answer to an `InferenceRequest`. */
export interface InferenceResponse {
  model: string;
  /** The version that answered. */
  version: number;
  /** Answered from the response cache (this replica's or the shared tier), not by a run. */
  cached?: boolean;
  id: string;
  outputs: NamedTensor[];
}
