import type { Deadline } from '@grpc/grpc-js';
import { Cancellation } from '@modelserve/core';

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

/**
 * Cancels when the client cancels the call or its deadline passes before `finish()`. grpc-js 1.14
 * also emits 'cancelled' when a unary call closes after its answer; that is not a cancellation.
 */
export class CallCancellation extends Cancellation {
  private finished = false;

  constructor(call: SurfaceCall) {
    super();
    call.on('cancelled', () => {
      if (!this.finished) this.cancel();
    });
  }

  /** The call is answered: a later 'cancelled' is not a cancellation. */
  finish(): void {
    this.finished = true;
  }
}
