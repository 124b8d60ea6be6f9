import type { Clock } from '../scheduler-clock.js';

interface Pending {
  at: number;
  seq: number;
  callback: () => void;
}

/**
 * A clock that moves only when a test calls `advance`, firing due timers in order of their time
 * (and of arming, at equal times). Deadline logic checked with it is exact on any machine.
 */
export class ManualClock implements Clock {
  private wall: number;
  private elapsed = 0;
  private seq = 0;
  private readonly timers = new Set<Pending>();

  /** Starts at `start` milliseconds since the epoch. */
  constructor(start = 1_700_000_000_000) {
    this.wall = start;
  }

  now(): number {
    return this.wall;
  }

  monotonic(): number {
    return this.elapsed;
  }

  setTimeout(callback: () => void, ms: number): unknown {
    const timer = { at: this.elapsed + Math.max(0, ms), seq: this.seq++, callback };
    this.timers.add(timer);
    return timer;
  }

  clearTimeout(timer: unknown): void {
    this.timers.delete(timer as Pending);
  }

  /** Timers armed and not yet fired or cleared. */
  get pending(): number {
    return this.timers.size;
  }

  /** Moves time on by `ms`, stopping at each due timer to fire it (timers it arms fire too, if due). */
  advance(ms: number): void {
    const end = this.elapsed + ms;
    for (;;) {
      let next: Pending | undefined;
      for (const timer of this.timers) {
        if (timer.at <= end && (next === undefined || timer.at < next.at || (timer.at === next.at && timer.seq < next.seq))) next = timer;
      }
      if (next === undefined) break;
      this.timers.delete(next);
      this.move(next.at);
      next.callback();
    }
    this.move(end);
  }

  private move(to: number): void {
    this.wall += to - this.elapsed;
    this.elapsed = to;
  }
}
