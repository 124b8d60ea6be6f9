import { describe, expect, it } from 'vitest';
import { checkPolicyConfig, defaultPolicy, desiredReplicas, trimHistory, type LoadSample, type PolicyConfig, type ScalingDecision } from './policy.js';

/**
 * Drives the policy as a supervisor does: one sample per `tickMs` from `loadAt` (total load, spread
 * over the ready replicas), a decision after each, applied at once (every replica ready at once).
 */
function drive(config: PolicyConfig, loadAt: (ms: number) => number, untilMs: number, tickMs = 1000, start = 1): { decisions: ScalingDecision[]; panics: number[] } {
  let samples: LoadSample[] = [];
  let decisions: ScalingDecision[] = [{ atMs: 0, replicas: start }];
  const applied: ScalingDecision[] = [];
  const panics: number[] = [];
  let replicas = start;
  for (let now = tickMs; now <= untilMs; now += tickMs) {
    const load = loadAt(now);
    samples.push({ atMs: now, loads: Array.from({ length: replicas }, () => load / replicas) });
    const r = desiredReplicas({ samples, decisions }, now, config);
    if (r.panic) panics.push(now);
    if (r.replicas !== replicas) applied.push({ atMs: now, replicas: r.replicas });
    replicas = r.replicas;
    decisions.push({ atMs: now, replicas });
    ({ samples, decisions } = trimHistory({ samples, decisions }, now, config) as { samples: LoadSample[]; decisions: ScalingDecision[] });
  }
  return { decisions: applied, panics };
}

