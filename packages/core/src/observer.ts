/**
 * What the registry tells an observer (metrics, traces, drift; packages/telemetry) as it serves,
 * without knowing what the observer does with it. Core calls these hooks synchronously on the
 * event loop: an observer must be cheap and must not throw.
 */
import type { ErrorCode } from './errors.js';
import type { InferenceRequest, InferenceResponse } from './inference.js';
import type { VersionState } from './metadata.js';
import type { CacheOutcome } from './response-cache.js';
import type { RunTrace } from './trace.js';

export type { RequestTrace, RunTrace } from './trace.js';

/** How a request ended: `'OK'` or the error code it was answered with. */
export type Outcome = 'OK' | ErrorCode;

/** The hooks of one model version, asked for once per load (label children are made then). */
export interface VersionObserver {
  /** A request left the queue for a run after `seconds`. */
  queued(seconds: number): void;
  /** A run of `samples` samples for `requests` requests took `seconds`. */
  ran(samples: number, seconds: number, requests: number): void;
  /** A run that served traced requests ended (after `ran`). */
  tracedRun?(run: RunTrace): void;
  /** A request met the response cache: answered from it, coalesced into an identical request's run, or missed. */
  cache?(outcome: CacheOutcome): void;
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

