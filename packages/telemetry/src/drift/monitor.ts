/**
 * Drift of one model version's traffic against a reference profile, window by window.
 * Time comes in as an argument, so tests run in virtual time.
 */
import type { NamedTensor } from '@modelserve/core';
import { compareProfiles, worstLevel, type DriftLevel, type DriftThresholds, type TensorDrift } from './compare.js';
import { ProfileBuilder, type ProfileBuilderOptions } from './profile-builder.js';
import { ProfileCounter } from './profile-counter.js';
import type { Profile } from './profile.js';

/** Options of a DriftMonitor, with their defaults. */
export interface DriftMonitorOptions extends DriftThresholds, Omit<ProfileBuilderOptions, 'samples'> {
  /** Share of requests observed, in [0, 1]; the others return at once. Default 1. */
  sampleRate?: number;
  /** The sampler's source of uniform numbers in [0, 1), seeded in tests. Default Math.random. */
  random?: () => number;
  /** A window closes once this long has passed since it opened... Default 60000. */
  windowMs?: number;
  /** ...and it holds at least this many samples. Default 500. */
  minSamples?: number;
  /** Samples of the reference frozen from the first requests, when none is given. Default 1000. */
  referenceSamples?: number;
  /** The reference (reference.json, or another version's, to compare a canary with it). */
  reference?: Profile;
}

/**
 * Where a monitor is: building its reference from the first requests, counting its first window,
 * or the level of its last closed window.
 */
export type DriftState = 'collecting-reference' | 'collecting' | DriftLevel;

/** A monitor's report, from its last closed window. */
export interface DriftReport {
  state: DriftState;
  /** Samples in the reference (while it is being collected: so far). */
  referenceSamples: number;
  /** Samples in the last closed window (before the first closes: in the open one). */
  windowSamples: number;
  /** The last closed window, `nowMs` milliseconds. */
  window: { start: number; end: number } | undefined;
  /** Per tensor, its drift in the last closed window. */
  tensors: TensorDrift[];
  /** The worst feature's level ('ok' until a window closes). */
  level: DriftLevel;
}

interface ClosedWindow {
  start: number;
  end: number;
  samples: number;
  tensors: TensorDrift[];
  level: DriftLevel;
}

/** Watches one model version's inputs and outputs for drift. */
export class DriftMonitor {
  readonly #sampleRate: number;
  readonly #random: () => number;
  readonly #windowMs: number;
  readonly #minSamples: number;
  readonly #thresholds: DriftThresholds;
  #builder: ProfileBuilder | undefined;
  #reference: Profile | undefined;
  #window: ProfileCounter | undefined;
  #windowStart: number | undefined;
  #last: ClosedWindow | undefined;
  #requests = 0;
  #sampled = 0;

  constructor(model: string, version: number, options: DriftMonitorOptions = {}) {
    this.#sampleRate = options.sampleRate ?? 1;
    if (!(this.#sampleRate >= 0 && this.#sampleRate <= 1)) throw new RangeError(`DriftMonitor: sampleRate: expected a number in [0, 1], got ${this.#sampleRate}`);
    this.#random = options.random ?? Math.random;
    this.#windowMs = options.windowMs ?? 60_000;
    this.#minSamples = options.minSamples ?? 500;
    this.#thresholds = { warnPsi: options.warnPsi, alertPsi: options.alertPsi, topK: options.topK };
    if (options.reference !== undefined) this.#adopt(options.reference);
    else this.#builder = new ProfileBuilder(model, version, { ...options, samples: options.referenceSamples ?? 1000 });
  }

  /** The reference, once given or frozen. */
  get reference(): Profile | undefined {
    return this.#reference;
  }

  /** Requests passed to observe. */
  get observedRequests(): number {
    return this.#requests;
  }

  /** Requests the sampler kept. */
  get sampledRequests(): number {
    return this.#sampled;
  }

  /**
   * Observes one request's inputs and outputs (batched: each row of the first dimension is one
   * sample). Unsampled requests return at once. Until the reference exists, samples build it;
   * afterwards they are counted in the open window, which first closes if it is due.
   */
  observe(inputs: readonly NamedTensor[], outputs: readonly NamedTensor[], nowMs = Date.now()): void {
    this.#requests++;
    if (this.#sampleRate < 1 && !(this.#random() < this.#sampleRate)) return;
    this.#sampled++;
    const builder = this.#builder;
    if (builder !== undefined) {
      builder.add(inputs, outputs);
      if (builder.isFull) {
        this.#builder = undefined;
        this.#adopt(builder.freeze());
      }
      return;
    }
    this.tick(nowMs);
    this.#windowStart ??= nowMs;
    this.#window?.add(inputs, outputs);
  }

  /**
   * Closes the open window if it is due: `windowMs` has passed since it opened and it holds at
   * least `minSamples` samples. Returns whether it closed; observe calls it, a timer may too.
   */
  tick(nowMs = Date.now()): boolean {
    const window = this.#window;
    const start = this.#windowStart;
    if (window === undefined || start === undefined || this.#reference === undefined) return false;
    if (nowMs - start < this.#windowMs || window.samples < this.#minSamples) return false;
    const tensors = compareProfiles(this.#reference, window.toProfile(), this.#thresholds);
    const level = worstLevel(tensors.map((t) => t.level));
    this.#last = { start, end: nowMs, samples: window.samples, tensors, level };
    window.reset();
    this.#windowStart = nowMs;
    return true;
  }

  /** The open window's counts, in the reference's bins (to compare two versions' traffic). */
  currentCounts(): Profile | undefined {
    return this.#window?.toProfile();
  }

  /** The state and the drift of the last closed window. */
  report(): DriftReport {
    if (this.#reference === undefined) {
      const collected = this.#builder?.samples ?? 0;
      return { state: 'collecting-reference', referenceSamples: collected, windowSamples: 0, window: undefined, tensors: [], level: 'ok' };
    }
    const referenceSamples = this.#reference.samples;
    const last = this.#last;
    if (last === undefined) {
      return { state: 'collecting', referenceSamples, windowSamples: this.#window?.samples ?? 0, window: undefined, tensors: [], level: 'ok' };
    }
    return { state: last.level, referenceSamples, windowSamples: last.samples, window: { start: last.start, end: last.end }, tensors: last.tensors, level: last.level };
  }

  #adopt(reference: Profile): void {
    this.#window = new ProfileCounter(reference);
    this.#reference = reference;
  }
}
