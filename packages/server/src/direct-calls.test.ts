import { credentials, makeGenericClientConstructor, Server, ServerCredentials, ServerInterceptingCall, type ServerInterceptor, type ServiceDefinition } from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { serveCallsDirectly } from './direct-calls.js';

/** A one-method service on raw bytes: Echo answers its request reversed. */
const echoService: ServiceDefinition = {
  Echo: {
    path: '/test.Echo/Echo',
    requestStream: false,
    responseStream: false,
    requestSerialize: (b: Buffer) => b,
    requestDeserialize: (b: Buffer) => b,
    responseSerialize: (b: Buffer) => b,
    responseDeserialize: (b: Buffer) => b,
  },
};
const options = { maxReceiveMessageBytes: 1024, maxSendMessageBytes: 1024, bidiPaths: [] };
const servers: Server[] = [];

async function bound(server: Server): Promise<number> {
  server.addService(echoService, { Echo: (call: { request: Buffer }, callback: (e: null, v: Buffer) => void) => callback(null, Buffer.from(call.request).reverse()) });
  servers.push(server);
  return new Promise((resolve, reject) => server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, port) => (error ? reject(error) : resolve(port))));
}

function echo(port: number, bytes: Buffer): Promise<Buffer> {
  const Client = makeGenericClientConstructor(echoService, 'Echo');
  const client = new Client(`127.0.0.1:${port}`, credentials.createInsecure()) as unknown as { Echo(b: Buffer, cb: (e: Error | null, v?: Buffer) => void): void; close(): void };
  return new Promise((resolve, reject) =>
    client.Echo(bytes, (error, value) => {
      client.close();
      if (error) reject(error);
      else resolve(value!);
    }),
  );
}

afterEach(() => {
  for (const server of servers.splice(0)) server.forceShutdown();
});

describe('serveCallsDirectly', () => {
  it('takes over a bound grpc-js server, whose calls then answer the same', async () => {
    const server = new Server();
    const port = await bound(server);
    expect(serveCallsDirectly(server, options)).toBe(true);
    expect(await echo(port, Buffer.from([1, 2, 3]))).toEqual(Buffer.from([3, 2, 1]));
  });

  it('changes nothing before the server is bound, or when it has interceptors the direct path would skip', async () => {
    expect(serveCallsDirectly(new Server(), options)).toBe(false);
    let intercepted = 0;
    const counting: ServerInterceptor = (_method, call) => {
      intercepted++;
      return new ServerInterceptingCall(call);
    };
    const server = new Server({ interceptors: [counting] });
    const port = await bound(server);
    expect(serveCallsDirectly(server, options)).toBe(false);
    expect(await echo(port, Buffer.from([4, 5]))).toEqual(Buffer.from([5, 4]));
    expect(intercepted).toBe(1);
  });
});
