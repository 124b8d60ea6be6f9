import { describe, expect, it } from 'vitest';
import { defaultPolicy } from './policy.js';
import type { ReplicaProfile } from './profile.js';
import { simulationLines } from './report.js';
import { simulate } from './simulate.js';
import { simulationSvg } from './svg.js';

const latency = { mean: 100, p50: 100, p90: 110, p99: 130, p999: 150, max: 160 };
const profile: ReplicaProfile = { description: '', coldStartMs: [2000], levels: [{ concurrency: 8, requestsPerSecond: 80, latencyMs: latency }], slots: 8, capacity: 80 };
const result = simulate(
  { name: 'spike', description: 'a spike', unit: 'replicas', surge: [300, 360], points: [[0, 1], [300, 1], [300, 5], [360, 5], [360, 1], [900, 1]] },
  profile,
  { policy: { ...defaultPolicy, targetPerReplica: 6 }, sloMs: 500, seed: 1, tickMs: 1000, windowMs: 5000 },
);

describe('the simulation report', () => {
  it('prints the figures, the scaling events and the series', () => {
    const text = simulationLines(result).join('\n');
    expect(text).toContain('Curve spike (15:00): a spike');
    expect(text).toMatch(/over the SLO \(500 ms\)\s+[\d,]+ \(\d+\.\d{3}%\)/);
    expect(text).toMatch(/replica-minutes\s+\d+\.\d \(peak \d+ replicas\)/);
    expect(text).toMatch(/surge absorbed\s+(\d+(\.\d)? s after the surge started at 5:00|p99 within the SLO throughout)/);
    expect(text).toMatch(/\n {2}5:0\d\s+\d+\s+\d+\s+\d+\s+yes/);
    expect(text).not.toContain('NaN');
  });

  it('draws three panels with axes and a legend, as plain SVG', () => {
    const svg = simulationSvg(result);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    for (const text of ['Load', 'Replicas', 'p99 latency of the requests answered in each window', 'requests/s', 'ms (log)', 'time (minutes of virtual time)', 'READY replicas', 'SLO 500 ms', 'policy in panic']) expect(svg).toContain(`>${text}<`);
    expect(svg.match(/<polyline /g)!.length).toBeGreaterThanOrEqual(6);
    expect(svg).not.toMatch(/NaN|Infinity|undefined/);
  });
});
