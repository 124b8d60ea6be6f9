import { credentials, experimental, makeGenericClientConstructor, Server, ServerCredentials, ServerInterceptingCall, type ServerInterceptor, type ServiceDefinition } from '@grpc/grpc-js';
import { connect, type IncomingHttpHeaders } from 'node:http2';
import { afterEach, describe, expect, it } from 'vitest';
import { directCallPaths, loadedGrpcJsVersion, serveCallsDirectly, testedGrpcJsVersions } from './direct-calls.js';
import { directCallsFromEnv } from './direct-calls-env.js';

const bytes = (b: Buffer): Buffer => b;
const method = (path: string, responseStream = false) => ({
  path,
  requestStream: false,
  responseStream,
  requestSerialize: bytes,
  requestDeserialize: bytes,
  responseSerialize: bytes,
  responseDeserialize: bytes,
});
/** A service on raw bytes: Echo and Mirror answer their request reversed, Repeat streams it back. */
const echoService: ServiceDefinition = { Echo: method('/test.Echo/Echo'), Mirror: method('/test.Echo/Mirror'), Repeat: method('/test.Echo/Repeat', true) };
const reversed = (call: { request: Buffer }, callback: (e: null, v: Buffer) => void): void => callback(null, Buffer.from(call.request).reverse());
const handlers = { Echo: reversed, Mirror: reversed, Repeat: (call: { request: Buffer; write(b: Buffer): void; end(): void }) => (call.write(call.request), call.end()) };
const limits = { maxReceiveMessageBytes: 1024, maxSendMessageBytes: 1024 };
const options = { ...limits, paths: ['/test.Echo/Echo'] };
/** modelserve's own setting: channelz off (grpc-js turns it on by default). */
const noChannelz = { 'grpc.enable_channelz': 0 };
const servers: Server[] = [];

async function bound(server: Server, serverCredentials = ServerCredentials.createInsecure()): Promise<number> {
  server.addService(echoService, handlers);
  servers.push(server);
  return new Promise((resolve, reject) => server.bindAsync('127.0.0.1:0', serverCredentials, (error, port) => (error ? reject(error) : resolve(port))));
}

function echo(port: number, message: Buffer): Promise<Buffer> {
  const Client = makeGenericClientConstructor(echoService, 'Echo');
  const client = new Client(`127.0.0.1:${port}`, credentials.createInsecure()) as unknown as { Echo(b: Buffer, cb: (e: Error | null, v?: Buffer) => void): void; close(): void };
  return new Promise((resolve, reject) =>
    client.Echo(message, (error, value) => {
      client.close();
      if (error) reject(error);
      else resolve(value!);
    }),
  );
}

/** The response headers of a unary call to `path`, sent as raw HTTP/2. */
function responseHeaders(port: number, path: string): Promise<IncomingHttpHeaders> {
  const session = connect(`http://127.0.0.1:${port}`);
  return new Promise((resolve, reject) => {
    const request = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers' });
    request.on('response', (headers) => resolve(headers));
    request.on('error', reject);
    request.on('close', () => session.close());
    request.resume();
    request.end(Buffer.from([0, 0, 0, 0, 1, 7]));
  });
}

afterEach(() => {
  for (const server of servers.splice(0)) server.forceShutdown();
});

