/** The times of a traced request inside core, which the scheduler fills (see observer.ts). */

/**
 * Times of one request inside core, filled by the scheduler when the request carries one
 * (`InferenceRequest.trace`). Times are `performance.now()` milliseconds.
 */
export interface RequestTrace {
  /** When the scheduler queued it; undefined when it never got that far. */
  queuedAt?: number;
  /** The run that served it, once it started. */
  run?: RunTrace;
  /** Whatever the observer attaches (e.g. the request's span). */
  context?: unknown;
}

/** One run of a model version (one batch), shared by the traces of the requests it served. */
export interface RunTrace {
  startedAt: number;
  /** Undefined while it runs. */
  endedAt?: number;
  /** Samples run (the batch size). */
  samples: number;
  /** The traced requests it served. */
  traces: RequestTrace[];
  /** Whatever the observer attaches (e.g. the run's span). */
  context?: unknown;
}
