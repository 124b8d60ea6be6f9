/**
 * Calls answered straight off grpc-js's HTTP/2 streams.
 *
 * grpc-js 1.14 spends about 40% of a unary call's CPU above Node's HTTP/2 layer (an intercepting
 * call, a stream decoder, a Writable per call, several closures and promises): a bare grpc-js echo
 * server answers 23,000 calls/s where the same echo on `node:http2` answers 38,000 (h2load, 64 in
 * flight, a 2-core VM). For an inference server that is the budget the model runs in. So, on the
 * same port and the same sessions, modelserve takes the HTTP/2 stream of each unary call, and of
 * each call to the inference streams it names, before grpc-js does; reads the messages itself; and
 * calls the very handler grpc-js would have called (with its auth and validation wrappers) with a
 * call object offering what grpc-js's `ServerUnaryCall` / `ServerDuplexStream` offer to those
 * handlers. Everything else, and any call it does not read itself (a compressed request, a content
 * type that is not gRPC), goes on to grpc-js unchanged.
 *
 * Statuses, messages and headers follow grpc-js's own (its server-interceptors.ts), so a client
 * cannot tell the two paths apart; test/src/direct-calls.test.ts compares them case by case.
 */
import { Metadata, status as Status, type Server, type ServerUnaryCall } from '@grpc/grpc-js';
import { EventEmitter } from 'node:events';
import type { Http2Server, IncomingHttpHeaders, OutgoingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import { TLSSocket } from 'node:tls';

/** What grpc-js keeps for a registered method (`Server.handlers`). */
interface RegisteredMethod {
  func: (call: unknown, callback?: Respond) => void;
  serialize: (value: unknown) => Buffer;
  deserialize: (bytes: Buffer) => unknown;
  type: 'unary' | 'clientStream' | 'serverStream' | 'bidi';
  path: string;
}

type StreamListener = (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, flags: number) => void;
type Respond = (error: ServiceErrorLike | null, value?: unknown, trailer?: Metadata) => void;

interface ServiceErrorLike {
  code?: number;
  details?: string;
  message?: string;
  metadata?: Metadata | null;
}

interface CallStatus {
  code: number;
  details: string;
}

/** What the direct path serves, and the limits it enforces as grpc-js does (-1: none). */
export interface DirectCallOptions {
  maxReceiveMessageBytes: number;
  maxSendMessageBytes: number;
  /**
   * Bidirectional methods served directly, by path. Their handlers may use only `metadata`,
   * `getDeadline`, the 'data' / 'end' / 'cancelled' / 'error' / 'drain' events, `pause`, `resume`,
   * `write`, `end`, and `emit('error', status)` to end with a status.
   */
  bidiPaths: readonly string[];
}

/** Headers grpc-js does not pass to handlers as metadata. */
const transportHeaders = ['grpc-timeout', 'grpc-encoding', 'grpc-accept-encoding', 'accept-encoding', 'te', 'content-type'];
const responseHeaders: OutgoingHttpHeaders = {
  ':status': 200,
  'content-type': 'application/grpc+proto',
  'grpc-accept-encoding': 'identity,deflate,gzip',
  'grpc-encoding': 'identity',
};
/**
 * No `date` header: gRPC does not use one (grpc-go and gRPC C++ send none; grpc-js sends Node's
 * default), and Node's formatting and encoding of it cost 1.6 µs per answer (a bare `node:http2`
 * echo under h2load: 29.2 against 27.5 µs of its event loop per call).
 */
const respondOptions = { waitForTrailers: true, sendDate: false };
const trailersOnlyOptions = { endStream: true, sendDate: false };
/** grpc-js sends no encoding headers in a trailers-only response. */
const trailersOnlyHeaders: OutgoingHttpHeaders = { ':status': 200, 'content-type': 'application/grpc+proto' };
const ok: CallStatus = { code: Status.OK, details: 'OK' };
/** The trailers of a call answered OK without trailing metadata (Node copies what it is given). */
const okTrailers: OutgoingHttpHeaders = { 'grpc-status': String(Status.OK), 'grpc-message': 'OK' };
const deadlinePattern = /(\d{1,8})\s*([HMSmun])/;
const msPerUnit: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000001 };
const noop = (): void => undefined;
/** A message flagged compressed on a call that names no compression (framing errors are the caller's: INVALID_ARGUMENT). */
const uncompressedExpected = 'a request message is flagged compressed (flag 1) but the call sends no grpc-encoding: expected flag 0, or a grpc-encoding header';

/**
 * Serves `server`'s unary methods and `options.bidiPaths` directly on its HTTP/2 streams (call
 * after `bindAsync`). Returns false, changing nothing, when this grpc-js does not look like 1.14's
 * inside, or has server interceptors (which the direct path would skip).
 */
