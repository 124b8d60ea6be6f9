import { describe, expect, it } from 'vitest';
import { planJobs, split, type LoadSpec } from './load-generator.js';

const spec = (over: Partial<LoadSpec>): LoadSpec => ({
  address: '127.0.0.1:1',
  method: 'unary',
  payloads: ['AA=='],
  concurrency: 64,
  streams: 8,
  rate: 0,
  warmupMs: 100,
  durationMs: 1000,
  ...over,
});

describe('splitting a point over load workers', () => {
  it('splits totals into near-equal parts', () => {
    expect(split(64, 3)).toEqual([22, 21, 21]);
    expect(split(1, 3)).toEqual([1, 0, 0]);
  });

  it('gives each worker its share of unary calls and leaves idle workers out', () => {
    expect(planJobs(spec({ concurrency: 64 }), 2).map((j) => j.concurrency)).toEqual([32, 32]);
    expect(planJobs(spec({ concurrency: 1 }), 3).map((j) => j.concurrency)).toEqual([1]);
  });

  it('spreads stream requests evenly over the streams and deals the streams to the workers', () => {
    const jobs = planJobs(spec({ method: 'stream', concurrency: 64, streams: 8 }), 3);
    expect(jobs.map((j) => j.streams)).toEqual([[8, 8, 8], [8, 8, 8], [8, 8]]);
    expect(planJobs(spec({ method: 'stream', concurrency: 4, streams: 8 }), 2).map((j) => j.streams)).toEqual([[1, 1], [1, 1]]);
  });

  it('splits an open-loop rate and a request budget', () => {
    const open = planJobs(spec({ rate: 1001, maxInFlight: 100 }), 2);
    expect(open.map((j) => j.rate)).toEqual([500.5, 500.5]);
    expect(open.map((j) => j.maxInFlight)).toEqual([50, 50]);
    expect(planJobs(spec({ concurrency: 64, requests: 100_001 }), 2).map((j) => j.requests)).toEqual([50_001, 50_000]);
  });
});
