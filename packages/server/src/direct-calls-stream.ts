/** A bidirectional inference stream answered directly: messages in, messages out. */
import { status as Status } from '@grpc/grpc-js';
import { DirectCall, ok, statusOf, type ServiceErrorLike } from './direct-calls-call.js';

/**
 * A bidirectional call offering the subset of grpc-js's `ServerDuplexStream` that `serveStream`
 * uses: `metadata`, `getDeadline`, the 'data' / 'end' / 'cancelled' / 'error' / 'drain' events,
 * `pause`, `resume`, `write`, `end`, and `emit('error', status)` to end with a status.
 */
export class DirectDuplexCall extends DirectCall {
  /** Decoded messages not yet emitted (reading is paused, or they came in one chunk). */
  private readonly decoded: unknown[] = [];
  private paused = false;
  private delivering = false;
  private readEnded = false;
  private endEmitted = false;
  private corked = false;

  start(): void {
    if (!this.listen(true)) return;
    // Like grpc-js: `emit('error', status)` on the call ends it with that status.
    this.on('error', (error: ServiceErrorLike) => this.sendStatus(statusOf(error), error.metadata));
    this.runHandler();
  }

  onData(chunk: Buffer): void {
    const messages = this.messagesIn(chunk);
    if (messages === undefined) return;
    for (const message of messages) {
      try {
        this.decoded.push(this.method.deserialize(message));
      } catch {
        this.sendStatus({ code: Status.INTERNAL, details: 'Error deserializing request' });
        return;
      }
    }
    this.deliver();
  }

  onEnd(): void {
    this.readEnded = true;
    this.deliver();
  }

  /** Emits decoded messages while not paused, then 'end' once the client half-closed and all are out. */
  private deliver(): void {
    if (this.delivering) return;
    this.delivering = true;
    while (!this.paused && !this.done && this.decoded.length > 0) this.emit('data', this.decoded.shift());
    this.delivering = false;
    if (this.readEnded && this.decoded.length === 0 && !this.endEmitted && !this.done) {
      this.endEmitted = true;
      const truncated = this.reader.truncatedStream();
      if (truncated !== undefined) this.sendStatus(truncated);
      else this.emit('end');
    }
  }

  pause(): this {
    if (!this.paused) {
      this.paused = true;
      this.stream.pause();
    }
    return this;
  }

  resume(): this {
    if (this.paused) {
      this.paused = false;
      this.stream.resume();
      this.deliver();
    }
    return this;
  }

  /** Writes one response; false when the client is not reading fast enough (wait for 'drain'). */
  write(value: unknown): boolean {
    if (this.done) return true;
    const frame = this.frame(value);
    if (frame === undefined) return true;
    this.sendHeaders();
    // Answers that finish together (one batch) leave in one write.
    if (!this.corked) {
      this.corked = true;
      this.stream.cork();
      process.nextTick(() => {
        this.corked = false;
        this.stream.uncork();
      });
    }
    return this.stream.write(frame);
  }

  /** Ends the call with OK. */
  end(): this {
    this.sendStatus(ok);
    return this;
  }
}