export function serveCallsDirectly(server: Server, options: DirectCallOptions): boolean {
  const { http2Servers, handlers, interceptors, onStreamOpened } = server as unknown as Record<string, unknown>;
  if (!(http2Servers instanceof Map) || !(handlers instanceof Map) || typeof onStreamOpened !== 'function') return false;
  if (!Array.isArray(interceptors) || interceptors.length > 0) return false;
  if (![...(handlers.values() as IterableIterator<unknown>)].every(isRegisteredMethod)) return false;
  const servers = [...(http2Servers.keys() as IterableIterator<Http2Server>)];
  if (servers.length === 0 || servers.some((s) => s.listenerCount('stream') === 0)) return false;
  const opened = onStreamOpened as (stream: ServerHttp2Stream) => void;
  const bidi = new Set(options.bidiPaths);
  for (const http2Server of servers) {
    const grpcListeners = http2Server.listeners('stream') as StreamListener[];
    http2Server.removeAllListeners('stream');
    http2Server.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, flags: number) => {
      const method = handlers.get(headers[':path']) as RegisteredMethod | undefined;
      const Call = method === undefined || !readsDirectly(headers) ? undefined : method.type === 'unary' ? DirectUnaryCall : method.type === 'bidi' && bidi.has(method.path) ? DirectDuplexCall : undefined;
      if (Call === undefined) {
        for (const listener of grpcListeners) listener.call(http2Server, stream, headers, flags);
        return;
      }
      opened.call(server, stream);
      new Call(stream, headers, method!, options).start();
    });
  }
  return true;
}

/** Whether grpc-js keeps a method the way 1.14 does (checked for every method before the direct path is installed). */
function isRegisteredMethod(value: unknown): value is RegisteredMethod {
  if (typeof value !== 'object' || value === null) return false;
  const m = value as Record<string, unknown>;
  return typeof m['func'] === 'function' && typeof m['serialize'] === 'function' && typeof m['deserialize'] === 'function' && typeof m['type'] === 'string' && typeof m['path'] === 'string';
}

/** A gRPC request whose messages arrive uncompressed (grpc-js handles the rest). */
function readsDirectly(headers: IncomingHttpHeaders): boolean {
  const contentType = headers['content-type'];
  const encoding = headers['grpc-encoding'];
  return typeof contentType === 'string' && contentType.startsWith('application/grpc') && (encoding === undefined || encoding === 'identity');
}

/**
 * Splits a call's request bytes into gRPC messages (5-byte header: flag, big-endian length). Chunks
 * are joined only once the next message is whole, so a large message costs one copy.
 */
class MessageReader {
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
}

const noMessages: Buffer[] = [];

/** Where a stream's shared listeners find its call (cleared when the stream closes). */
const callOf = Symbol('modelserve.directCall');
type CallStream = ServerHttp2Stream & { [callOf]?: DirectCall };

// The listeners every call puts on its stream: shared functions, so a call costs no closures.
function onStreamData(this: CallStream, chunk: Buffer): void {
  this[callOf]?.onData(chunk);
}
function onStreamEnd(this: CallStream): void {
  this[callOf]?.onEnd();
}
function onStreamClose(this: CallStream): void {
  this[callOf]?.closed();
}
function onStreamWantsTrailers(this: CallStream): void {
  this[callOf]?.writeTrailers();
}
function onStreamDrain(this: CallStream): void {
  this[callOf]?.emit('drain');
}
const streamListeners: ReadonlyArray<[string, (this: CallStream, chunk: Buffer) => void]> = [
  ['data', onStreamData],
  ['end', onStreamEnd],
  ['close', onStreamClose],
  ['wantTrailers', onStreamWantsTrailers],
  ['drain', onStreamDrain],
];

/** What both kinds of call share: metadata, deadline, cancellation, headers and the final status. */
abstract class DirectCall extends EventEmitter {
  cancelled = false;
  private metadataBuilt: Metadata | undefined;
  private readonly deadline: number = Infinity;
  private timer: NodeJS.Timeout | undefined;
  /** The status is sent (or the stream is gone): nothing more is written. */
  protected done = false;
  private headersSent = false;
  private customHeaders: OutgoingHttpHeaders | undefined;
  private trailers: OutgoingHttpHeaders | undefined;
  private readonly badTimeout: string | undefined;
  protected readonly reader: MessageReader;

  constructor(
    protected readonly stream: ServerHttp2Stream,
    private readonly headers: IncomingHttpHeaders,
    protected readonly method: RegisteredMethod,
    protected readonly limits: DirectCallOptions,
  ) {
    super();
    this.reader = new MessageReader(limits.maxReceiveMessageBytes);
    const timeout = headers['grpc-timeout'];
    if (timeout !== undefined) {
      const match = deadlinePattern.exec(String(timeout));
      if (match === null) {
        this.badTimeout = String(timeout);
      } else {
        const ms = (Number(match[1]) * msPerUnit[match[2]!]!) | 0;
        this.deadline = Date.now() + ms;
        this.timer = setTimeout(() => this.expire(), ms);
      }
    }
  }

