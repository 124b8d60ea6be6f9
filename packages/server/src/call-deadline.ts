import type { Deadline } from '@grpc/grpc-js';

/** What every server call offers: a deadline and a cancellation event. */
interface SurfaceCall {
  getDeadline(): Deadline;
  on(event: 'cancelled', listener: () => void): unknown;
}

/** The call's deadline as `Date.now()` milliseconds, or undefined when it has none. */
export function deadlineOf(call: SurfaceCall): number | undefined {
  const deadline = call.getDeadline();
  const ms = deadline instanceof Date ? deadline.getTime() : deadline;
  return Number.isFinite(ms) ? ms : undefined;
}

/** An AbortController that aborts when the client cancels the call or its deadline passes. */
export function abortOnCancel(call: SurfaceCall): AbortController {
  const controller = new AbortController();
  call.on('cancelled', () => controller.abort());
  return controller;
}
