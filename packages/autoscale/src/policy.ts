/**
 * The autoscaling policy: one pure function from the history of load and of past decisions to the
 * number of replicas wanted now. The local supervisor (`modelserve cluster`) and the simulation
 * (`modelserve autoscale simulate`) run it; the Kubernetes HorizontalPodAutoscaler in
 * `deploy/k8s` carries the same numbers (a test holds them equal), except the panic window, which
 * the HPA has no equivalent of.
 *
 * Load is requests in flight or queued on a replica, averaged over time (the rate of the
 * `modelserve_inference_request_duration_seconds_sum` counter, by Little's law). Like Knative's
 * autoscaler, the policy averages the load of all ready replicas over two windows:
 *
 * - the stable window (60 s): its average, divided by the target per replica, is the
 *   recommendation. A higher count is applied once it has been recommended throughout the upscale
 *   delay; a lower one only once every recommendation in the last stable window, or the downscale
 *   delay if longer, was at or below it: load must have stayed low for a whole window.
 * - the panic window (6 s): when its average needs `panicThreshold` (2) times the ready replicas or
 *   more, the policy panics: it scales to what the panic window needs at once, with no upscale
 *   delay, and never scales down until the panic condition has been absent for a stable window.
 *
 * Every change is bounded by the step limits (at most `maxStepUp` replicas more than the fewest of
 * the last `stepUpPeriodMs`, at most `maxStepDown` fewer than the most of the last
 * `stepDownPeriodMs`, as the HPA's `Pods` policies) and by the minimum and maximum.
 */

export interface PolicyConfig {
  /** Requests in flight or queued per replica that the policy aims at. */
  targetPerReplica: number;
  /** The window the recommendation averages over, and the least time load must stay low before a scale-down. */
  stableWindowMs: number;
  /** The short window that detects a surge. */
  panicWindowMs: number;
  /** Panic when the panic window's load needs this many times the ready replicas, or more. */
  panicThreshold: number;
  /** A higher count must be recommended throughout this long before it is applied (outside panic). */
  scaleUpDelayMs: number;
  /** A lower count must be recommended throughout this long (or the stable window, if longer). */
  scaleDownDelayMs: number;
  /** At most this many replicas more than the fewest decided in the last `stepUpPeriodMs`. */
  maxStepUp: number;
  stepUpPeriodMs: number;
  /** At most this many replicas fewer than the most decided in the last `stepDownPeriodMs`. */
  maxStepDown: number;
  stepDownPeriodMs: number;
  minReplicas: number;
  maxReplicas: number;
}

/** The defaults; `deploy/k8s`'s HorizontalPodAutoscaler and KEDA ScaledObject carry the same numbers. */
export const defaultPolicy: Readonly<PolicyConfig> = Object.freeze({
  targetPerReplica: 16,
  stableWindowMs: 60_000,
  panicWindowMs: 6_000,
  panicThreshold: 2,
  scaleUpDelayMs: 0,
  scaleDownDelayMs: 300_000,
  maxStepUp: 4,
  stepUpPeriodMs: 15_000,
  maxStepDown: 2,
  stepDownPeriodMs: 60_000,
  minReplicas: 1,
  maxReplicas: 10,
});

/** The load of each ready replica at `atMs` (requests in flight or queued, averaged since the sample before). */
export interface LoadSample {
  atMs: number;
  loads: readonly number[];
}

/** A count the policy decided (and the caller applied) at `atMs`. */
export interface ScalingDecision {
  atMs: number;
  replicas: number;
}

/** What the policy has seen and done, oldest first. `trimHistory` drops what it no longer reads. */
export interface ScalingHistory {
  samples: readonly LoadSample[];
  decisions: readonly ScalingDecision[];
}

export interface Recommendation {
  /** Replicas wanted now. */
  replicas: number;
  /** The count before this decision: the last decision, or the ready replicas if none. */
  current: number;
  /** Whether the policy is in panic mode. */
  panic: boolean;
  /** Average total load over the stable and panic windows. */
  stableLoad: number;
  panicLoad: number;
  /** Replicas the stable window's load needs, before delays, steps and bounds. */
  wanted: number;
  /** Why `replicas` differs from `wanted`, if it does. */
  limitedBy?: 'upscale delay' | 'stable window' | 'panic' | 'step' | 'min' | 'max';
}