  /** Listens to the stream; false when the call already ended (a grpc-timeout that does not parse). */
  protected listen(): boolean {
    const { stream } = this;
    stream.on('error', noop);
    (stream as CallStream)[callOf] = this;
    stream.on('close', onStreamClose);
    if (this.badTimeout !== undefined) {
      this.sendStatus({ code: Status.INTERNAL, details: `Invalid grpc-timeout value "${this.badTimeout}"` });
      return false;
    }
    return true;
  }

  /** The messages `chunk` completes; undefined once the call is over, or when the chunk ends it with a status. */
  protected messagesIn(chunk: Buffer): Buffer[] | undefined {
    if (this.done) return undefined;
    const messages = this.reader.push(chunk);
    if (Array.isArray(messages)) return messages;
    this.sendStatus(messages);
    return undefined;
  }

  /** A message framed for the wire, or undefined after answering INTERNAL or RESOURCE_EXHAUSTED. */
  protected frame(value: unknown): Buffer | undefined {
    let message: Buffer;
    try {
      message = this.method.serialize(value);
    } catch {
      this.sendStatus({ code: Status.INTERNAL, details: 'Error serializing response' });
      return undefined;
    }
    const max = this.limits.maxSendMessageBytes;
    if (max !== -1 && message.length > max) {
      this.sendStatus({ code: Status.RESOURCE_EXHAUSTED, details: `Sent message larger than max (${message.length + 5} vs. ${max})` });
      return undefined;
    }
    const frame = Buffer.allocUnsafe(5 + message.length);
    frame[0] = 0;
    frame.writeUInt32BE(message.length, 1);
    message.copy(frame, 5);
    return frame;
  }

  /** Response headers, before the first message. */
  protected sendHeaders(): void {
    if (this.headersSent) return;
    this.headersSent = true;
    const { stream } = this;
    stream.respond(this.customHeaders === undefined ? responseHeaders : { ...responseHeaders, ...this.customHeaders }, respondOptions);
    stream.on('wantTrailers', onStreamWantsTrailers);
  }

  /** Node asks for the trailers once the last message is written. */
  writeTrailers(): void {
    this.stream.sendTrailers(this.trailers ?? okTrailers);
  }

  /** Ends the call with `status`, after `last` when given: trailers after messages, or a trailers-only response. */
  protected sendStatus(status: CallStatus, metadata?: Metadata | null, last?: Buffer): void {
    if (this.done) return;
    this.done = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    const { stream } = this;
    if (stream.destroyed || stream.closed) return;
    const trailers =
      status === ok && metadata == null ? okTrailers : { 'grpc-status': String(status.code), 'grpc-message': encodeURI(status.details), ...metadata?.toHttp2Headers() };
    if (this.headersSent || last !== undefined) {
      this.sendHeaders();
      this.trailers = trailers;
      if (last === undefined) stream.end();
      else stream.end(last);
    } else {
      stream.respond({ ...trailersOnlyHeaders, ...this.customHeaders, ...trailers }, trailersOnlyOptions);
    }
  }

  /** The deadline passed first: DEADLINE_EXCEEDED, and the handler hears 'cancelled'. */
  private expire(): void {
    this.timer = undefined;
    if (this.done) return;
    this.sendStatus({ code: Status.DEADLINE_EXCEEDED, details: 'Deadline exceeded' });
    this.cancel();
  }

  /** A chunk of request bytes. */
  abstract onData(chunk: Buffer): void;
  /** The client half-closed. */
  abstract onEnd(): void;

  /**
   * The stream closed: the call stops listening, and if no status was sent, the client cancelled
   * (or the connection went). Node keeps a closed HTTP/2 stream object for a while (long enough for
   * its garbage to outlive two scavenges); whatever its listeners reach would be kept and promoted
   * with it, so the stream's listeners are shared functions that reach the call only through
   * `callOf`, which is cleared here (under h2load, detaching took the promoted bytes per scavenge
   * from 1.9 MB to 1.2 MB).
   */
  closed(): void {
    const stream = this.stream as CallStream;
    stream[callOf] = undefined;
    for (const [event, listener] of streamListeners) stream.off(event, listener);
    if (this.timer !== undefined) clearTimeout(this.timer);
    if (this.done) return;
    this.done = true;
    this.cancel();
  }

  private cancel(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    this.stream.resume(); // whatever the client still sends is dropped
    process.nextTick(() => this.emit('cancelled'));
  }

