import { setMaxListeners } from 'node:events';
import type { ServerDuplexStream } from '@grpc/grpc-js';

/** How a bidirectional stream answers each request. */
export interface StreamHandler<Req, Res> {
  /** Requests accepted and not yet answered; reading pauses at this many. */
  maxInflight: number;
  /** Answers one request; must not throw (failures are answered in-band). */
  handle(request: Req, signal: AbortSignal): Promise<Res>;
}

/**
 * Serves a bidirectional stream: every request is answered exactly once, in completion order.
 * Reading pauses while too many requests are in flight or the client is not reading (write()
 * returned false), so memory stays bounded. When the client half-closes, in-flight requests
 * finish and then the stream ends; when it cancels, queued work is dropped.
 */
export function serveStream<Req, Res>(call: ServerDuplexStream<Req, Res>, handler: StreamHandler<Req, Res>): void {
  const controller = new AbortController();
  // Every queued request of the stream listens on this one signal; up to maxInflight at once.
  setMaxListeners(handler.maxInflight + 10, controller.signal);
  let inflight = 0;
  let readEnded = false;
  let writeBlocked = false;
  let finished = false;

  const updateFlow = (): void => {
    if (finished) return;
    if (inflight >= handler.maxInflight || writeBlocked) call.pause();
    else call.resume();
  };

  const maybeEnd = (): void => {
    if (!finished && readEnded && inflight === 0) {
      finished = true;
      call.end();
    }
  };

  call.on('data', (request: Req) => {
    inflight++;
    updateFlow();
    void handler.handle(request, controller.signal).then((response) => {
      inflight--;
      if (finished || controller.signal.aborted) return;
      if (!call.write(response) && !writeBlocked) {
        writeBlocked = true;
        call.once('drain', () => {
          writeBlocked = false;
          updateFlow();
        });
      }
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
    controller.abort();
  };
  call.on('cancelled', stop);
  call.on('error', stop);
}
