import { performance } from 'node:perf_hooks';
import { describe, expect, it, vi } from 'vitest';
import { LoadRecord, runClosedLoop, runOpenLoop } from './load-loops.js';
import type { Done, Sender } from './load-senders.js';

/** A sender whose requests are answered after `delayMs`, recording the most in flight at once. */
function fakeSender(delayMs: number, error?: string): Sender & { peak: number; sent: number } {
  let inFlight = 0;
  const sender = {
    peak: 0,
    sent: 0,
    send(done: Done) {
      inFlight++;
      sender.sent++;
      sender.peak = Math.max(sender.peak, inFlight);
      setTimeout(() => {
        inFlight--;
        done(error);
      }, delayMs);
    },
    inFlight: () => inFlight,
    close() {},
  };
  return sender;
}

/**
 * Runs `body` in virtual time: timers fire exactly when due and performance.now() reads the virtual
 * clock, so what the loops count does not depend on how busy the machine is. `ms` of virtual time
 * pass, enough for the loops and their drains to end.
 */
async function inVirtualTime<T>(body: () => Promise<T>, ms = 5000): Promise<T> {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
  const now = vi.spyOn(performance, 'now').mockImplementation(() => Date.now());
  try {
    const result = body();
    await vi.advanceTimersByTimeAsync(ms);
    return await result;
  } finally {
    now.mockRestore();
    vi.useRealTimers();
  }
}

const window = (warmupMs: number, durationMs: number) => {
  const now = performance.now();
  return { start: now + warmupMs, end: now + warmupMs + durationMs, requests: 0 };
};

describe('the closed loop', () => {
  it('keeps exactly the asked requests in flight and counts only answers inside the window', async () => {
    const sender = fakeSender(5);
    const record = await inVirtualTime(async () => {
      const record = new LoadRecord(window(50, 200));
      await runClosedLoop([sender, sender, sender, sender], record, 1000);
      return record;
    });
    expect(sender.peak).toBe(4);
    // 4 in flight, 5 ms each: 41 answers per loop at 50, 55, …, 250 ms, the window's ends included
    expect(record.completed).toBe(164);
    expect(record.completed).toBeGreaterThan(40);
    expect(record.completed).toBeLessThanOrEqual(4 * (200 / 5) + 4);
    expect(record.completed).toBeLessThan(sender.sent);
    expect(record.histogram.getValueAtPercentile(50)).toBeGreaterThanOrEqual(5000);
  });

  it('stops after a request budget and counts errors by name', async () => {
    const ok = await inVirtualTime(async () => {
      const record = new LoadRecord({ start: performance.now(), end: Infinity, requests: 30 });
      await runClosedLoop([fakeSender(1)], record, 1000);
      return record;
    });
    expect(ok.completed).toBe(30);

    const failing = await inVirtualTime(async () => {
      const record = new LoadRecord(window(0, 50));
      await runClosedLoop([fakeSender(0, 'UNAVAILABLE')], record, 1000);
      return record;
    });
    expect(failing.completed).toBe(0);
    expect(failing.errors['UNAVAILABLE']).toBeGreaterThan(0);
    expect(failing.errorHistograms['UNAVAILABLE']?.totalCount).toBe(failing.errors['UNAVAILABLE']);
  });
});

describe('the record', () => {
  it('times failures per status and counts answers within the deadline', () => {
    const record = new LoadRecord({ start: 0, end: 1000, requests: 0 }, 100);
    record.record(0, 50, undefined);
    record.record(0, 150, undefined);
    record.record(10, 12, 'RESOURCE_EXHAUSTED');
    record.record(10, 110, 'DEADLINE_EXCEEDED');
    expect(record).toMatchObject({ completed: 2, withinDeadline: 1, errors: { RESOURCE_EXHAUSTED: 1, DEADLINE_EXCEEDED: 1 } });
    expect(record.errorHistograms['RESOURCE_EXHAUSTED']?.maxValue).toBeCloseTo(2000, -1);
    expect(record.errorHistograms['DEADLINE_EXCEEDED']?.maxValue).toBeCloseTo(100_000, -3);
  });

  it('counts answers after the window only when asked to count the drain', () => {
    const timed = new LoadRecord({ start: 0, end: 100, requests: 0 });
    const drained = new LoadRecord({ start: 0, end: 100, requests: 0, countDrained: true });
    for (const record of [timed, drained]) {
      record.record(90, 95, undefined);
      record.record(95, 150, 'DEADLINE_EXCEEDED');
    }
    expect(timed).toMatchObject({ completed: 1, errors: {} });
    expect(drained).toMatchObject({ completed: 1, errors: { DEADLINE_EXCEEDED: 1 } });
  });
});

describe('the open loop', () => {
  it('sends at the rate whatever the answers do, timing each request from when it was due', async () => {
    const sender = fakeSender(2);
    const record = await inVirtualTime(async () => {
      const record = new LoadRecord(window(0, 300));
      await runOpenLoop([sender], 100, 1000, record, 1000);
      return record;
    });
    // 100/s for 300 ms: requests due at 0, 10, …, 290 ms
    expect(record.completed).toBe(30);
    expect(record.completed).toBeGreaterThanOrEqual(28);
    expect(record.completed).toBeLessThanOrEqual(31);
    // answered 2 ms after sending, sent at most a timer tick late: far below the 10 ms interval
    expect(record.histogram.getValueAtPercentile(50)).toBeLessThan(8000);
    expect(record.sendLag.totalCount).toBe(sender.sent);
    expect(record.sendLag.getValueAtPercentile(50)).toBeLessThan(record.histogram.getValueAtPercentile(50));
  });

  it('drops due requests beyond the in-flight cap and counts them', async () => {
    const record = await inVirtualTime(async () => {
      const record = new LoadRecord(window(0, 200));
      await runOpenLoop([fakeSender(1000)], 200, 5, record, 10);
      return record;
    });
    // 200/s for 200 ms: 40 due at 0, 5, …, 195 ms; the first 5 fill the cap
    expect(record.dropped).toBe(35);
    expect(record.dropped).toBeGreaterThan(20);
    // the drain gave up on the 5 in flight
    expect(record.unanswered).toBe(5);
  });
});