const epsilon = 1e-9;
const need = (load: number, target: number): number => Math.max(0, Math.ceil(load / target - epsilon));
const total = (sample: LoadSample): number => sample.loads.reduce((sum, load) => sum + load, 0);

/** Mean total load over windows ending at any time: prefix sums over the samples (sorted by time). */
class LoadWindows {
  private readonly times: number[];
  private readonly prefix: number[] = [0];

  constructor(samples: readonly LoadSample[]) {
    this.times = samples.map((s) => s.atMs);
    for (const s of samples) this.prefix.push(this.prefix[this.prefix.length - 1]! + total(s));
  }

  /** Mean total load of the samples in (endMs - windowMs, endMs]; undefined if none. */
  mean(endMs: number, windowMs: number): number | undefined {
    const from = this.after(endMs - windowMs);
    const to = this.after(endMs);
    return to === from ? undefined : (this.prefix[to]! - this.prefix[from]!) / (to - from);
  }

  /** The index of the first sample later than `ms`. */
  private after(ms: number): number {
    let low = 0;
    let high = this.times.length;
    while (low < high) {
      const mid = (low + high) >> 1;
      if (this.times[mid]! <= ms) low = mid + 1;
      else high = mid;
    }
    return low;
  }
}

/** Throws unless every field is a finite number in its range, saying which and what it got. */
export function checkPolicyConfig(config: PolicyConfig): PolicyConfig {
  const positive: (keyof PolicyConfig)[] = ['targetPerReplica', 'stableWindowMs', 'panicWindowMs', 'stepUpPeriodMs', 'stepDownPeriodMs'];
  const nonNegative: (keyof PolicyConfig)[] = ['scaleUpDelayMs', 'scaleDownDelayMs'];
  const counts: (keyof PolicyConfig)[] = ['maxStepUp', 'maxStepDown', 'minReplicas', 'maxReplicas'];
  for (const key of positive) {
    if (!Number.isFinite(config[key]) || config[key] <= 0) throw new RangeError(`${key}: expected a number above 0, got ${config[key]}`);
  }
  for (const key of nonNegative) {
    if (!Number.isFinite(config[key]) || config[key] < 0) throw new RangeError(`${key}: expected a number of 0 or more, got ${config[key]}`);
  }
  for (const key of counts) {
    if (!Number.isInteger(config[key]) || config[key] < (key === 'minReplicas' ? 0 : 1)) throw new RangeError(`${key}: expected an integer of ${key === 'minReplicas' ? 0 : 1} or more, got ${config[key]}`);
  }
  if (!Number.isFinite(config.panicThreshold) || config.panicThreshold <= 1) throw new RangeError(`panicThreshold: expected a number above 1, got ${config.panicThreshold}`);
  if (config.maxReplicas < config.minReplicas) throw new RangeError(`maxReplicas: expected at least minReplicas (${config.minReplicas}), got ${config.maxReplicas}`);
  if (config.panicWindowMs > config.stableWindowMs) throw new RangeError(`panicWindowMs: expected at most stableWindowMs (${config.stableWindowMs}), got ${config.panicWindowMs}`);
  return config;
}

/** Whether the panic condition held at a sample: its panic window needs `panicThreshold`× the replicas ready then. */
function panicAt(windows: LoadWindows, sample: LoadSample, config: PolicyConfig): boolean {
  const load = windows.mean(sample.atMs, config.panicWindowMs) ?? 0;
  return load > 0 && load >= config.panicThreshold * Math.max(1, sample.loads.length) * config.targetPerReplica - epsilon;
}

