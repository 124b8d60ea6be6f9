/**
 * Load curves: the offered request rate over time, piecewise linear between points. The JSON form
 * (`apps/modelserve/curves/*.json`):
 *
 *     { "name": "spike", "description": "...", "unit": "replicas", "surge": [600, 720],
 *       "points": [[0, 2], [600, 2], [601, 10], [720, 10], [721, 2], [1800, 2]] }
 *
 * - `points`: [seconds, rate] pairs, times from 0 and never decreasing (two points at one time make
 *   a step), rates 0 or more; the curve ends at the last point.
 * - `unit`: `requests_per_second` (the default), or `replicas`: multiples of one replica's
 *   capacity in the profile the simulation runs with (so a curve fits any measured profile).
 * - `surge` (optional): [start, end] seconds of the surge whose absorption the simulation times.
 */
import { exponential } from './random.js';

export type CurveUnit = 'requests_per_second' | 'replicas';

export interface LoadCurve {
  name: string;
  description: string;
  unit: CurveUnit;
  /** [seconds, rate] pairs. */
  points: ReadonlyArray<readonly [number, number]>;
  surge?: readonly [number, number];
}

const describe = (value: unknown): string => (value === undefined ? 'nothing' : JSON.stringify(value) ?? String(value));

/** The curve in `value` (parsed JSON), or an error naming `where` and what is wrong. */
export function checkCurve(value: unknown, where = 'curve'): LoadCurve {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`${where}: expected a JSON object { "name", "description", "points": [[seconds, rate], ...] }, got ${describe(value)}`);
  const v = value as Record<string, unknown>;
  if (typeof v['name'] !== 'string' || v['name'] === '') throw new Error(`${where}: "name": expected a non-empty string, got ${describe(v['name'])}`);
  if (v['description'] !== undefined && typeof v['description'] !== 'string') throw new Error(`${where}: "description": expected a string, got ${describe(v['description'])}`);
  const unit = v['unit'] ?? 'requests_per_second';
  if (unit !== 'requests_per_second' && unit !== 'replicas') throw new Error(`${where}: "unit": expected "requests_per_second" or "replicas", got ${describe(unit)}`);
  const points = v['points'];
  if (!Array.isArray(points) || points.length < 2) throw new Error(`${where}: "points": expected an array of at least 2 [seconds, rate] pairs, got ${describe(points)}`);
  let last = 0;
  points.forEach((p: unknown, i) => {
    if (!Array.isArray(p) || p.length !== 2 || !p.every((n) => typeof n === 'number' && Number.isFinite(n))) throw new Error(`${where}: "points"[${i}]: expected a pair [seconds, rate] of numbers, got ${describe(p)}`);
    const [s, rate] = p as [number, number];
    if (i === 0 && s !== 0) throw new Error(`${where}: "points"[0]: expected the curve to start at 0 seconds, got ${s}`);
    if (s < last) throw new Error(`${where}: "points"[${i}]: expected a time of at least ${last} s (times never decrease), got ${s}`);
    if (rate < 0) throw new Error(`${where}: "points"[${i}]: expected a rate of 0 or more, got ${rate}`);
    last = s;
  });
  if (last <= 0) throw new Error(`${where}: "points": expected the last point after 0 s, got ${last}`);
  const curve: LoadCurve = { name: v['name'], description: (v['description'] as string | undefined) ?? '', unit, points: points as Array<[number, number]> };
  const surge = v['surge'];
  if (surge !== undefined) {
    if (!Array.isArray(surge) || surge.length !== 2 || !surge.every((n) => typeof n === 'number' && Number.isFinite(n)) || surge[0] < 0 || surge[1] <= surge[0] || surge[1] > last) {
      throw new Error(`${where}: "surge": expected [start, end] seconds with 0 ≤ start < end ≤ ${last}, got ${describe(surge)}`);
    }
    curve.surge = [surge[0], surge[1]] as [number, number];
  }
  return curve;
}

/** A curve's points in milliseconds and requests per millisecond, `replicas` units at `capacity` requests/s each. */
export class RateCurve {
  readonly times: Float64Array;
  readonly rates: Float64Array;
  readonly durationMs: number;

  constructor(curve: LoadCurve, capacity: number) {
    const scale = (curve.unit === 'replicas' ? capacity : 1) / 1000;
    this.times = Float64Array.from(curve.points, (p) => p[0] * 1000);
    this.rates = Float64Array.from(curve.points, (p) => p[1] * scale);
    this.durationMs = this.times[this.times.length - 1]!;
  }

  /** Requests per second at `ms` (at a step, the rate after it). */
  rpsAt(ms: number): number {
    const { times, rates } = this;
    if (ms >= this.durationMs) return rates[rates.length - 1]! * 1000;
    let i = 0;
    while (i + 1 < times.length && times[i + 1]! <= ms) i++;
    const t0 = times[i]!;
    const t1 = times[i + 1]!;
    return (rates[i]! + ((rates[i + 1]! - rates[i]!) * (ms - t0)) / (t1 - t0)) * 1000;
  }

  /** Requests expected in [0, durationMs]: the integral of the rate. */
  expectedRequests(): number {
    let sum = 0;
    for (let i = 0; i + 1 < this.times.length; i++) sum += ((this.rates[i]! + this.rates[i + 1]!) / 2) * (this.times[i + 1]! - this.times[i]!);
    return sum;
  }
}

/**
 * Poisson arrivals whose rate follows a curve, exactly: each gap is an exponential draw of the
 * integrated rate, inverted within the linear segment it ends in.
 */
export class Arrivals {
  private segment = 0;
  private now = 0;

  constructor(
    private readonly curve: RateCurve,
    private readonly random: () => number,
  ) {}

  /** The next arrival's time in ms; Infinity once the curve has ended. */
  next(): number {
    const { times, rates } = this.curve;
    let e = exponential(this.random);
    while (this.segment + 1 < times.length) {
      const i = this.segment;
      const t0 = times[i]!;
      const t1 = times[i + 1]!;
      const t = Math.max(this.now, t0);
      if (t1 <= t) {
        this.segment++;
        continue;
      }
      const slope = (rates[i + 1]! - rates[i]!) / (t1 - t0);
      const rate = rates[i]! + slope * (t - t0);
      const rest = ((rate + rates[i + 1]!) / 2) * (t1 - t);
      if (e >= rest) {
        e -= rest;
        this.now = t1;
        this.segment++;
        continue;
      }
      // rate·dt + slope·dt²/2 = e, in the form that stays exact when the slope is 0.
      const dt = (2 * e) / (rate + Math.sqrt(Math.max(0, rate * rate + 2 * slope * e)));
      this.now = Math.min(t1, t + dt);
      return this.now;
    }
    this.now = Infinity;
    return Infinity;
  }
}
