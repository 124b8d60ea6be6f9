/**
 * The two ways of offering load. Closed loop: a fixed number of requests in flight, each answer
 * sends the next. Open loop: requests leave on a fixed schedule whatever the answers do, and
 * latency counts from the scheduled time, so a stalled server is not hidden (coordinated omission).
 */
import { performance } from 'node:perf_hooks';
import type * as hdr from 'hdr-histogram-js';
import { newHistogram } from './histogram.js';
import type { Done, Sender } from './load-senders.js';

/** When the measured window starts and ends (performance.now() ms), or a request budget. */
export interface LoadWindow {
  start: number;
  end: number;
  /** Stop after this many answered requests instead of at `end` (0: timed). */
  requests: number;
  /** Also count answers that arrive after `end` while draining, so each request sent is counted once (`--overload`). */
  countDrained?: boolean;
}

/** What one loop run measured. */
export class LoadRecord {
  readonly histogram: hdr.Histogram = newHistogram();
  completed = 0;
  dropped = 0;
  readonly errors: Record<string, number> = {};
  /** Latencies of the failed requests, by status name: a fast rejection and a timeout look alike in `errors`. */
  readonly errorHistograms: Record<string, hdr.Histogram> = {};
  /** Open loop: how late requests left after their scheduled time (the client's own share of their latency). */
  readonly sendLag: hdr.Histogram = newHistogram();
  /** Answered requests whose latency was within `deadlineMs` (all of them when it is 0). */
  withinDeadline = 0;
  /** Requests still in flight when the drain gave up. */
  unanswered = 0;
  /** When the last counted request was answered. */
  lastAt = 0;

  constructor(
    readonly window: LoadWindow,
    private readonly deadlineMs = 0,
  ) {}

  /** Counts a request answered at `endedAt` that started (or was due) at `startedAt`. */
  record(startedAt: number, endedAt: number, error: string | undefined): void {
    if (endedAt < this.window.start || (this.window.requests === 0 && !this.window.countDrained && endedAt > this.window.end)) return;
    this.lastAt = endedAt;
    const us = Math.max(1, Math.round((endedAt - startedAt) * 1000));
    if (error !== undefined) {
      this.errors[error] = (this.errors[error] ?? 0) + 1;
      (this.errorHistograms[error] ??= newHistogram()).recordValue(us);
      return;
    }
    this.completed++;
    if (this.deadlineMs === 0 || us <= this.deadlineMs * 1000) this.withinDeadline++;
    this.histogram.recordValue(us);
  }

  /** Frees the histograms. */
  destroy(): void {
    this.histogram.destroy();
    this.sendLag.destroy();
    for (const histogram of Object.values(this.errorHistograms)) histogram.destroy();
  }

  /** Open loop: a request due at `dueAt` left at `sentAt`. */
  recordSend(dueAt: number, sentAt: number): void {
    if (dueAt >= this.window.start && dueAt <= this.window.end) this.sendLag.recordValue(Math.max(1, Math.round((sentAt - dueAt) * 1000)));
  }

  /** Whether no more requests should be sent. */
  finished(now: number): boolean {
    return this.window.requests > 0 ? this.completed >= this.window.requests : now >= this.window.end;
  }
}

/** Resolves once every sender is idle, or after `timeoutMs`; counts what is still in flight then as unanswered. */
function drained(senders: readonly Sender[], timeoutMs: number, record: LoadRecord): Promise<void> {
  const until = performance.now() + timeoutMs;
  return new Promise((resolve) => {
    const check = (): void => {
      const inFlight = senders.reduce((sum, s) => sum + s.inFlight(), 0);
      if (inFlight === 0 || performance.now() > until) {
        record.unanswered = inFlight;
        resolve();
      } else setTimeout(check, 5);
    };
    check();
  });
}

/** Runs one closed loop per entry of `loops` (a sender may appear several times). */
export async function runClosedLoop(loops: readonly Sender[], record: LoadRecord, drainMs: number): Promise<void> {
  await new Promise<void>((resolve) => {
    let running = loops.length;
    const loop = (sender: Sender): void => {
      const startedAt = performance.now();
      if (record.finished(startedAt)) {
        if (--running === 0) resolve();
        return;
      }
      const done: Done = (error) => {
        record.record(startedAt, performance.now(), error);
        // An error answered at once must not turn the loop into a busy spin.
        if (error === undefined) loop(sender);
        else setTimeout(() => loop(sender), 1);
      };
      sender.send(done);
    };
    if (running === 0) resolve();
    for (const sender of loops) loop(sender);
  });
  await drained([...new Set(loops)], drainMs, record);
}

/**
 * Sends `rate` requests per second round-robin over `senders` until the window ends. A 1 ms timer
 * releases the due requests, so a request may leave up to about 1 ms after its time (counted in
 * its latency).
 */
export async function runOpenLoop(senders: readonly Sender[], rate: number, maxInFlight: number, record: LoadRecord, drainMs: number): Promise<void> {
  const interval = 1000 / rate;
  const origin = performance.now();
  let sent = 0;
  let next = 0;
  let inFlight = 0;
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const now = performance.now();
      if (record.finished(now)) {
        resolve();
        return;
      }
      // Requests 0..due-1 are due: request i at origin + i * interval.
      const due = Math.floor((now - origin) / interval) + 1;
      for (; sent < due; sent++) {
        const dueAt = origin + sent * interval;
        if (inFlight >= maxInFlight) {
          if (dueAt >= record.window.start) record.dropped++;
          continue;
        }
        const sender = senders[next++ % senders.length]!;
        record.recordSend(dueAt, performance.now());
        inFlight++;
        sender.send((error) => {
          inFlight--;
          record.record(dueAt, performance.now(), error);
        });
      }
      setTimeout(tick, 1);
    };
    tick();
  });
  await drained(senders, drainMs, record);
}
