/**
 * What the registry tells an observer (metrics, traces, drift; packages/telemetry) as it serves,
 * without knowing what the observer does with it. Core calls these hooks synchronously on the
 * event loop: an observer must be cheap and must not throw.
 */
import type { ErrorCode } from './errors.js';
import type { InferenceRequest, InferenceResponse } from './inference.js';
import type { VersionState } from './metadata.js';

/** How a request ended: `'OK'` or the error code it was answered with. */
export type Outcome = 'OK' | ErrorCode;

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

/** The hooks of one model version, asked for once per load (label children are made then). */
export interface VersionObserver {
  /** A request left the queue for a run after `seconds`. */
  queued(seconds: number): void;
  /** A run of `samples` samples for `requests` requests took `seconds`. */
  ran(samples: number, seconds: number, requests: number): void;
  /** A run that served traced requests ended (after `ran`). */
  tracedRun?(run: RunTrace): void;
  /** A shadow version's outputs compared with the answering version's: rows compared by argmax and how many agreed. */
  compared?(against: number, rows: number, agreeingRows: number): void;
}

/** What observes a registry. */
export interface InferenceObserver {
  /** The hooks of `model` version `version`; called when the version starts loading. */
  version(model: string, version: number): VersionObserver;
  /** A version changed state (loaded, failed, unloaded). */
  versionState?(model: string, version: number, state: VersionState): void;
  /**
   * A request `registry.infer` was given has been answered: `version` is the version it was routed
   * to (undefined when it failed before one was chosen), `seconds` its time inside the registry,
   * `response` its outputs when it succeeded. Called for every request, exactly once.
   */
  finished(request: InferenceRequest, version: number | undefined, outcome: Outcome, seconds: number, response: InferenceResponse | undefined): void;
}

