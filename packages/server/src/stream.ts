import { type ServerDuplexStream, status } from '@grpc/grpc-js';
import { Cancellation, type CancelSignal } from '@modelserve/core';

/**
 * The streams a server has open, so that a drain can tell each one to end: it stops reading, answers
 * what it accepted, then ends with UNAVAILABLE so that the client re-opens it on another replica.
 */
export class OpenStreams {
  private readonly open = new Set<() => void>();
  private draining = false;

  /** Registers a stream's drain; returns the function that unregisters it. */
  add(drain: () => void): () => void {
    if (this.draining) {
      drain();
      return () => undefined;
    }
    this.open.add(drain);
    return () => this.open.delete(drain);
  }

  /** Tells every open stream, and any opened from now on, to end. */
  drainAll(): void {
    this.draining = true;
    for (const drain of [...this.open]) drain();
    this.open.clear();
  }
}

/** How a bidirectional stream answers each request. */
export interface StreamHandler<Req, Res> {
  /** Requests accepted and not yet answered; reading pauses at this many. */
  maxInflight: number;
  /** Answers one request; must not throw (failures are answered in-band). */
  handle(request: Req, signal: CancelSignal): Promise<Res>;
  /** Where a drain finds this stream; without it the stream only ends when the client ends it. */
  streams?: OpenStreams;
  /**
   * The call's deadline, `Date.now()` milliseconds: a stream that would end after it ends with
   * DEADLINE_EXCEEDED, whichever comes first, this or the transport's own timer.
   */
  deadline?: number | undefined;
}

/**
 * Serves a bidirectional stream: every request is answered exactly once, in completion order.
 * Memory stays bounded: reading pauses while `maxInflight` requests are unanswered, and when the
 * client does not read (write() returned false) answers wait for 'drain' and count as unanswered.
 * When the client half-closes, accepted requests finish and then the stream ends; when it
 * cancels, queued work is dropped. When the server drains, the stream reads no more requests,
 * answers the ones it accepted, and then ends with UNAVAILABLE (requests the client sent after that
 * point were never accepted: it sends them again elsewhere, as @modelserve/client does).
 */
export function serveStream<Req, Res>(call: ServerDuplexStream<Req, Res>, handler: StreamHandler<Req, Res>): void {
  // Every queued request of the stream listens on this one signal; up to maxInflight at once.
  const cancellation = new Cancellation();
  let unanswered = 0;
  let readEnded = false;
  let finished = false;
  const waiting: Res[] = [];
  let blocked = false;
  let draining = false;
  let refused = 0;
  let unregister = (): void => undefined;

  const updateFlow = (): void => {
    if (finished) return;
    if (draining || unanswered >= handler.maxInflight) call.pause();
    else call.resume();
  };

  const maybeEnd = (): void => {
    if (finished || unanswered > 0) return;
    if (readEnded) {
      finished = true;
      unregister();
      if (handler.deadline !== undefined && Date.now() >= handler.deadline) call.emit('error', { code: status.DEADLINE_EXCEEDED, details: 'Deadline exceeded' });
      else call.end();
    } else if (draining && !blocked) {
      finished = true;
      call.emit('error', {
        code: status.UNAVAILABLE,
        details: `server is draining: every accepted request of this stream was answered${refused > 0 ? ` and ${refused} later ones were not read` : ''}; send the rest on a new stream to another replica`,
      });
    }
  };

  const send = (response: Res): void => {
    if (blocked) {
      waiting.push(response);
      return;
    }
    unanswered--;
    if (!call.write(response)) {
      blocked = true;
      call.once('drain', flush);
    }
  };

  function flush(): void {
    blocked = false;
    while (!blocked && waiting.length > 0) send(waiting.shift()!);
    updateFlow();
    maybeEnd();
  }

  call.on('data', (request: Req) => {
    if (draining) {
      refused++; // already decoded when the drain paused reading: not accepted, so not run
      return;
    }
    unanswered++;
    updateFlow();
    void handler.handle(request, cancellation).then((response) => {
      if (finished || cancellation.aborted) return;
      send(response);
      updateFlow();
      maybeEnd();
    });
  });
  call.on('end', () => {
    readEnded = true;
    maybeEnd();
  });
  if (handler.streams !== undefined) {
    unregister = handler.streams.add(() => {
      draining = true;
      updateFlow();
      maybeEnd();
    });
  }
  const stop = (): void => {
    unregister();
    finished = true;
    waiting.length = 0;
    cancellation.cancel();
  };
  call.on('cancelled', stop);
  call.on('error', stop);
}
