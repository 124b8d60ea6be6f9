/**
 * `modelserve autoscale simulate`: a discrete-event simulation, in virtual time, of requests
 * arriving along a load curve at replicas that the policy (`desiredReplicas`) scales.
 *
 * - Arrivals: a Poisson process whose rate follows the curve (curves.ts); seeded, one random
 *   stream per purpose (arrivals, service times, cold starts, routing), so a policy change leaves
 *   the arrivals as they were.
 * - Routing: least request, as the SDK's `least_request`: of two READY replicas picked at random,
 *   the one with fewer requests in flight (in service or queued). With no replica READY, requests
 *   wait in an activator buffer (as Knative's) and go out when one is.
 * - Replicas: up to `slots` requests in service, the rest queued FIFO; service times from the
 *   measured profile (profile.ts). A new replica costs replica-time from its start but takes traffic
 *   only once READY, a cold start (drawn from the measured ones) later.
 * - Every tick: each READY replica's load (requests in service or queued, averaged over the time it
 *   was READY in the tick: what the supervisor reads from the rate of
 *   `modelserve_inference_request_duration_seconds_sum`) goes into the history, the policy decides,
 *   the decision is applied at once and recorded, and the history is trimmed. Replicas still
 *   starting count towards the decision. Fewer: starting replicas are cancelled first, newest
 *   first, then the least loaded READY ones drain: no new requests, they finish what they hold,
 *   then stop.
 * - The curve's end stops arrivals, ticks and the replica-time count; requests still held are
 *   answered after it (they count in the totals, not in the series).
 */
import { Arrivals, RateCurve, type LoadCurve } from './curves.js';
import { build as buildHistogram, type Histogram } from 'hdr-histogram-js';
import { desiredReplicas, trimHistory, type LoadSample, type PolicyConfig, type ScalingDecision } from './policy.js';
import { ServiceModel, type ReplicaProfile } from './profile.js';
import { randomStream } from './random.js';

export interface SimulationOptions {
  policy: PolicyConfig;
  /** Requests answered later than this are over the latency SLO. */
  sloMs: number;
  seed: number;
  /** How often the policy samples load and decides. */
  tickMs: number;
  /** Width of the series' windows (load, replicas, p99). */
  windowMs: number;
  /** READY at 0 (default: what the curve's first rate needs at the policy's target, within min and max). */
  initialReplicas?: number;
  /** Every cold start this long instead of the profile's. */
  coldStartMs?: number;
}

export const defaultSimulation = { sloMs: 100, seed: 1, tickMs: 1000, windowMs: 5000 } as const;

/** A change of the decided count. */
export interface ScalingEvent {
  atMs: number;
  from: number;
  to: number;
  panic: boolean;
  /** Replicas READY when it was decided. */
  ready: number;
  limitedBy?: string;
}

/** One window of the series; latencies of the requests answered in it. */
export interface WindowPoint {
  startMs: number;
  endMs: number;
  /** The curve's rate at the window's middle, and the requests that arrived per second. */
  curveRps: number;
  offeredRps: number;
  /** Replicas READY and in all (starting, READY, draining), averaged over the window. */
  ready: number;
  replicas: number;
  completed: number;
  overSlo: number;
  p50Ms: number | null;
  p99Ms: number | null;
  /** Whether the policy was in panic at any tick of the window. */
  panic: boolean;
}

/** One replica's life; null: it did not get there. */
export interface ReplicaLife {
  startMs: number;
  readyMs: number | null;
  drainMs: number | null;
  stopMs: number | null;
}

export interface SimulationResult {
  curve: { name: string; description: string; durationMs: number };
  profile: { slots: number; capacity: number; perReplicaAtTarget: number; coldStartMs: { min: number; median: number; max: number } };
  policy: PolicyConfig;
  sloMs: number;
  seed: number;
  tickMs: number;
  windowMs: number;
  initialReplicas: number;
  requests: number;
  completed: number;
  overSlo: number;
  overSloShare: number;
  latencyMs: { mean: number | null; p50: number | null; p99: number | null; max: number | null };
  /** Replica-time from 0 to the curve's end: starting, READY and draining replicas. */
  replicaMinutes: number;
  peakReplicas: number;
  scalingEvents: ScalingEvent[];
  /** Ticks at which the policy was in panic, and the first. */
  panicTicks: number;
  firstPanicMs: number | null;
  /**
   * The curve's surge: from its start to the start of the first window with p99 back within the
   * SLO after one over it (0 when none was over; null when p99 never came back).
   */
  surge: { startMs: number; endMs: number; absorbedMs: number | null } | null;
  /** The longest run of windows with p99 over the SLO. */
  longestOverSlo: { startMs: number; endMs: number } | null;
  series: WindowPoint[];
  replicas: ReplicaLife[];
}