  /** The request's metadata, as grpc-js gives it to handlers; built when first read. */
  get metadata(): Metadata {
    if (this.metadataBuilt === undefined) {
      const metadata = Metadata.fromHttp2Headers(this.headers);
      for (const key of transportHeaders) metadata.remove(key);
      this.metadataBuilt = metadata;
    }
    return this.metadataBuilt;
  }

  /** One request header's (first) value without building the metadata: what `metadata.get(name)[0]` gives for a text header. */
  headerValue(name: string): string | undefined {
    const value = this.headers[name];
    return Array.isArray(value) ? value[0] : value;
  }

  // What grpc-js's server calls offer besides the above.

  getDeadline(): number {
    return this.deadline;
  }

  getPath(): string {
    return this.method.path;
  }

  getHost(): string {
    return String(this.headers[':authority'] ?? this.headers.host ?? '');
  }

  getPeer(): string {
    const socket = this.stream.session?.socket;
    if (socket?.remoteAddress === undefined) return 'unknown';
    return socket.remotePort === undefined ? socket.remoteAddress : `${socket.remoteAddress}:${socket.remotePort}`;
  }

  getAuthContext(): { transportSecurityType?: string; sslPeerCertificate?: unknown } {
    const socket = this.stream.session?.socket;
    if (!(socket instanceof TLSSocket) || !socket.authorized) return {};
    const certificate = socket.getPeerCertificate();
    return { transportSecurityType: 'ssl', sslPeerCertificate: certificate.raw ? certificate : undefined };
  }

  sendMetadata(metadata: Metadata): void {
    if (!this.headersSent && this.customHeaders === undefined) this.customHeaders = metadata.toHttp2Headers();
  }
}

/** A unary call: one message in, one message or a status out. */
class DirectUnaryCall extends DirectCall {
  request: unknown = undefined;
  /** The request message's contents, once whole. */
  private message: Buffer | undefined;

  start(): void {
    if (!this.listen()) return;
    this.stream.on('data', onStreamData);
    this.stream.on('end', onStreamEnd);
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
    const { message, reader } = this;
    if (message === undefined) {
      if (reader.pendingBytes === 0) {
        this.sendStatus({ code: Status.UNIMPLEMENTED, details: `Received no request message for server streaming method ${this.method.path}` });
      } else if (reader.needed === 5) {
        this.sendStatus({ code: Status.INVALID_ARGUMENT, details: `truncated gRPC message: expected a 5-byte message header, got ${reader.pendingBytes} bytes` });
      } else {
        this.sendStatus({ code: Status.INVALID_ARGUMENT, details: `truncated gRPC message: its header announces ${reader.needed - 5} bytes, got ${reader.pendingBytes - 5}` });
      }
      return;
    }
    try {
      this.request = this.method.deserialize(message);
    } catch {
      this.sendStatus({ code: Status.INTERNAL, details: 'Error deserializing request' });
      return;
    }
    try {
      this.method.func(this as unknown as ServerUnaryCall<unknown, unknown>, (error, value, trailer) => this.answer(error, value, trailer));
    } catch {
      this.sendStatus({ code: Status.UNKNOWN, details: 'Unknown error' });
    }
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

/** A bidirectional inference stream: messages in, messages out, in the subset `serveStream` uses. */
class DirectDuplexCall extends DirectCall {
  /** Decoded messages not yet emitted (reading is paused, or they came in one chunk). */
  private readonly decoded: unknown[] = [];
  private paused = false;
  private delivering = false;
  private readEnded = false;
  private endEmitted = false;
  private corked = false;

  start(): void {
    if (!this.listen()) return;
    // Like grpc-js: `emit('error', status)` on the call ends it with that status.
    this.on('error', (error: ServiceErrorLike) => this.sendStatus(statusOf(error), error.metadata));
    this.stream.on('data', onStreamData);
    this.stream.on('end', onStreamEnd);
    this.stream.on('drain', onStreamDrain);
    try {
      this.method.func(this);
    } catch {
      this.sendStatus({ code: Status.UNKNOWN, details: 'Unknown error' });
    }
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
      if (this.reader.pendingBytes > 0) {
        this.sendStatus({ code: Status.INVALID_ARGUMENT, details: `truncated gRPC message: the stream ended ${this.reader.pendingBytes} bytes into a message of ${this.reader.needed} (its 5-byte header included)` });
        return;
      }
      this.emit('end');
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

/** grpc-js's `serverErrorToStatus`: a numeric `code` with its `details`, else UNKNOWN with the message. */
function statusOf(error: ServiceErrorLike): CallStatus {
  const details = typeof error.message === 'string' ? error.message : 'Unknown Error';
  if (typeof error.code === 'number' && Number.isInteger(error.code)) {
    return { code: error.code, details: typeof error.details === 'string' ? error.details : details };
  }
  return { code: Status.UNKNOWN, details };
}
