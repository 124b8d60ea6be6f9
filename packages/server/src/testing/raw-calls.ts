import { Metadata, status, type CallOptions, type Client, type StatusObject } from '@grpc/grpc-js';

/** How a raw call is made. */
export interface RawCallOptions {
  /** Sent with the call; empty by default. */
  metadata?: Metadata;
  /** Milliseconds to the call's deadline; none by default. A unary call still unanswered then rejects, so a hung server fails the test instead of stalling it. */
  timeoutMs?: number;
}

/** Requests and answers travel as the bytes the test gives and the server writes: no codec decides what is valid. */
const identity = (b: Buffer): Buffer => b;
const callOptions = (timeoutMs: number | undefined): CallOptions => (timeoutMs === undefined ? {} : { deadline: Date.now() + timeoutMs });

/** Sends raw bytes as the request of a unary method; resolves with the status code (status.OK, 0, when answered). */
export function rawUnary(client: Client, path: string, request: Buffer, { metadata = new Metadata(), timeoutMs }: RawCallOptions = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const timer = timeoutMs === undefined ? undefined : setTimeout(() => reject(new Error(`no answer from ${path} within ${timeoutMs / 1000} s`)), timeoutMs);
    client.makeUnaryRequest(path, identity, identity, request, metadata, callOptions(timeoutMs), (error) => {
      clearTimeout(timer);
      resolve(error === null ? status.OK : error.code);
    });
  });
}

/** Sends raw bytes as the request of a server-streaming method; resolves with its status once the first answer (if any) cancels it. */
export function rawServerStream(client: Client, path: string, request: Buffer, { metadata = new Metadata(), timeoutMs }: RawCallOptions = {}): Promise<number> {
  return new Promise((resolve) => {
    const call = client.makeServerStreamRequest(path, identity, identity, request, metadata, callOptions(timeoutMs));
    call.on('data', () => call.cancel());
    call.on('error', () => undefined);
    call.on('status', (s: StatusObject) => resolve(s.code));
  });
}

/** Sends raw messages on a bidirectional method, then half-closes; resolves with its status and how many answers came first. */
export function rawBidi(client: Client, path: string, messages: Buffer[], { metadata = new Metadata(), timeoutMs }: RawCallOptions = {}): Promise<{ code: number; answers: number }> {
  return new Promise((resolve) => {
    const call = client.makeBidiStreamRequest(path, identity, identity, metadata, callOptions(timeoutMs));
    let answers = 0;
    call.on('data', () => answers++);
    call.on('error', () => undefined);
    call.on('status', (s: StatusObject) => resolve({ code: s.code, answers }));
    for (const message of messages) call.write(message);
    call.end();
  });
}
