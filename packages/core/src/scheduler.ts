import type { CancelSignal } from './cancellation.js';
import type { RequestTrace } from './trace.js';
import type { NamedTensor } from './tensor.js';

/** One unit of work for a model version. */
export interface InferenceJob {
  inputs: NamedTensor[];
  /** Outputs wanted, all when empty. */
  outputs: readonly string[];
  /** Absolute deadline in `Date.now()` milliseconds; the job is never started after it. */
  deadline?: number | undefined;
  /** Aborting removes a queued job; a started run cannot be stopped but its result is dropped. */
  signal?: CancelSignal | undefined;
  /** Priority level, 1 the highest; undefined or 0 for the model's default level. */
  priority?: number | undefined;
  /** Background work (batch jobs): queued below every priority level, whatever `priority` says. */
  background?: boolean | undefined;
  /** Filled with the job's queue and run times (tracing). */
  trace?: RequestTrace | undefined;
}

/** Decides when and where jobs run (Triton core's scheduler.h: enqueue, in-flight, stop). */
export interface Scheduler {
  /** Queues a job; settles with its outputs or a `ModelServeError`. */
  enqueue(job: InferenceJob): Promise<NamedTensor[]>;
  /** Jobs queued or running. */
  readonly inflight: number;
  /** Refuses new jobs, lets accepted ones finish, then resolves. */
  drain(): Promise<void>;
}
