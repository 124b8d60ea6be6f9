import type { ServerDuplexStream } from '@grpc/grpc-js';
import { Cancellation, type CancelSignal } from '@modelserve/core';

/** How a bidirectional stream answers each request. */
export interface StreamHandler<Req, Res> {
  /** Requests accepted and not yet answered; reading pauses at this many. */
  maxInflight: number;
  /** Answers one request; must not throw (failures are answered in-band). */
  handle(request: Req, signal: CancelSignal): Promise<Res>;
}

/**
 * Serves a bidirectional stream: every request is answered exactly once, in completion order.
 * Memory stays bounded: reading pauses while `maxInflight` requests are unanswered, and when the
 * client does not read (write() returned false) answers wait for 'drain' and count as unanswered.
 * When the client half-closes, accepted requests finish and then the stream ends; when it
 * cancels, queued work is dropped.
 */
export function serveStream<Req, Res>(call: ServerDuplexStream<Req, Res>, handler: StreamHandler<Req, Res>): void {
  // Every queued request of the stream listens on this one signal; up to maxInflight at once.
  const cancellation = new Cancellation();
  let unanswered = 0;
  let readEnded = false;
  let finished = false;
  const waiting: Res[] = [];
  let blocked = false;

  const updateFlow = (): void => {
    if (finished) return;
    if (unanswered >= handler.maxInflight) call.pause();
    else call.resume();
  };

  const maybeEnd = (): void => {
    if (!finished && readEnded && unanswered === 0) {
      finished = true;
      call.end();
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
  const stop = (): void => {
    finished = true;
    waiting.length = 0;
    cancellation.cancel();
  };
  call.on('cancelled', stop);
  call.on('error', stop);
}
