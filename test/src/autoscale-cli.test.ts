/**
 * `modelserve autoscale simulate`, the built CLI run as a user runs it: a built-in curve with the
 * committed profile, a curve file, and the refusals.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { SimulationResult } from '@modelserve/autoscale';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliPath } from './support/cli.js';

const simulate = (...args: string[]) => promisify(execFile)(process.execPath, [cliPath, 'autoscale', 'simulate', ...args], { maxBuffer: 256 * 1024 * 1024 });
/** What a failing command exited with and printed. */
const failed = (...args: string[]) =>
  simulate(...args).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );

// A built-in curve simulates millions of requests: seconds on a busy machine. A limit for a hung run, not a speed claim.
const simulationTimeoutMs = 120_000;

let dir: string;
let small: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'modelserve-autoscale-'));
  small = path.join(dir, 'small.json');
  await writeFile(small, JSON.stringify({ name: 'small', description: 'two minutes, a step up', unit: 'replicas', surge: [60, 120], points: [[0, 1], [60, 1], [60, 3], [120, 3]] }));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('modelserve autoscale simulate', () => {
  it('simulates the built-in spike: JSON figures that add up, and an SVG of load, replicas and p99', { timeout: simulationTimeoutMs }, async () => {
    const svg = path.join(dir, 'out.svg');
    const { stdout, stderr } = await simulate('--curve', 'spike', '--svg', svg, '--json');
    expect(stderr).toBe('');
    const result = JSON.parse(stdout) as SimulationResult;
    expect(result.curve.name).toBe('spike');
    expect(result.requests).toBeGreaterThan(100_000);
    expect(result.completed).toBe(result.requests);
    expect(result.overSlo).toBeLessThanOrEqual(result.requests);
    expect(result.overSloShare).toBeCloseTo(result.overSlo / result.requests, 10);
    expect(result.replicaMinutes).toBeGreaterThan(0);
    expect(result.sloMs).toBe(100);
    expect(result.policy.targetPerReplica).toBe(16);
    // The spike makes the policy panic within its panic window, and the result says when p99 recovered.
    const surge = result.surge!;
    expect(surge.startMs).toBeGreaterThan(0);
    const panicUp = result.scalingEvents.find((e) => e.panic && e.to > e.from && e.atMs > surge.startMs);
    expect(panicUp).toBeDefined();
    expect(panicUp!.atMs).toBeLessThanOrEqual(surge.startMs + result.policy.panicWindowMs);
    expect(surge).toHaveProperty('absorbedMs');
    expect(result.series.length).toBe(Math.ceil(result.curve.durationMs / result.windowMs));
    const integral = result.series.reduce((sum, w) => sum + w.replicas * (w.endMs - w.startMs), 0);
    expect(result.replicaMinutes * 60_000).toBeCloseTo(integral, 0);

    const drawing = await readFile(svg, 'utf8');
    expect(drawing.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(drawing.trimEnd().endsWith('</svg>')).toBe(true);
    for (const text of ['Load', 'Replicas', 'p99 latency of the requests answered in each window', 'offered req/s', 'READY replicas', 'SLO 100 ms', 'time (minutes of virtual time)']) expect(drawing).toContain(`>${text}<`);
    expect(drawing.match(/<polyline /g)!.length).toBeGreaterThanOrEqual(6);
    expect(drawing).not.toMatch(/NaN|Infinity|undefined/);
  });

  it('prints the figures, the scaling events and the series of a curve file, the same for the same seed', { timeout: simulationTimeoutMs }, async () => {
    const svg = path.join(dir, 'small.svg');
    const first = await simulate('--curve', small, '--seed', '3', '--svg', svg);
    expect(first.stdout).toMatch(/^Curve small \(2:00\): two minutes, a step up\n/);
    expect(first.stdout).toMatch(/\nrequests\s+[\d,]+\n/);
    expect(first.stdout).toMatch(/\nover the SLO \(100 ms\)\s+[\d,]+ \(\d+\.\d{3}%\)\n/);
    expect(first.stdout).toMatch(/\nreplica-minutes\s+\d+\.\d \(peak \d+ replicas\)\n/);
    expect(first.stdout).toContain('\nScaling events\n');
    expect(first.stdout).toContain('\nSeries (every 5 s; worst p99 of its windows)\n');
    expect(first.stdout).toContain(`\nWrote ${svg}\n`);
    const again = await simulate('--curve', small, '--seed', '3', '--svg', svg);
    expect(again.stdout).toBe(first.stdout);
  });

  it('takes the policy from flags, and refuses what the policy or the files refuse, saying what it got', { timeout: simulationTimeoutMs }, async () => {
    const json = JSON.parse((await simulate('--curve', small, '--json', '--target', '8', '--max', '4', '--slo-ms', '50', '--cold-start-ms', '30000')).stdout) as SimulationResult;
    expect(json.policy).toMatchObject({ targetPerReplica: 8, maxReplicas: 4 });
    expect(json.sloMs).toBe(50);
    expect(json.profile.coldStartMs).toEqual({ min: 30_000, median: 30_000, max: 30_000 });
    expect(json.peakReplicas).toBeLessThanOrEqual(4);

    expect(await failed('--curve', small, '--min', '3', '--max', '2')).toEqual({ code: 1, stdout: '', stderr: 'modelserve: --max: expected at least --min (3), got 2\n' });
    expect(await failed('--curve', small, '--panic-window-ms', '90000')).toEqual({ code: 1, stdout: '', stderr: 'modelserve: --panic-window-ms: expected at most --stable-window-ms (60000), got 90000\n' });
    const target = await failed('--curve', small, '--target', '0');
    expect(target.code).toBe(1);
    expect(target.stderr).toContain('expected a number above 0, got "0"');
    const missing = await failed('--curve', 'nosuch');
    expect(missing).toEqual({ code: 1, stdout: '', stderr: 'modelserve: --curve: expected a built-in curve (ramp, spike, diurnal, recorded) or a JSON file, got "nosuch": no such file\n' });
    const bad = path.join(dir, 'bad.json');
    await writeFile(bad, JSON.stringify({ name: 'bad', points: [[0, 1], [10, -2]] }));
    expect(await failed('--curve', bad)).toEqual({ code: 1, stdout: '', stderr: `modelserve: ${bad}: "points"[1]: expected a rate of 0 or more, got -2\n` });
  });
});