describe('the autoscaling policy', () => {
  it('asks for the load over the target, rounded up, within min and max', () => {
    const at = (load: number, ready = 2): number => desiredReplicas({ samples: [{ atMs: 1000, loads: Array.from({ length: ready }, () => load / ready) }], decisions: [] }, 1000, { ...defaultPolicy, maxStepUp: 100 }).replicas;
    expect(at(32)).toBe(2);
    expect(at(33)).toBe(3);
    expect(at(16 * 10 + 1)).toBe(10);
    expect(desiredReplicas({ samples: [{ atMs: 5, loads: [0] }], decisions: [] }, 5, defaultPolicy).replicas).toBe(1);
  });

  it('does not flap on a flat load, even one that sits on a boundary or wobbles around it', () => {
    for (const load of [16, 47.9, 48, 48.1, 100]) {
      // A wobble of ±10% around the load, deterministic (no random numbers in a test that must not flake).
      const { decisions } = drive(defaultPolicy, (ms) => load * (1 + 0.1 * Math.sin(ms / 7000)), 30 * 60_000, 1000, Math.ceil(load / 16));
      // At most one settling move up (the wobble's peak), none down within the delay, none after.
      expect(decisions.length, `load ${load}: ${JSON.stringify(decisions)}`).toBeLessThanOrEqual(1);
      for (const d of decisions) expect(d.replicas).toBeGreaterThanOrEqual(Math.ceil(load / 16));
    }
  });

  it('panics on a surge of 2× or more and scales within the panic window, by the step limit', () => {
    const config = { ...defaultPolicy, maxStepUp: 100 };
    // 1 replica at its target, then 5× the load at 120 s.
    const { decisions, panics } = drive(config, (ms) => (ms < 120_000 ? 16 : 80), 200_000);
    expect(panics[0]).toBeGreaterThan(120_000);
    expect(panics[0]).toBeLessThanOrEqual(120_000 + config.panicWindowMs);
    const firstUp = decisions.find((d) => d.replicas > 1)!;
    expect(firstUp.atMs).toBeLessThanOrEqual(120_000 + config.panicWindowMs);
    // The panic window's full average asks for all 5 within it; the stable window alone would take far longer.
    expect(decisions.find((d) => d.replicas >= 5)!.atMs).toBeLessThanOrEqual(120_000 + config.panicWindowMs);
    const stableOnly = drive({ ...config, panicThreshold: 1e9 }, (ms) => (ms < 120_000 ? 16 : 80), 200_000);
    expect(stableOnly.decisions.find((d) => d.replicas >= 5)!.atMs).toBeGreaterThan(120_000 + config.stableWindowMs / 2);
  });

  it('never scales down while in panic, and leaves panic a stable window after the surge', () => {
    const config = { ...defaultPolicy, maxStepUp: 100, scaleDownDelayMs: 0 };
    // A 20 s surge of 6× the load, then nothing.
    const { decisions, panics } = drive(config, (ms) => (ms >= 60_000 && ms < 80_000 ? 96 : ms < 60_000 ? 16 : 0), 400_000);
    // Panic from the surge's first seconds, for a stable window after its condition last held
    // (the surge's start: with 6 replicas ready, 96 is no longer 2× what they carry).
    const lastPanic = panics[panics.length - 1]!;
    expect(panics[0]).toBeLessThanOrEqual(60_000 + config.panicWindowMs);
    expect(lastPanic - panics[0]!).toBeGreaterThanOrEqual(config.stableWindowMs - 1000);
    expect(panics.length).toBe((lastPanic - panics[0]!) / 1000 + 1);
    const firstDown = decisions.find((d, i) => i > 0 && d.replicas < decisions[i - 1]!.replicas)!;
    expect(firstDown.atMs).toBeGreaterThan(lastPanic);
  });

  it('scales down only after load has stayed low for the stable window (and the downscale delay), by the step limit', () => {
    for (const scaleDownDelayMs of [0, 300_000]) {
      const config = { ...defaultPolicy, scaleDownDelayMs };
      // 8 replicas' worth of load until 600 s, then 1 replica's.
      const { decisions } = drive(config, (ms) => (ms <= 600_000 ? 128 : 16), 2_000_000, 1000, 8);
      const downs = decisions.filter((d) => d.replicas < 8);
      expect(downs[0]!.atMs).toBeGreaterThan(600_000 + Math.max(config.stableWindowMs, scaleDownDelayMs));
      expect(downs.at(-1)!.replicas).toBe(1);
      // Never more than maxStepDown fewer than the most of the last step period.
      for (const d of downs) {
        const inForce = decisions.filter((e) => e.atMs <= d.atMs - config.stepDownPeriodMs).at(-1)?.replicas ?? 8;
        const before = [inForce, ...decisions.filter((e) => e.atMs < d.atMs && e.atMs > d.atMs - config.stepDownPeriodMs).map((e) => e.replicas)];
        expect(Math.max(...before) - d.replicas).toBeLessThanOrEqual(config.maxStepDown);
      }
    }
  });

  it('holds a scale-up back for the upscale delay, outside panic', () => {
    const config = { ...defaultPolicy, scaleUpDelayMs: 30_000 };
    // 1.5× one replica's target: no panic, the stable average passes 16 at about 80 s.
    const { decisions, panics } = drive(config, (ms) => (ms < 60_000 ? 8 : 24), 300_000);
    expect(panics).toEqual([]);
    const noDelay = drive(defaultPolicy, (ms) => (ms < 60_000 ? 8 : 24), 300_000);
    expect(decisions[0]!.atMs - noDelay.decisions[0]!.atMs).toBe(30_000);
    expect(decisions[0]!.replicas).toBe(2);
  });

  it('refuses a config out of range, saying which field and what it got', () => {
    expect(checkPolicyConfig({ ...defaultPolicy })).toEqual(defaultPolicy);
    expect(() => checkPolicyConfig({ ...defaultPolicy, targetPerReplica: 0 })).toThrow('targetPerReplica: expected a number above 0, got 0');
    expect(() => checkPolicyConfig({ ...defaultPolicy, maxReplicas: 0 })).toThrow('maxReplicas: expected an integer of 1 or more, got 0');
    expect(() => checkPolicyConfig({ ...defaultPolicy, minReplicas: 3, maxReplicas: 2 })).toThrow('maxReplicas: expected at least minReplicas (3), got 2');
    expect(() => checkPolicyConfig({ ...defaultPolicy, panicThreshold: 1 })).toThrow('panicThreshold: expected a number above 1, got 1');
    expect(() => checkPolicyConfig({ ...defaultPolicy, panicWindowMs: 120_000 })).toThrow('panicWindowMs: expected at most stableWindowMs (60000), got 120000');
  });
});
