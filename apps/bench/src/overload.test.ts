import { describe, expect, it } from 'vitest';
import { overloadInFlightCap, overloadLines, overloadVerdicts } from './overload.js';
import { procStatusBytes, procStatusThreads } from './proc-status.js';
import type { LatencySummary } from './histogram.js';
import type { OverloadResult } from './types-stress.js';

const MiB = 1024 * 1024;
const latency = (p99: number, max = p99): LatencySummary => ({ count: 1, mean: p99 / 2, p50: p99 / 2, p90: p99, p99, p999: max, max });

/** A run that meets the requirement: 10× of 1,000 req/s for 20 s, deadline 500 ms. */
function passing(): OverloadResult {
  return {
    factor: 10,
    capacity: 1000,
    offeredRate: 10_000,
    okRate: 980,
    seconds: 20,
    deadlineMs: 500,
    maxInFlight: 10_000,
    calls: 200_000,
    statuses: {
      OK: { count: 19_600, latency: latency(420, 510) },
      RESOURCE_EXHAUSTED: { count: 180_000, latency: latency(12, 40) },
      DEADLINE_EXCEEDED: { count: 400, latency: latency(502, 530) },
    },
    dropped: 0,
    unanswered: 0,
    okWithinDeadline: 19_590,
    sendLag: latency(2, 8),
    server: { requests: 19_700, failures: 300 },
    eventLoopDelayMs: { p50: 10, p99: 40, max: 60 },
    health: { intervalMs: 100, deadlineMs: 1000, sent: 200, serving: 200, failed: {}, latency: latency(30, 80) },
    rss: { idleBytes: 200 * MiB, peakBytes: 400 * MiB, hwmBytes: 410 * MiB, boundBytes: 456 * MiB, intervalMs: 250, samples: [300 * MiB, 400 * MiB] },
    exitReason: undefined,
  };
}

const verdicts = (result: OverloadResult) => overloadVerdicts(result).map((t) => t.verdict);

describe('overload verdicts', () => {
  it('pass when every part of the requirement holds', () => {
    expect(verdicts(passing())).toEqual(['PASS', 'PASS', 'PASS', 'PASS', 'PASS', 'PASS']);
  });

  it('fail on a server exit, another status or a call left unanswered', () => {
    expect(verdicts({ ...passing(), exitReason: 'modelserve exited (SIGKILL) during the run' })[0]).toBe('FAIL');
    const other = passing();
    other.statuses['UNAVAILABLE'] = { count: 3, latency: latency(5) };
    expect(overloadVerdicts(other)[1]).toMatchObject({ verdict: 'FAIL', measured: expect.stringContaining('3 UNAVAILABLE') as unknown });
    expect(verdicts({ ...passing(), unanswered: 1 })[1]).toBe('FAIL');
  });

  it('fail when rejections are slow or missing', () => {
    const slow = passing();
    slow.statuses['RESOURCE_EXHAUSTED'] = { count: 180_000, latency: latency(100, 300) };
    expect(verdicts(slow)[2]).toBe('FAIL');
    const none = passing();
    delete none.statuses['RESOURCE_EXHAUSTED'];
    expect(verdicts(none)[2]).toBe('FAIL');
  });

  it('fail when an OK call ends past the deadline and the slack', () => {
    const late = passing();
    late.statuses['OK'] = { count: 19_600, latency: latency(420, 551) };
    expect(verdicts(late)[3]).toBe('FAIL');
    late.statuses['OK'] = { count: 19_600, latency: latency(420, 550) };
    expect(verdicts(late)[3]).toBe('PASS');
  });

  it('fail when a health check is not answered SERVING', () => {
    const result = passing();
    result.health = { ...result.health, serving: 199, failed: { DEADLINE_EXCEEDED: 1 } };
    expect(overloadVerdicts(result)[4]).toMatchObject({ verdict: 'FAIL', measured: expect.stringContaining('1 DEADLINE_EXCEEDED') as unknown });
  });

  it('judge RSS by VmHWM, else by the highest sample, and say when neither was read', () => {
    expect(verdicts({ ...passing(), rss: { ...passing().rss, hwmBytes: 1025 * MiB } })[5]).toBe('FAIL');
    expect(verdicts({ ...passing(), rss: { ...passing().rss, hwmBytes: undefined, peakBytes: 1025 * MiB } })[5]).toBe('FAIL');
    expect(verdicts({ ...passing(), rss: { ...passing().rss, hwmBytes: undefined, peakBytes: undefined } })[5]).toBe('NOT MEASURED');
  });
});

describe('overload measurement', () => {
  it('reads VmRSS and VmHWM from /proc/<pid>/status in bytes, and the thread count', () => {
    const status = 'Name:\tnode\nVmHWM:\t  412345 kB\nVmRSS:\t  398000 kB\nThreads:\t12\n';
    expect(procStatusBytes(status, 'VmRSS')).toBe(398_000 * 1024);
    expect(procStatusBytes(status, 'VmHWM')).toBe(412_345 * 1024);
    expect(procStatusBytes(undefined, 'VmRSS')).toBeUndefined();
    expect(procStatusThreads(status)).toBe(12);
    expect(procStatusThreads(undefined)).toBeUndefined();
  });

  it('caps the open loop far above what the server keeps in flight', () => {
    expect(overloadInFlightCap(50_000, 500)).toBe(50_000);
    expect(overloadInFlightCap(1000, 500)).toBe(10_000);
  });

  it('prints a row per status, OK first, then what was not sent or answered', () => {
    const result = passing();
    result.statuses['UNAVAILABLE'] = { count: 3, latency: latency(5) };
    const lines = overloadLines(result);
    expect(lines[0]).toContain('10,000 req/s = 10× the 1,000 req/s');
    const statusRows = lines.slice(3, 9).map((line) => line.split(/\s+/)[0]);
    expect(statusRows).toEqual(['OK', 'RESOURCE_EXHAUSTED', 'DEADLINE_EXCEEDED', 'UNAVAILABLE', 'not', 'unanswered']);
    expect(lines.join('\n')).toContain('19,590 of 19,600 (99.9%) within the 500 ms deadline');
  });
});