const STARTING = 0;
const READY = 1;
const DRAINING = 2;
const STOPPED = 3;

/** A FIFO of arrival times. */
class TimeQueue {
  private items = new Float64Array(16);
  private head = 0;
  size = 0;

  push(value: number): void {
    if (this.size === this.items.length) {
      const bigger = new Float64Array(this.items.length * 2);
      for (let i = 0; i < this.size; i++) bigger[i] = this.items[(this.head + i) % this.items.length]!;
      this.items = bigger;
      this.head = 0;
    }
    this.items[(this.head + this.size) % this.items.length] = value;
    this.size++;
  }

  shift(): number {
    const value = this.items[this.head]!;
    this.head = (this.head + 1) % this.items.length;
    this.size--;
    return value;
  }
}

class Replica {
  state = STARTING;
  readyMs = NaN;
  drainMs = NaN;
  stopMs = NaN;
  inService = 0;
  readonly queue = new TimeQueue();
  /** Integral of requests held (ms × requests) since `lastMs`'s tick. */
  area = 0;
  lastMs: number;

  constructor(
    readonly id: number,
    readonly startMs: number,
  ) {
    this.lastMs = startMs;
  }

  held(): number {
    return this.inService + this.queue.size;
  }

  /** Adds the time since the last change to the load integral. */
  advance(now: number): void {
    this.area += (this.inService + this.queue.size) * (now - this.lastMs);
    this.lastMs = now;
  }
}

/** Completions and replicas becoming READY, by time: a binary heap over parallel arrays. */
class EventHeap {
  times = new Float64Array(1024);
  /** A completion's request arrival time; -1 for a replica becoming READY. */
  arrived = new Float64Array(1024);
  replica = new Int32Array(1024);
  size = 0;

  push(time: number, arrived: number, replica: number): void {
    if (this.size === this.times.length) {
      const grow = <T extends Float64Array | Int32Array>(a: T, make: (n: number) => T): T => {
        const b = make(a.length * 2);
        b.set(a);
        return b;
      };
      this.times = grow(this.times, (n) => new Float64Array(n));
      this.arrived = grow(this.arrived, (n) => new Float64Array(n));
      this.replica = grow(this.replica, (n) => new Int32Array(n));
    }
    let i = this.size++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.times[parent]! <= time) break;
      this.times[i] = this.times[parent]!;
      this.arrived[i] = this.arrived[parent]!;
      this.replica[i] = this.replica[parent]!;
      i = parent;
    }
    this.times[i] = time;
    this.arrived[i] = arrived;
    this.replica[i] = replica;
  }

  /** Removes the earliest event; its fields are then in `top`. */
  pop(top: { time: number; arrived: number; replica: number }): void {
    top.time = this.times[0]!;
    top.arrived = this.arrived[0]!;
    top.replica = this.replica[0]!;
    const last = --this.size;
    if (last === 0) return;
    const time = this.times[last]!;
    const arrived = this.arrived[last]!;
    const replica = this.replica[last]!;
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= last) break;
      if (child + 1 < last && this.times[child + 1]! < this.times[child]!) child++;
      if (this.times[child]! >= time) break;
      this.times[i] = this.times[child]!;
      this.arrived[i] = this.arrived[child]!;
      this.replica[i] = this.replica[child]!;
      i = child;
    }
    this.times[i] = time;
    this.arrived[i] = arrived;
    this.replica[i] = replica;
  }
}

