import { describe, expect, it } from 'vitest';
import type { LoadCurve } from './curves.js';
import { defaultPolicy, type PolicyConfig } from './policy.js';
import type { ReplicaProfile } from './profile.js';
import { perReplicaAtTarget, simulate, type SimulationOptions, type SimulationResult } from './simulate.js';
import { ServiceModel } from './profile.js';

/**
 * A slow replica keeps the request counts small: 8 requests in service at once, ~100 ms each
 * whatever the concurrency (80 req/s at capacity), cold starts of 2 to 5 s. Target 6 per replica:
 * 60 req/s a replica at the target.
 */
const latency = { mean: 100, p50: 100, p90: 110, p99: 130, p999: 150, max: 160 };
const profile: ReplicaProfile = {
  description: 'test replica',
  coldStartMs: [2000, 3000, 5000],
  levels: [
    { concurrency: 1, requestsPerSecond: 10, latencyMs: latency },
    { concurrency: 8, requestsPerSecond: 80, latencyMs: latency },
  ],
  slots: 8,
  capacity: 80,
};
const policy: PolicyConfig = { ...defaultPolicy, targetPerReplica: 6 };
const options: SimulationOptions = { policy, sloMs: 500, seed: 7, tickMs: 1000, windowMs: 5000 };
const perReplica = perReplicaAtTarget(new ServiceModel(profile), policy.targetPerReplica);

/** [seconds, requests/s] points: `rate` throughout. */
const flat = (rate: number, seconds: number): LoadCurve => ({ name: 'flat', description: '', unit: 'requests_per_second', points: [[0, rate], [seconds, rate]] });

/** Replicas READY at `ms`, from their lives. */
const readyAt = (result: SimulationResult, ms: number): number =>
  result.replicas.filter((r) => r.readyMs !== null && r.readyMs <= ms && (r.drainMs === null || r.drainMs > ms) && (r.stopMs === null || r.stopMs > ms)).length;

