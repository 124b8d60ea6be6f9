import { Client, credentials, Metadata, Server, ServerCredentials, status, type ServiceDefinition } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ingress } from './ingress.js';
import { rawBidi, rawUnary } from './testing/raw-calls.js';

/** Raw bytes, except that a message starting with 0xff does not decode. */
const decode = (b: Buffer): Buffer => {
  if (b[0] === 0xff) throw new Error('not a message');
  return b;
};
const bytes = (b: Buffer): Buffer => b;
const method = (name: string, requestStream: boolean, responseStream: boolean) => ({
  path: `/test.Ingress/${name}`,
  requestStream,
  responseStream,
  requestSerialize: bytes,
  requestDeserialize: decode,
  responseSerialize: bytes,
  responseDeserialize: bytes,
});
const service: ServiceDefinition = {
  Echo: method('Echo', false, false),
  Admin: method('Admin', false, false),
  Chat: method('Chat', true, true),
  InBand: method('InBand', true, true),
  Missing: method('Missing', false, false),
};

/** What each handler was given, in order. */
const seen: string[] = [];
type Duplex = { on(event: string, listener: (m?: unknown) => void): void; write(b: Buffer): void; end(): void };
const echoBack = (name: string) => (call: Duplex) => {
  call.on('data', (m) => {
    seen.push(`${name}:${Buffer.isBuffer(m) ? m.toString('hex') : 'malformed'}`);
    call.write(Buffer.from([1]));
  });
  call.on('end', () => call.end());
};
const handlers = {
  // Written with rest parameters (Function.length 0): still served as the unary method its definition says.
  Echo: (...args: unknown[]) => {
    const [call, callback] = args as [{ request: Buffer }, (e: null, v: Buffer) => void];
    seen.push(`Echo:${call.request.toString('hex')}`);
    callback(null, call.request);
  },
  Admin: (_call: unknown, callback: (e: null, v: Buffer) => void) => callback(null, Buffer.from([9])),
  Chat: echoBack('Chat'),
  InBand: echoBack('InBand'),
};

let server: Server;
let client: Client;
let ingress: Ingress;
beforeAll(async () => {
  server = new Server();
  ingress = new Ingress(server, { adminToken: 'admin-secret' });
  ingress.addService(service, handlers, { access: (m) => (m === 'Admin' ? 'admin' : 'open'), inBand: ['InBand'] });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  client = new Client(`127.0.0.1:${port}`, credentials.createInsecure());
});
afterAll(() => {
  client.close();
  server.forceShutdown();
});

const unary = (name: string, request: Buffer, metadata?: Metadata): Promise<number> => rawUnary(client, `/test.Ingress/${name}`, request, { metadata });
const bidi = (name: string, messages: Buffer[]) => rawBidi(client, `/test.Ingress/${name}`, messages);

describe('the ingress pipeline', () => {
  it('declares each method with the kind its service definition gives and the access it was declared with', () => {
    expect(Object.fromEntries([...ingress.methods].map(([path, m]) => [path, `${m.kind} ${m.access} ${m.malformedMessages}`]))).toEqual({
      '/test.Ingress/Echo': 'unary open end-call',
      '/test.Ingress/Admin': 'unary admin end-call',
      '/test.Ingress/Chat': 'bidi open end-call',
      '/test.Ingress/InBand': 'bidi open in-band',
    });
  });

  it('dispatches a unary handler whatever its arity, and leaves a method without handler to grpc-js', async () => {
    seen.length = 0;
    expect(await unary('Echo', Buffer.from([1, 2]))).toBe(status.OK);
    expect(seen).toEqual(['Echo:0102']);
    expect(await unary('Missing', Buffer.from([1]))).toBe(status.UNIMPLEMENTED);
  });

  it('refuses a request that does not decode with INVALID_ARGUMENT, before the handler runs', async () => {
    seen.length = 0;
    expect(await unary('Echo', Buffer.from([0xff]))).toBe(status.INVALID_ARGUMENT);
    expect(seen).toEqual([]);
  });

  it('authenticates first: a malformed request without the token is UNAUTHENTICATED, with a wrong one PERMISSION_DENIED', async () => {
    const wrong = new Metadata();
    wrong.set('authorization', 'Bearer nope');
    const right = new Metadata();
    right.set('authorization', 'Bearer admin-secret');
    expect([await unary('Admin', Buffer.from([0xff])), await unary('Admin', Buffer.from([0xff]), wrong), await unary('Admin', Buffer.from([0xff]), right), await unary('Admin', Buffer.from([1]), right)]).toEqual([
      status.UNAUTHENTICATED,
      status.PERMISSION_DENIED,
      status.INVALID_ARGUMENT,
      status.OK,
    ]);
  });

  it('ends a stream at its first malformed message, which its handler never sees, nor anything after it', async () => {
    seen.length = 0;
    expect(await bidi('Chat', [Buffer.from([1]), Buffer.from([0xff]), Buffer.from([2])])).toEqual({ code: status.INVALID_ARGUMENT, answers: 1 });
    expect(seen).toEqual(['Chat:01']);
  });

  it('hands a stream declared in-band its malformed messages, for it to answer each one', async () => {
    seen.length = 0;
    expect(await bidi('InBand', [Buffer.from([1]), Buffer.from([0xff]), Buffer.from([2])])).toEqual({ code: status.OK, answers: 3 });
    expect(seen).toEqual(['InBand:01', 'InBand:malformed', 'InBand:02']);
  });
});