const orNull = (n: number): number | null => (Number.isFinite(n) ? n : null);
/** Latencies in microseconds to 3 significant digits, as core's statistics keep them. */
const latencyHistogram = (): Histogram => buildHistogram({ lowestDiscernibleValue: 1, numberOfSignificantValueDigits: 3, autoResize: true });
/** The latency at quantile `q` (0..1) in ms; NaN when there is none. */
const quantileMs = (histogram: Histogram, q: number): number => (histogram.totalCount === 0 ? NaN : histogram.getValueAtPercentile(q * 100) / 1000);
const median = (values: readonly number[]): number => {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

/** Requests per second one replica carries at the policy's target load (Little's law: target / service time). */
export function perReplicaAtTarget(service: ServiceModel, target: number): number {
  const k = Math.min(service.slots, Math.max(1, Math.ceil(target)));
  return (Math.min(target, service.slots) / service.meanServiceMs(k)) * 1000;
}

export function simulate(curveSpec: LoadCurve, profile: ReplicaProfile, options: SimulationOptions): SimulationResult {
  const { policy, sloMs, tickMs, windowMs, seed } = options;
  const service = new ServiceModel(profile, options.coldStartMs);
  const slots = service.slots;
  const curve = new RateCurve(curveSpec, service.capacity);
  const end = curve.durationMs;
  const arrivals = new Arrivals(curve, randomStream(seed, 1));
  const serviceRandom = randomStream(seed, 2);
  const coldRandom = randomStream(seed, 3);
  const routeRandom = randomStream(seed, 4);
  const atTarget = perReplicaAtTarget(service, policy.targetPerReplica);
  const clamp = (n: number): number => Math.min(policy.maxReplicas, Math.max(policy.minReplicas, n));
  const initialReplicas = options.initialReplicas ?? clamp(Math.ceil(curve.rpsAt(0) / atTarget - 1e-9));

  const replicas: Replica[] = [];
  const routable: Replica[] = [];
  const pending = new TimeQueue();
  let pendingArea = 0;
  let pendingLast = 0;
  let starting = 0;
  let ready = 0;
  let draining = 0;
  const heap = new EventHeap();
  const top = { time: 0, arrived: 0, replica: 0 };

  // Replica counts integrated over time, for the series and the replica-minutes.
  let countsAt = 0;
  let readyArea = 0;
  let totalArea = 0;
  let replicaMs = 0;
  let peakReplicas = 0;
  const countsTo = (t: number): void => {
    const to = Math.min(t, end);
    if (to <= countsAt) return;
    const dt = to - countsAt;
    readyArea += ready * dt;
    totalArea += (starting + ready + draining) * dt;
    replicaMs += (starting + ready + draining) * dt;
    countsAt = to;
  };
  const counted = (): void => {
    peakReplicas = Math.max(peakReplicas, starting + ready + draining);
  };

  const overall = latencyHistogram();
  const window = latencyHistogram();
  let requests = 0;
  let completed = 0;
  let overSlo = 0;
  let windowArrivals = 0;
  let windowCompleted = 0;
  let windowOverSlo = 0;
  let windowPanic = false;
  const series: WindowPoint[] = [];
  const scalingEvents: ScalingEvent[] = [];
  let panicTicks = 0;
  let firstPanicMs: number | null = null;

  const admit = (r: Replica, arrivedAt: number, now: number): void => {
    r.advance(now);
    if (r.inService < slots) {
      r.inService++;
      heap.push(now + service.serviceMs(r.inService, serviceRandom), arrivedAt, r.id);
    } else r.queue.push(arrivedAt);
  };
  /** Power of two choices over requests held, as the SDK's least_request. */
  const pick = (): Replica => {
    const n = routable.length;
    const i = Math.floor(routeRandom() * n);
    const a = routable[i]!;
    if (n === 1) return a;
    const b = routable[(i + 1 + Math.floor(routeRandom() * (n - 1))) % n]!;
    return b.held() < a.held() ? b : a;
  };
  const stop = (r: Replica, now: number): void => {
    countsTo(now);
    if (r.state === STARTING) starting--;
    else if (r.state === READY) ready--;
    else if (r.state === DRAINING) draining--;
    r.state = STOPPED;
    r.stopMs = now;
  };
  const unroute = (r: Replica): void => {
    routable.splice(routable.indexOf(r), 1);
  };
  const start = (now: number, readyAt: number): void => {
    countsTo(now);
    const r = new Replica(replicas.length, now);
    replicas.push(r);
    starting++;
    counted();
    if (readyAt <= now) becomeReady(r, now);
    else heap.push(readyAt, -1, r.id);
  };
  const becomeReady = (r: Replica, now: number): void => {
    countsTo(now);
    starting--;
    ready++;
    r.state = READY;
    r.readyMs = now;
    r.lastMs = now;
    r.area = 0;
    routable.push(r);
    // The activator's buffer goes out as soon as a replica is READY.
    pendingArea += pending.size * (now - pendingLast);
    pendingLast = now;
    while (pending.size > 0) admit(pick(), pending.shift(), now);
  };
  /** Starts or removes replicas until starting + READY ones are `desired`. */
  const apply = (desired: number, now: number): void => {
    let live = starting + ready;
    for (; live < desired; live++) start(now, now + service.coldStartMs(coldRandom));
    if (live <= desired) return;
    const cancel = replicas.filter((r) => r.state === STARTING).reverse();
    for (const r of cancel) {
      if (live <= desired) break;
      stop(r, now);
      live--;
    }
    const drain = replicas.filter((r) => r.state === READY).sort((a, b) => a.held() - b.held() || b.id - a.id);
    for (const r of drain) {
      if (live <= desired) break;
      countsTo(now);
      unroute(r);
      ready--;
      draining++;
      r.state = DRAINING;
      r.drainMs = now;
      live--;
      if (r.held() === 0) stop(r, now);
    }
  };

  let samples: LoadSample[] = [];
  let decisions: ScalingDecision[] = [{ atMs: 0, replicas: initialReplicas }];
  let decided = initialReplicas;
  let tickStart = 0;
  const tick = (now: number): void => {
    const loads: number[] = [];
    for (const r of replicas) {
      if (r.state === STOPPED) continue;
      r.advance(now);
      if (r.state === READY) {
        const span = now - Math.max(tickStart, r.readyMs);
        loads.push(span > 0 ? r.area / span : r.held());
      }
      r.area = 0;
    }
    // With no replica READY, the activator's buffer is the load (scale from zero).
    pendingArea += pending.size * (now - pendingLast);
    pendingLast = now;
    if (loads.length === 0 && pendingArea > 0) loads.push(pendingArea / (now - tickStart));
    pendingArea = 0;
    tickStart = now;
    samples.push({ atMs: now, loads });
    const r = desiredReplicas({ samples, decisions }, now, policy);
    if (r.panic) {
      panicTicks++;
      firstPanicMs ??= now;
      windowPanic = true;
    }
    decisions.push({ atMs: now, replicas: r.replicas });
    if (r.replicas !== decided) {
      scalingEvents.push({ atMs: now, from: decided, to: r.replicas, panic: r.panic, ready, ...(r.limitedBy === undefined ? {} : { limitedBy: r.limitedBy }) });
      decided = r.replicas;
    }
    apply(r.replicas, now);
    ({ samples, decisions } = trimHistory({ samples, decisions }, now, policy) as { samples: LoadSample[]; decisions: ScalingDecision[] });
  };

  let windowStart = 0;
  const closeWindow = (now: number): void => {
    countsTo(now);
    const ms = now - windowStart;
    series.push({
      startMs: windowStart,
      endMs: now,
      curveRps: curve.rpsAt((windowStart + now) / 2),
      offeredRps: windowArrivals / (ms / 1000),
      ready: readyArea / ms,
      replicas: totalArea / ms,
      completed: windowCompleted,
      overSlo: windowOverSlo,
      p50Ms: orNull(quantileMs(window, 0.5)),
      p99Ms: orNull(quantileMs(window, 0.99)),
      panic: windowPanic,
    });
    window.reset();
    readyArea = 0;
    totalArea = 0;
    windowArrivals = 0;
    windowCompleted = 0;
    windowOverSlo = 0;
    windowPanic = false;
    windowStart = now;
  };

  for (let i = 0; i < initialReplicas; i++) start(0, 0);

  let nextArrival = arrivals.next();
  let nextTick = tickMs <= end ? tickMs : Infinity;
  let nextWindow = Math.min(windowMs, end);
  for (;;) {
    const nextEvent = heap.size > 0 ? heap.times[0]! : Infinity;
    const now = Math.min(nextEvent, nextArrival, nextWindow, nextTick);
    if (now === Infinity) break;
    if (nextEvent === now) {
      heap.pop(top);
      const r = replicas[top.replica]!;
      if (top.arrived < 0) {
        if (r.state === STARTING) becomeReady(r, now);
        continue;
      }
      r.advance(now);
      r.inService--;
      const latency = now - top.arrived;
      completed++;
      const us = Math.max(1, Math.round(latency * 1000));
      overall.recordValue(us);
      if (latency > sloMs) overSlo++;
      if (now <= end) {
        windowCompleted++;
        window.recordValue(us);
        if (latency > sloMs) windowOverSlo++;
      }
      if (r.queue.size > 0) {
        r.inService++;
        heap.push(now + service.serviceMs(r.inService, serviceRandom), r.queue.shift(), r.id);
      } else if (r.state === DRAINING && r.inService === 0) stop(r, now);
    } else if (nextArrival === now) {
      requests++;
      windowArrivals++;
      if (routable.length > 0) admit(pick(), now, now);
      else {
        pendingArea += pending.size * (now - pendingLast);
        pendingLast = now;
        pending.push(now);
      }
      nextArrival = arrivals.next();
    } else if (nextTick === now) {
      // A tick samples the time up to it: it belongs to the window that ends with it.
      tick(now);
      // Past the end, only an activator holding requests with no replica to send them to keeps the policy going.
      nextTick = now + tickMs;
      if (nextTick > end && !(pending.size > 0 && starting + ready === 0)) nextTick = Infinity;
    } else {
      closeWindow(now);
      nextWindow = now >= end ? Infinity : Math.min(now + windowMs, end);
    }
  }
  countsTo(end);

  const lives: ReplicaLife[] = replicas.map((r) => ({ startMs: r.startMs, readyMs: orNull(r.readyMs), drainMs: orNull(r.drainMs), stopMs: orNull(r.stopMs) }));
  let surge: SimulationResult['surge'] = null;
  if (curveSpec.surge !== undefined) {
    const [startMs, endMs] = [curveSpec.surge[0] * 1000, curveSpec.surge[1] * 1000];
    const over = (w: WindowPoint): boolean => w.p99Ms === null || w.p99Ms > sloMs;
    const first = series.findIndex((w) => w.endMs > startMs && w.startMs < endMs && over(w));
    const back = first < 0 ? -1 : series.findIndex((w, i) => i > first && !over(w));
    surge = { startMs, endMs, absorbedMs: first < 0 ? 0 : back < 0 ? null : series[back]!.startMs - startMs };
  }
  let longestOverSlo: SimulationResult['longestOverSlo'] = null;
  for (let i = 0; i < series.length; i++) {
    if (!(series[i]!.p99Ms !== null && series[i]!.p99Ms! > sloMs)) continue;
    let j = i;
    while (j + 1 < series.length && series[j + 1]!.p99Ms !== null && series[j + 1]!.p99Ms! > sloMs) j++;
    if (longestOverSlo === null || series[j]!.endMs - series[i]!.startMs > longestOverSlo.endMs - longestOverSlo.startMs) longestOverSlo = { startMs: series[i]!.startMs, endMs: series[j]!.endMs };
    i = j;
  }
  const cold = options.coldStartMs === undefined ? profile.coldStartMs : [options.coldStartMs];
  return {
    curve: { name: curveSpec.name, description: curveSpec.description, durationMs: end },
    profile: { slots, capacity: service.capacity, perReplicaAtTarget: atTarget, coldStartMs: { min: Math.min(...cold), median: median(cold), max: Math.max(...cold) } },
    policy: { ...policy },
    sloMs,
    seed,
    tickMs,
    windowMs,
    initialReplicas,
    requests,
    completed,
    overSlo,
    overSloShare: requests === 0 ? 0 : overSlo / requests,
    latencyMs: { mean: completed === 0 ? null : overall.mean / 1000, p50: orNull(quantileMs(overall, 0.5)), p99: orNull(quantileMs(overall, 0.99)), max: completed === 0 ? null : overall.maxValue / 1000 },
    replicaMinutes: replicaMs / 60_000,
    peakReplicas,
    scalingEvents,
    panicTicks,
    firstPanicMs,
    surge,
    longestOverSlo,
    series,
    replicas: lives,
  };
}