describe('serveCallsDirectly', () => {
  it('takes over a bound grpc-js server, whose calls then answer the same', async () => {
    const server = new Server(noChannelz);
    const port = await bound(server);
    expect(serveCallsDirectly(server, options)).toEqual({ installed: true });
    expect(await echo(port, Buffer.from([1, 2, 3]))).toEqual(Buffer.from([3, 2, 1]));
  });

  it('takes over only the paths it lists: the rest is answered by grpc-js, which sends a date header', async () => {
    const server = new Server(noChannelz);
    const port = await bound(server);
    expect(serveCallsDirectly(server, options).installed).toBe(true);
    expect((await responseHeaders(port, '/test.Echo/Echo'))['date']).toBeUndefined();
    expect((await responseHeaders(port, '/test.Echo/Mirror'))['date']).toBeDefined();
  });

  it('lists the four inference methods by default', () => {
    expect(directCallPaths).toEqual([
      '/modelserve.v1.Predictor/Predict',
      '/modelserve.v1.Predictor/PredictStream',
      '/inference.GRPCInferenceService/ModelInfer',
      '/inference.GRPCInferenceService/ModelStreamInfer',
    ]);
  });

  it('checks the grpc-js it loads, which is a tested one, and refuses one that was not tested', async () => {
    expect(testedGrpcJsVersions).toContain(loadedGrpcJsVersion());
    const server = new Server(noChannelz);
    const port = await bound(server);
    expect(serveCallsDirectly(server, { ...options, grpcJsVersion: '1.14.8' })).toEqual({
      installed: false,
      reason: `grpc-js 1.14.8 is not a version the fast path was tested with (${testedGrpcJsVersions.join(', ')})`,
    });
    expect((await responseHeaders(port, '/test.Echo/Echo'))['date']).toBeDefined();
  });

  it('refuses before the server is bound', () => {
    expect(serveCallsDirectly(new Server(noChannelz), options)).toEqual({ installed: false, reason: 'the server is not bound yet (call after bindAsync)' });
  });

  it('refuses a server with interceptors, which then still run', async () => {
    let intercepted = 0;
    const counting: ServerInterceptor = (_method, call) => {
      intercepted++;
      return new ServerInterceptingCall(call);
    };
    const server = new Server({ ...noChannelz, interceptors: [counting] });
    const port = await bound(server);
    expect(serveCallsDirectly(server, options)).toEqual({ installed: false, reason: 'the server has 1 interceptor(s), which calls answered directly would skip' });
    expect(await echo(port, Buffer.from([4, 5]))).toEqual(Buffer.from([5, 4]));
    expect(intercepted).toBe(1);
  });

  it('refuses a server with channelz on (grpc-js’s default)', async () => {
    const server = new Server();
    await bound(server);
    expect(serveCallsDirectly(server, options)).toEqual({
      installed: false,
      reason: 'channelz is enabled (grpc.enable_channelz is not 0), and calls answered directly would not be counted in it',
    });
  });

  it('refuses credentials that carry interceptors', async () => {
    const server = new Server(noChannelz);
    const withInterceptor = experimental.createServerCredentialsWithInterceptors(ServerCredentials.createInsecure(), [(_method, call) => new ServerInterceptingCall(call)]);
    await bound(server, withInterceptor);
    const install = serveCallsDirectly(server, options);
    expect(install.installed).toBe(false);
    expect(!install.installed && install.reason).toMatch(/^the credentials bound to .+ carry interceptors, which calls answered directly would skip$/);
  });

  it('refuses to take over a method that is neither unary nor bidirectional', async () => {
    const server = new Server(noChannelz);
    await bound(server);
    expect(serveCallsDirectly(server, { ...limits, paths: ['/test.Echo/Repeat'] })).toEqual({
      installed: false,
      reason: '/test.Echo/Repeat is a serverStream method: the fast path serves unary and bidirectional ones',
    });
  });
});

describe('MODELSERVE_DIRECT_CALLS', () => {
  it('is on when unset, 1 or true, and off when 0 or false', () => {
    expect([{}, { MODELSERVE_DIRECT_CALLS: '1' }, { MODELSERVE_DIRECT_CALLS: 'true' }].map((env) => directCallsFromEnv(env))).toEqual([true, true, true]);
    expect([{ MODELSERVE_DIRECT_CALLS: '0' }, { MODELSERVE_DIRECT_CALLS: 'false' }].map((env) => directCallsFromEnv(env))).toEqual([false, false]);
  });

  it('refuses any other value, naming what it expects and what it got', () => {
    expect(() => directCallsFromEnv({ MODELSERVE_DIRECT_CALLS: 'off' })).toThrow('MODELSERVE_DIRECT_CALLS must be 0 or false (off), or 1 or true (on, the default); got "off"');
  });
});
