import { describe, expect, it } from 'vitest';
import { checkProfile, ServiceModel, type ReplicaProfile } from './profile.js';
import { mulberry32 } from './random.js';
import { build } from 'hdr-histogram-js';

const profile: ReplicaProfile = {
  description: 'p',
  coldStartMs: [3000, 1000, 2000],
  levels: [
    { concurrency: 1, requestsPerSecond: 400, latencyMs: { mean: 2.5, p50: 2.4, p90: 3, p99: 5, p999: 9, max: 12 } },
    { concurrency: 16, requestsPerSecond: 1600, latencyMs: { mean: 10, p50: 9.5, p90: 12, p99: 20, p999: 40, max: 60 } },
  ],
  slots: 16,
  capacity: 1600,
};

describe('the replica profile', () => {
  it('draws service times with the measured mean and quantiles, interpolated between concurrencies', () => {
    const model = new ServiceModel(profile);
    expect(model.meanServiceMs(1)).toBeCloseTo(2.5, 2);
    expect(model.meanServiceMs(16)).toBeCloseTo(10, 2);
    expect(model.throughput(16)).toBeCloseTo(1600, -1);
    // Halfway between the levels (k = 8.5 does not exist; k = 8 is 7/15 of the way).
    expect(model.meanServiceMs(8)).toBeCloseTo(2.5 + (7 / 15) * 7.5, 2);
    const random = mulberry32(1);
    const histogram = build({ lowestDiscernibleValue: 1, numberOfSignificantValueDigits: 3, autoResize: true }); // microseconds
    for (let i = 0; i < 200_000; i++) histogram.recordValue(Math.round(model.serviceMs(16, random) * 1000));
    expect(histogram.getValueAtPercentile(50) / 1000).toBeCloseTo(9.5, 0);
    expect(histogram.getValueAtPercentile(99) / 1000).toBeCloseTo(20, 0);
    expect(histogram.maxValue / 1000).toBeLessThanOrEqual(60);
    expect(histogram.mean / 1000).toBeCloseTo(10, 1);
  });

  it('draws cold starts between the fastest and the slowest measured', () => {
    const model = new ServiceModel(profile);
    const random = mulberry32(2);
    const draws = Array.from({ length: 1000 }, () => model.coldStartMs(random));
    expect(Math.min(...draws)).toBeGreaterThanOrEqual(1000);
    expect(Math.max(...draws)).toBeLessThanOrEqual(3000);
    expect(model.maxColdStartMs()).toBe(3000);
    expect(new ServiceModel(profile, 500).coldStartMs(random)).toBe(500);
  });

  it('refuses a malformed profile, saying what it got', () => {
    expect(() => checkProfile({ ...profile, coldStartMs: [] }, 'p.json')).toThrow('p.json: "coldStartMs": expected a non-empty array of milliseconds, got []');
    expect(() => checkProfile({ ...profile, slots: 0 })).toThrow('"slots": expected an integer from 1 to 4096, got 0');
    expect(() => checkProfile({ ...profile, capacity: -1 })).toThrow('"capacity": expected requests per second above 0, got -1');
    expect(() => checkProfile({ ...profile, levels: [profile.levels[1], profile.levels[0]] })).toThrow('"levels"[1].concurrency: expected an integer above 16 (ascending), got 1');
    expect(() => checkProfile({ ...profile, levels: [{ ...profile.levels[0], latencyMs: { mean: 1 } }] })).toThrow('"levels"[0].latencyMs.p50: expected a number above 0, got nothing');
    expect(checkProfile(JSON.parse(JSON.stringify(profile)))).toEqual(profile);
  });
});
