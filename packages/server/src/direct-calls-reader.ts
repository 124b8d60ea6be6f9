/** gRPC message framing for calls answered directly: splitting request bytes, framing responses. */
import { status as Status } from '@grpc/grpc-js';

/** A status a call ends with. */
export interface CallStatus {
  code: number;
  details: string;
}

/** A message flagged compressed on a call that names no compression (framing errors are the caller's: INVALID_ARGUMENT). */
const uncompressedExpected = 'a request message is flagged compressed (flag 1) but the call sends no grpc-encoding: expected flag 0, or a grpc-encoding header';
const noMessages: Buffer[] = [];

/**
 * Splits a call's request bytes into gRPC messages (5-byte header: flag, big-endian length). Chunks
 * are joined only once the next message is whole, so a large message costs one copy.
 */
export class MessageReader {
  private pending: Buffer[] = [];
  /** Bytes received and not yet split off as messages. */
  pendingBytes = 0;
  /** Bytes the next message needs with its header (5 until its header has arrived). */
  needed = 5;

  constructor(private readonly maxBytes: number) {}

  /** The contents of the messages `chunk` completes, or the status for one over the limit or flagged compressed. */
  push(chunk: Buffer): Buffer[] | CallStatus {
    // The usual case, a chunk holding exactly one whole message, costs one view.
    if (this.pendingBytes === 0 && chunk.length >= 5 && chunk[0] === 0 && chunk.readUInt32BE(1) === chunk.length - 5 && (this.maxBytes === -1 || chunk.length - 5 <= this.maxBytes)) {
      return [chunk.subarray(5)];
    }
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    if (this.pendingBytes < this.needed) return noMessages;
    let buffer = this.pending.length === 1 ? chunk : Buffer.concat(this.pending, this.pendingBytes);
    const messages: Buffer[] = [];
    this.needed = 5;
    while (buffer.length >= 5) {
      const length = buffer.readUInt32BE(1);
      if (this.maxBytes !== -1 && length > this.maxBytes) return { code: Status.RESOURCE_EXHAUSTED, details: `Received message larger than max (${length} vs ${this.maxBytes})` };
      if (buffer.length < 5 + length) {
        this.needed = 5 + length;
        break;
      }
      if (buffer[0] !== 0) return { code: Status.INVALID_ARGUMENT, details: uncompressedExpected };
      messages.push(buffer.subarray(5, 5 + length));
      buffer = buffer.subarray(5 + length);
    }
    this.pending = buffer.length > 0 ? [buffer] : [];
    this.pendingBytes = buffer.length;
    return messages;
  }

  /** INVALID_ARGUMENT for a unary request cut short, or undefined when nothing arrived (grpc-js: "no request message"). */
  truncatedRequest(): CallStatus | undefined {
    if (this.pendingBytes === 0) return undefined;
    if (this.needed === 5) return { code: Status.INVALID_ARGUMENT, details: `truncated gRPC message: expected a 5-byte message header, got ${this.pendingBytes} bytes` };
    return { code: Status.INVALID_ARGUMENT, details: `truncated gRPC message: its header announces ${this.needed - 5} bytes, got ${this.pendingBytes - 5}` };
  }

  /** INVALID_ARGUMENT for a stream that ended inside a message, or undefined when it ended between messages. */
  truncatedStream(): CallStatus | undefined {
    if (this.pendingBytes === 0) return undefined;
    return { code: Status.INVALID_ARGUMENT, details: `truncated gRPC message: the stream ended ${this.pendingBytes} bytes into a message of ${this.needed} (its 5-byte header included)` };
  }
}

/** `message` framed for the wire: flag 0, big-endian length, bytes. */
export function frameMessage(message: Buffer): Buffer {
  const frame = Buffer.allocUnsafe(5 + message.length);
  frame[0] = 0;
  frame.writeUInt32BE(message.length, 1);
  message.copy(frame, 5);
  return frame;
}