/** The replicas wanted at `nowMs`, from the load and decisions in `history`. */
export function desiredReplicas(history: ScalingHistory, nowMs: number, config: PolicyConfig): Recommendation {
  const samples = history.samples.filter((s) => s.atMs <= nowMs);
  const decisions = history.decisions.filter((d) => d.atMs <= nowMs);
  const last = samples[samples.length - 1];
  const clamp = (n: number): number => Math.min(config.maxReplicas, Math.max(config.minReplicas, n));
  const current = decisions.length > 0 ? decisions[decisions.length - 1]!.replicas : clamp(last?.loads.length ?? config.minReplicas);
  const windows = new LoadWindows(samples);
  const stableLoad = windows.mean(nowMs, config.stableWindowMs);
  const panicLoad = windows.mean(nowMs, config.panicWindowMs);
  if (stableLoad === undefined || panicLoad === undefined) return { replicas: clamp(current), current, panic: false, stableLoad: 0, panicLoad: 0, wanted: current };

  // The recommendation at each sample of the windows that hold them back.
  const recommendationAt = (s: LoadSample): number => need(windows.mean(s.atMs, config.stableWindowMs) ?? 0, config.targetPerReplica);
  const wanted = need(stableLoad, config.targetPerReplica);
  const within = (ms: number): LoadSample[] => samples.filter((s) => s.atMs >= nowMs - ms);
  const upWindow = within(config.scaleUpDelayMs);
  const upRecommendation = upWindow.length === 0 ? wanted : Math.min(wanted, ...upWindow.map(recommendationAt));
  const downRecommendation = Math.max(wanted, ...within(Math.max(config.stableWindowMs, config.scaleDownDelayMs)).map(recommendationAt));
  const panic = samples.filter((s) => s.atMs > nowMs - config.stableWindowMs).some((s) => panicAt(windows, s, config));

  let replicas = current;
  let limitedBy: Recommendation['limitedBy'];
  if (replicas < upRecommendation) replicas = upRecommendation;
  if (replicas > downRecommendation) replicas = downRecommendation;
  if (replicas !== wanted) limitedBy = replicas < wanted ? 'upscale delay' : 'stable window';
  if (panic) {
    const surge = Math.max(current, wanted, need(panicLoad, config.targetPerReplica));
    if (surge !== replicas) limitedBy = 'panic';
    replicas = surge;
  }

  // Step limits, against the decisions of each period (the count before them included).
  const countsSince = (ms: number): number[] => {
    const inForce = decisions.filter((d) => d.atMs <= nowMs - ms).slice(-1);
    return [current, ...inForce.map((d) => d.replicas), ...decisions.filter((d) => d.atMs > nowMs - ms).map((d) => d.replicas)];
  };
  const upLimit = Math.min(...countsSince(config.stepUpPeriodMs)) + config.maxStepUp;
  const downLimit = Math.max(...countsSince(config.stepDownPeriodMs)) - config.maxStepDown;
  if (replicas > upLimit) [replicas, limitedBy] = [upLimit, 'step'];
  if (replicas < downLimit) [replicas, limitedBy] = [downLimit, 'step'];
  if (replicas < config.minReplicas) [replicas, limitedBy] = [config.minReplicas, 'min'];
  if (replicas > config.maxReplicas) [replicas, limitedBy] = [config.maxReplicas, 'max'];
  return { replicas, current, panic, stableLoad, panicLoad, wanted, ...(limitedBy === undefined || replicas === wanted ? {} : { limitedBy }) };
}

/** The history without what `desiredReplicas` at `nowMs` or later no longer reads. */
export function trimHistory(history: ScalingHistory, nowMs: number, config: PolicyConfig): ScalingHistory {
  // Recommendations look back one stable window from each sample of the longest hold-back window.
  const keepMs = Math.max(config.stableWindowMs, config.scaleDownDelayMs, config.scaleUpDelayMs) + config.stableWindowMs;
  const samples = history.samples.filter((s) => s.atMs > nowMs - keepMs);
  const stepMs = Math.max(config.stepUpPeriodMs, config.stepDownPeriodMs);
  const recent = history.decisions.filter((d) => d.atMs > nowMs - stepMs);
  // The last decision before the step periods stays: it is the current count.
  const before = history.decisions.filter((d) => d.atMs <= nowMs - stepMs).slice(-1);
  return { samples, decisions: [...before, ...recent] };
}
