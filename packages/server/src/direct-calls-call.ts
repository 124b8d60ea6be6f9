/**
 * What every call answered directly shares: the request's metadata and deadline, cancellation, the
 * response headers and the final status, written as grpc-js writes them (its server-interceptors.ts).
 */
import { Metadata, status as Status } from '@grpc/grpc-js';
import { EventEmitter } from 'node:events';
import type { IncomingHttpHeaders, OutgoingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import { TLSSocket } from 'node:tls';
import { frameMessage, MessageReader, type CallStatus } from './direct-calls-reader.js';
import { requestHeader, type IngressCall } from './ingress-call.js';

/** What grpc-js keeps for a registered method (`Server.handlers`). */
export interface RegisteredMethod {
  func: (call: unknown, callback?: Respond) => void;
  serialize: (value: unknown) => Buffer;
  deserialize: (bytes: Buffer) => unknown;
  type: 'unary' | 'clientStream' | 'serverStream' | 'bidi';
  path: string;
}

/** A unary handler's callback, as grpc-js passes it. */
export type Respond = (error: ServiceErrorLike | null, value?: unknown, trailer?: Metadata) => void;

/** What a handler may answer as an error (grpc-js's `ServerErrorResponse | ServerStatusResponse`). */
export interface ServiceErrorLike {
  code?: number;
  details?: string;
  message?: string;
  metadata?: Metadata | null;
}

/** The message size limits, enforced as grpc-js enforces them (-1: none). */
export interface CallLimits {
  maxReceiveMessageBytes: number;
  maxSendMessageBytes: number;
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
 * default), and Node's formatting and encoding of it cost event-loop time on every answer
 * (measured in the README's Benchmarks section).
 */
const respondOptions = { waitForTrailers: true, sendDate: false };
const trailersOnlyOptions = { endStream: true, sendDate: false };
/** grpc-js sends no encoding headers in a trailers-only response. */
const trailersOnlyHeaders: OutgoingHttpHeaders = { ':status': 200, 'content-type': 'application/grpc+proto' };
/** The status of a call answered OK. */
export const ok: CallStatus = { code: Status.OK, details: 'OK' };
/** The trailers of a call answered OK without trailing metadata (Node copies what it is given). */
const okTrailers: OutgoingHttpHeaders = { 'grpc-status': String(Status.OK), 'grpc-message': 'OK' };
const deadlinePattern = /(\d{1,8})\s*([HMSmun])/;
const msPerUnit: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000001 };
/** The longest delay setTimeout keeps (a longer one fires after 1 ms). */
const maxTimerMs = 2 ** 31 - 1;
const noop = (): void => undefined;

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
export abstract class DirectCall extends EventEmitter implements IngressCall {
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
    private readonly limits: CallLimits,
  ) {
    super();
    this.reader = new MessageReader(limits.maxReceiveMessageBytes);
    const timeout = headers['grpc-timeout'];
    if (timeout !== undefined) {
      const match = deadlinePattern.exec(String(timeout));
      if (match === null) {
        this.badTimeout = String(timeout);
      } else {
        // Whole ms, as grpc-js reads it (under 1 ms has passed on arrival), but floored rather than `| 0`:
        // 8 digits of minutes or hours pass 2^31 ms, which grpc-js wraps (see the README's Operating it).
        this.deadline = Date.now() + Math.floor(Number(match[1]) * msPerUnit[match[2]!]!);
        this.armTimer();
      }
    }
  }

  /** Reads the request and runs the handler. */
  abstract start(): void;
  /** A chunk of request bytes. */
  abstract onData(chunk: Buffer): void;
  /** The client half-closed. */
  abstract onEnd(): void;

  /** Listens to the stream (with 'drain' too when `drain`); false when the call already ended (a grpc-timeout that does not parse). */
  protected listen(drain: boolean): boolean {
    const { stream } = this;
    stream.on('error', noop);
    (stream as CallStream)[callOf] = this;
    stream.on('close', onStreamClose);
    if (this.badTimeout !== undefined) {
      this.sendStatus({ code: Status.INTERNAL, details: `Invalid grpc-timeout value "${this.badTimeout}"` });
      return false;
    }
    stream.on('data', onStreamData);
    stream.on('end', onStreamEnd);
    if (drain) stream.on('drain', onStreamDrain);
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
    return frameMessage(message);
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

  /** Runs the handler as grpc-js does: a handler that throws ends the call with UNKNOWN. */
  protected runHandler(callback?: Respond): void {
    try {
      this.method.func(this, callback);
    } catch {
      this.sendStatus({ code: Status.UNKNOWN, details: 'Unknown error' });
    }
  }

  /** Times the deadline; Node's timers hold at most 2^31 − 1 ms (24.8 days), so a later one re-arms on the way. */
  private armTimer(): void {
    const remaining = this.deadline - Date.now();
    this.timer = remaining > maxTimerMs ? setTimeout(() => this.armTimer(), maxTimerMs) : setTimeout(() => this.expire(), remaining);
  }

  /** The deadline passed first: DEADLINE_EXCEEDED, and the handler hears 'cancelled'. */
  private expire(): void {
    this.timer = undefined;
    if (this.done) return;
    this.sendStatus({ code: Status.DEADLINE_EXCEEDED, details: 'Deadline exceeded' });
    this.cancel();
  }

  /**
   * The stream closed: the call stops listening, and if no status was sent, the client cancelled
   * (or the connection went). Node keeps a closed HTTP/2 stream object for a while (long enough for
   * its garbage to outlive two scavenges); whatever its listeners reach would be kept and promoted
   * with it, so the stream's listeners are shared functions that reach the call only through
   * `callOf`, which is cleared here (detaching cut the bytes promoted per scavenge: see the
   * README's Benchmarks section).
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
  [requestHeader](name: string): string | undefined {
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

/** grpc-js's `serverErrorToStatus`: a numeric `code` with its `details`, else UNKNOWN with the message. */
export function statusOf(error: ServiceErrorLike): CallStatus {
  const details = typeof error.message === 'string' ? error.message : 'Unknown Error';
  if (typeof error.code === 'number' && Number.isInteger(error.code)) {
    return { code: error.code, details: typeof error.details === 'string' ? error.details : details };
  }
  return { code: Status.UNKNOWN, details };
}