describe('the autoscaling simulation', () => {
  it('takes the replica at the target from the profile: the target over the mean service time', () => {
    expect(perReplica).toBeCloseTo(60, 0);
  });

  it('does not flap on a flat load, at several levels, one of them on a replica boundary', () => {
    const settleMs = 20 * 60_000;
    for (const replicas of [1, 2.5, 3, 4.2]) {
      const result = simulate(flat(replicas * perReplica, 3600), profile, options);
      const late = result.scalingEvents.filter((e) => e.atMs > settleMs);
      expect(late, `${replicas} replicas' worth: ${JSON.stringify(result.scalingEvents)}`).toEqual([]);
      // And it settled where the load needs it: at least the replicas the rate needs at the target.
      expect(readyAt(result, 3600_000)).toBeGreaterThanOrEqual(Math.ceil(replicas - 1e-9));
      expect(result.completed).toBe(result.requests);
    }
  });

  it('panics on a spike of twice the READY capacity or more, and has what it needs within the panic window, the cold start and the step limits', () => {
    const base = 1.5 * perReplica;
    const spikeMs = 600_000;
    const spike: LoadCurve = { name: 'spike', description: '', unit: 'requests_per_second', surge: [600, 780], points: [[0, base], [600, base], [600, 5 * base], [780, 5 * base], [780, base], [1200, base]] };
    const result = simulate(spike, profile, options);
    const before = readyAt(result, spikeMs);
    expect(5 * base).toBeGreaterThanOrEqual(2 * before * profile.capacity);

    // Panic and the first scale-up: within the panic window of the spike's start.
    expect(result.firstPanicMs).toBeGreaterThan(spikeMs);
    expect(result.firstPanicMs).toBeLessThanOrEqual(spikeMs + policy.panicWindowMs);
    const firstUp = result.scalingEvents.find((e) => e.atMs > spikeMs && e.to > e.from)!;
    expect(firstUp.panic).toBe(true);
    expect(firstUp.atMs).toBeLessThanOrEqual(spikeMs + policy.panicWindowMs);
    expect(result.scalingEvents.filter((e) => e.atMs <= spikeMs && e.atMs > 300_000)).toEqual([]);

    // READY replicas for the spike at the target: after the first step, one step period per further
    // `maxStepUp`, then the slowest cold start (and a tick to see it).
    const needed = Math.min(policy.maxReplicas, Math.ceil((5 * base) / perReplica));
    const steps = Math.ceil((needed - before) / policy.maxStepUp);
    const bound = spikeMs + policy.panicWindowMs + (steps - 1) * policy.stepUpPeriodMs + Math.max(...profile.coldStartMs) + options.tickMs;
    expect(readyAt(result, bound)).toBeGreaterThanOrEqual(needed);
    const reached = result.replicas.map((r) => r.readyMs).filter((ms): ms is number => ms !== null && ms > spikeMs).sort((a, b) => a - b)[needed - before - 1]!;
    expect(reached).toBeLessThanOrEqual(bound);
    // Absorbed: p99 back within the SLO soon after, and reported.
    expect(result.surge?.absorbedMs).not.toBeNull();
    expect(result.surge!.absorbedMs!).toBeLessThanOrEqual(bound - spikeMs + 2 * options.windowMs + 60_000);
  });

  it('scales down only once load has stayed low for the stable window and the downscale delay', () => {
    for (const scaleDownDelayMs of [0, 300_000]) {
      const config = { ...options, policy: { ...policy, scaleDownDelayMs } };
      const dropMs = 600_000;
      const drop: LoadCurve = { name: 'drop', description: '', unit: 'requests_per_second', points: [[0, 6 * perReplica], [600, 6 * perReplica], [600, perReplica], [1800, perReplica]] };
      const result = simulate(drop, profile, config);
      const downs = result.scalingEvents.filter((e) => e.atMs > dropMs && e.to < e.from);
      expect(downs.length).toBeGreaterThan(0);
      expect(downs[0]!.atMs).toBeGreaterThan(dropMs + Math.max(policy.stableWindowMs, scaleDownDelayMs));
      for (const d of downs) expect(d.from - d.to).toBeLessThanOrEqual(policy.maxStepDown);
      expect(result.scalingEvents.at(-1)!.to).toBeLessThanOrEqual(2);
      // Drained replicas finished what they held: nothing lost.
      expect(result.completed).toBe(result.requests);
    }
  });

  it('answers every request once, and counts replica-time as the integral of the replica count', () => {
    // Scale from zero too: no replica at first, an activator holds the first requests.
    const curve: LoadCurve = { name: 'mixed', description: '', unit: 'replicas', points: [[0, 0], [120, 0], [121, 3], [600, 5], [900, 0.5], [1500, 0]] };
    const result = simulate(curve, profile, { ...options, policy: { ...policy, minReplicas: 0 } });
    expect(result.initialReplicas).toBe(0);
    expect(result.requests).toBeGreaterThan(50_000);
    expect(result.completed).toBe(result.requests);
    const endMs = result.curve.durationMs;
    const lifetimes = result.replicas.reduce((sum, r) => sum + Math.min(r.stopMs ?? endMs, endMs) - r.startMs, 0);
    expect(result.replicaMinutes * 60_000).toBeCloseTo(lifetimes, 3);
    const integral = result.series.reduce((sum, w) => sum + w.replicas * (w.endMs - w.startMs), 0);
    expect(result.replicaMinutes * 60_000).toBeCloseTo(integral, 3);
    expect(result.series.reduce((sum, w) => sum + w.completed, 0)).toBeLessThanOrEqual(result.completed);
    // The arrivals follow the curve: within 1% of its integral (a seeded run, not a flaky bound).
    const expected = (0.5 * 3 + (479 * (3 + 5)) / 2 + (300 * (5 + 0.5)) / 2 + (600 * 0.5) / 2) * profile.capacity;
    expect(Math.abs(result.requests - expected) / expected).toBeLessThan(0.01);
  });

  it('gives the same result for the same seed, and another for another', () => {
    const curve: LoadCurve = { name: 'ramp', description: '', unit: 'replicas', points: [[0, 0.5], [600, 4], [1200, 0.5]] };
    const a = simulate(curve, profile, options);
    const b = simulate(curve, profile, options);
    expect(b).toEqual(a);
    const c = simulate(curve, profile, { ...options, seed: 8 });
    expect(c.requests).not.toBe(a.requests);
  });
});
