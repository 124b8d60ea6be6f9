import type { NamedTensor } from '@modelserve/core';
import { mulberry32, type Random } from '@modelserve/model-zoo';
import { describe, expect, it } from 'vitest';
import { compareProfiles } from './compare.js';
import { DriftMonitor, type DriftMonitorOptions, type DriftReport } from './monitor.js';
import { parseProfile, serialiseProfile } from './profile.js';

/*
 * Thresholds. Windows here hold 600 samples (60 requests of 10, one a second, 60 s windows) and
 * references 2,000 or 1,000. With 10 decile bins, an unshifted feature's PSI is about
 * χ²₉·(1/n_ref + 1/n_window): mean ≈ 0.019, sd ≈ 0.009 (a simulation over 1,600 seeds agrees:
 * mean 0.019, sd 0.009, max 0.060), so "below 0.1" sits 9 sd away.
 */

/** A standard normal by Box–Muller. */
function normal(random: Random): number {
  let u = 0;
  while (u === 0) u = random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

function gaussian(random: Random, name: string, rows: number, size: number, mean: number): NamedTensor {
  const data = new Float32Array(rows * size);
  for (let i = 0; i < data.length; i++) data[i] = mean + normal(random);
  return { name, datatype: 'FP32', shape: [rows, size], data };
}

/** Scores of 10 classes whose argmax is class 3 with probability `shareOf3`, otherwise uniform. */
function classScores(random: Random, rows: number, shareOf3: number): NamedTensor {
  const data = new Float32Array(rows * 10);
  for (let r = 0; r < rows; r++) {
    const winner = random() < shareOf3 ? 3 : Math.floor(random() * 10);
    for (let c = 0; c < 10; c++) data[r * 10 + c] = c === winner ? 1 : random() * 0.5;
  }
  return { name: 'scores', datatype: 'FP32', shape: [rows, 10], data };
}

type Traffic = (random: Random) => { inputs: NamedTensor[]; outputs: NamedTensor[] };

/** Drives a monitor in virtual time: one request a second. */
class VirtualTraffic {
  nowMs = 1_000_000;
  readonly random: Random;

  constructor(
    readonly monitor: DriftMonitor,
    seed: number,
  ) {
    this.random = mulberry32(seed);
  }

  send(traffic: Traffic, requests: number): void {
    for (let i = 0; i < requests; i++) {
      const { inputs, outputs } = traffic(this.random);
      this.monitor.observe(inputs, outputs, this.nowMs);
      this.nowMs += 1000;
    }
  }

  /** Sends requests until `count` more windows have closed; returns each window's report. */
  windows(traffic: Traffic, count: number): DriftReport[] {
    const reports: DriftReport[] = [];
    let end = this.monitor.report().window?.end;
    while (reports.length < count) {
      this.send(traffic, 1);
      const report = this.monitor.report();
      if (report.window !== undefined && report.window.end !== end) {
        end = report.window.end;
        reports.push(report);
      }
    }
    return reports;
  }
}

const windowOptions: DriftMonitorOptions = { windowMs: 60_000, minSamples: 500, topK: 10 };
const features = (mean: number): Traffic => (random) => ({ inputs: [gaussian(random, 'x', 10, 4, mean)], outputs: [] });

describe('DriftMonitor', () => {
  it('builds a reference from the first requests, then reports N(0,1) traffic as ok and N(0.5,1) as drift', () => {
    const monitor = new DriftMonitor('tabular', 1, { ...windowOptions, referenceSamples: 2000 });
    const traffic = new VirtualTraffic(monitor, 1);
    expect(monitor.report()).toMatchObject({ state: 'collecting-reference', referenceSamples: 0, level: 'ok' });
    traffic.send(features(0), 199);
    expect(monitor.report()).toMatchObject({ state: 'collecting-reference', referenceSamples: 1990 });
    traffic.send(features(0), 1);
    expect(monitor.report()).toMatchObject({ state: 'collecting', referenceSamples: 2000, windowSamples: 0, window: undefined });
    expect(monitor.reference?.tensors[0]?.features.map((f) => f.counts)).toEqual(new Array(4).fill(new Array(10).fill(200)));

    for (const report of traffic.windows(features(0), 3)) {
      expect(report).toMatchObject({ state: 'ok', level: 'ok', windowSamples: 600 });
      expect(report.tensors[0]?.features).toHaveLength(4);
      expect(report.tensors[0]?.maxPsi).toBeLessThan(0.1);
    }

    // The traffic shifts at a window's close. A 0.5 sd shift of N(0,1) has a PSI of 0.238 over
    // decile bins (analytic), plus a sampling bias of ≈ 0.019: a feature's PSI is ≈ 0.26 ± 0.046
    // (simulated), over 0.25 with probability 0.59, over 0.1 in all but ~1 in 10⁴. With 4
    // features, a window is 'warn' at least in all but ~1 in 10¹⁶ and 'alert' with probability
    // 1 - 0.41⁴ = 0.97; one of two windows is 'alert' with probability 1 - 0.41⁸ = 0.999.
    const shifted = traffic.windows(features(0.5), 2);
    for (const report of shifted) expect(['warn', 'alert']).toContain(report.state);
    expect(shifted.map((r) => r.state)).toContain('alert');
    const top = shifted.find((r) => r.state === 'alert')?.tensors[0]?.features[0];
    expect(top?.level).toBe('alert');
    expect(top?.js).toBeGreaterThan(0);
    expect(top?.ks).toBeGreaterThan(0.1);

    // A 0.75 sd shift: PSI ≈ 0.55 ± 0.07 per feature, so every feature is 'alert' (≥ 0.25, 4 sd below).
    const [larger] = traffic.windows(features(0.75), 2).slice(1);
    expect(larger?.tensors[0]?.features.every((f) => f.level === 'alert')).toBe(true);
  });

  it('flags a shift of the predicted class from uniform to half class 3', () => {
    const monitor = new DriftMonitor('classifier', 1, { ...windowOptions, referenceSamples: 2000 });
    const traffic = new VirtualTraffic(monitor, 2);
    const predictions = (shareOf3: number): Traffic => (random) => ({ inputs: [gaussian(random, 'x', 10, 2, 0)], outputs: [classScores(random, 10, shareOf3)] });
    traffic.send(predictions(0), 200);
    expect(monitor.reference?.tensors[1]?.features[0]?.bins).toEqual({ categories: 10 });

    const [steady] = traffic.windows(predictions(0), 1);
    expect(steady?.state).toBe('ok');
    // Uniform to (class 3: 0.5, others 0.5/9): PSI = 0.4·ln 5 + 9·(0.1 - 0.5/9)·ln(1.8) = 0.88.
    const [, shifted] = traffic.windows(predictions(0.5), 2);
    const scores = shifted?.tensors.find((t) => t.name === 'scores');
    expect(shifted?.state).toBe('alert');
    expect(scores).toMatchObject({ kind: 'output', level: 'alert' });
    expect(scores?.maxPsi).toBeGreaterThan(0.5);
    expect(shifted?.tensors.find((t) => t.name === 'x')?.level).toBe('ok');
  });

  it('summarises 784-element inputs and flags a shifted mean', () => {
    const monitor = new DriftMonitor('mnist', 1, windowOptions);
    const traffic = new VirtualTraffic(monitor, 3);
    const images = (mean: number): Traffic => (random) => ({ inputs: [gaussian(random, 'image', 10, 784, mean)], outputs: [] });
    traffic.send(images(0), 100);
    expect(monitor.reference?.tensors[0]?.features.map((f) => f.name)).toEqual(['mean', 'std', 'min', 'max', 'zero_fraction']);

    // Reference of 1,000: unshifted PSI ≈ 0.024 ± 0.011, 0.1 is 7 sd away.
    const [steady] = traffic.windows(images(0), 1);
    expect(steady?.state).toBe('ok');
    // A sample's mean has sd 1/√784 = 0.036: +0.1 moves it 2.8 sd, far past the top decile.
    const [, shifted] = traffic.windows(images(0.1), 2);
    expect(shifted?.state).toBe('alert');
    expect(shifted?.tensors[0]?.features[0]).toMatchObject({ name: 'mean', level: 'alert' });
  });

  it('takes a reference from reference.json and compares a canary with the stable version', () => {
    const builder = new DriftMonitor('tabular', 1, { referenceSamples: 2000 });
    new VirtualTraffic(builder, 4).send(features(0), 200);
    const reference = parseProfile(JSON.parse(serialiseProfile(builder.reference!)));
    const stable = new DriftMonitor('tabular', 1, { ...windowOptions, reference });
    const canary = new DriftMonitor('tabular', 2, { ...windowOptions, reference });
    expect(stable.report().state).toBe('collecting');
    new VirtualTraffic(stable, 5).send(features(0), 100);
    new VirtualTraffic(canary, 6).send(features(0.75), 100);

    const drift = compareProfiles(stable.currentCounts()!, canary.currentCounts()!, { topK: 1 });
    expect(drift[0]).toMatchObject({ name: 'x', level: 'alert' });
    expect(drift[0]?.features).toHaveLength(1);

    const otherEdges = new DriftMonitor('tabular', 3, { referenceSamples: 2000 });
    new VirtualTraffic(otherEdges, 7).send(features(0), 200);
    expect(() => compareProfiles(reference, otherEdges.reference!)).toThrow(/compareProfiles: input "x" feature "\d": edges\[\d\]: expected .*, got /);
  });

  it('keeps a window open past windowMs until it holds minSamples', () => {
    const monitor = new DriftMonitor('tabular', 1, { windowMs: 1000, minSamples: 50, referenceSamples: 20 });
    const traffic = new VirtualTraffic(monitor, 8);
    traffic.send(features(0), 2);
    traffic.send(features(0), 5);
    expect(monitor.report()).toMatchObject({ state: 'collecting', windowSamples: 50 });
    traffic.send(features(0), 1);
    expect(monitor.report()).toMatchObject({ windowSamples: 50, window: { start: 1_002_000, end: 1_007_000 } });
  });

  it('observes about sampleRate of the requests, and returns at once for the others', () => {
    const monitor = new DriftMonitor('tabular', 1, { sampleRate: 0.1, random: mulberry32(9), referenceSamples: 100_000 });
    const requests = 10_000;
    for (let i = 0; i < requests; i++) monitor.observe([{ name: 'x', datatype: 'FP32', shape: [1], data: Float32Array.of(i) }], [], i);
    // Binomial(10,000, 0.1): mean 1,000, sd √(10,000·0.1·0.9) = 30; allow 6 sd.
    expect(monitor.observedRequests).toBe(requests);
    expect(Math.abs(monitor.sampledRequests - 1000)).toBeLessThanOrEqual(180);
    expect(monitor.report().referenceSamples).toBe(monitor.sampledRequests);

    const never = new DriftMonitor('tabular', 1, { sampleRate: 0 });
    const untouchable = new Proxy({} as NamedTensor, {
      get() {
        throw new Error('an unsampled request was read');
      },
    });
    expect(() => never.observe([untouchable], [untouchable], 0)).not.toThrow();
    expect(never.sampledRequests).toBe(0);
  });
});
