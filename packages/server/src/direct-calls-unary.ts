/** A unary call answered directly: one message in, one message or a status out. */
import { type Metadata, status as Status } from '@grpc/grpc-js';
import { DirectCall, ok, statusOf, type ServiceErrorLike } from './direct-calls-call.js';

/** A unary call: reads one request message, deserializes it, and answers the handler's callback. */
export class DirectUnaryCall extends DirectCall {
  request: unknown = undefined;
  /** The request message's contents, once whole. */
  private message: Buffer | undefined;

  start(): void {
    this.listen(false);
  }

  onData(chunk: Buffer): void {
    const messages = this.messagesIn(chunk);
    if (messages === undefined) return;
    // More than one message (or any byte after the first): refused at once rather than buffered.
    const count = messages.length + (this.message === undefined ? 0 : 1);
    if (count > 1 || (count === 1 && this.reader.pendingBytes > 0)) {
      this.sendStatus({ code: Status.UNIMPLEMENTED, details: `Received a second request message for server streaming method ${this.method.path}` });
    } else if (messages.length === 1) this.message = messages[0];
  }

  onEnd(): void {
    if (this.done) return;
    const { message } = this;
    if (message === undefined) {
      this.sendStatus(this.reader.truncatedRequest() ?? { code: Status.UNIMPLEMENTED, details: `Received no request message for server streaming method ${this.method.path}` });
      return;
    }
    try {
      this.request = this.method.deserialize(message);
    } catch {
      this.sendStatus({ code: Status.INTERNAL, details: 'Error deserializing request' });
      return;
    }
    this.runHandler((error, value, trailer) => this.answer(error, value, trailer));
  }

  /** The handler's callback: a status, or a message then OK. */
  private answer(error: ServiceErrorLike | null, value?: unknown, trailer?: Metadata): void {
    if (this.done) return;
    if (error !== null && error !== undefined) {
      this.sendStatus(statusOf(error), trailer ?? error.metadata);
      return;
    }
    const frame = this.frame(value);
    if (frame !== undefined) this.sendStatus(ok, trailer, frame);
  }
}
