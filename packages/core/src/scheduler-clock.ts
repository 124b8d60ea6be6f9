/**
 * Where schedulers read the time and arm timers. Deadlines and waits depend on nothing else, so a
 * test can hand in a clock it moves itself (`ManualClock` in `@modelserve/core/testing`) and check
 * deadline logic in virtual time, exactly, however busy the machine is.
 */
export interface Clock {
  /** Milliseconds since the epoch, as `Date.now()`: deadlines are in these. */
  now(): number;
  /** Milliseconds from an arbitrary origin, with a fraction, never going back (`performance.now()`): for waits and durations. */
  monotonic(): number;
  /** Calls `callback` once after `ms` milliseconds; returns what `clearTimeout` takes. */
  setTimeout(callback: () => void, ms: number): unknown;
  /** Cancels a timer that has not fired yet. */
  clearTimeout(timer: unknown): void;
}

/** The real time and Node's timers: every scheduler's default. */
export const systemClock: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (timer) => clearTimeout(timer as NodeJS.Timeout),
};
