/**
 * Hostile input, bounded in time and count: random bytes, mutated valid messages and random
 * well-formed requests to every unary RPC, random bytes to health and reflection, and malformed
 * gRPC frames on raw HTTP/2. The server must answer every call with a status (INVALID_ARGUMENT for
 * a request that does not decode), stay healthy and keep its memory bounded.
 */
import { connect, constants } from 'node:http2';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Client, credentials, status } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { protoPath as healthProtoPath } from 'grpc-health-check';
import { loadPackageDefinition } from '@modelserve/proto';
import { rawBidi, rawServerStream, rawUnary } from '@modelserve/server/testing';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureRepository } from './support/fixtures.js';
import { startTestServer, unary, type TestServer } from './support/server.js';
import { fp32, sampleValues, wire } from './support/tensors.js';

let t: TestServer;
let raw: Client;
beforeAll(async () => {
  // With an admin token, as a server exposed to untrusted callers runs: random bytes that happen to
  // decode as Drain or UnloadModel are refused instead of draining the server under test.
  t = await startTestServer({ modelRepository: await fixtureRepository(), auth: { adminToken: 'fuzz-admin-token' } });
  raw = new Client(t.server.address, credentials.createInsecure());
}, 60_000);
afterAll(async () => {
  raw.close();
  await t.close();
});

interface MethodDef {
  path: string;
  requestStream: boolean;
  responseStream: boolean;
  requestSerialize(value: object): Buffer;
}
const definition = loadPackageDefinition() as unknown as Record<string, Record<string, MethodDef>>;
const services = ['modelserve.v1.Predictor', 'modelserve.v1.ModelAdmin', 'inference.GRPCInferenceService'];
const unaryMethods = services.flatMap((s) => Object.values(definition[s]!).filter((m) => !m.requestStream && !m.responseStream));
// Raw bytes to the server, each call bounded by a 10 s deadline.
const sendBytes = (path: string, bytes: Buffer): Promise<number> => rawUnary(raw, path, bytes, { timeoutMs: 10_000 });
const sendBytesStreamed = (path: string, bytes: Buffer): Promise<number> => rawServerStream(raw, path, bytes, { timeoutMs: 10_000 });
const sendBytesBidi = (path: string, messages: Buffer[]) => rawBidi(raw, path, messages, { timeoutMs: 10_000 });

/** Whether protobuf can decode `bytes` as the request of `method` (the server's own view, from the same .proto). */
type Decodes = (bytes: Buffer) => boolean;
function decoder(protoFile: string, service: string, method: string): Decodes {
  const loaded = loadSync(protoFile, { keepCase: true }) as unknown as Record<string, Record<string, { requestDeserialize(b: Buffer): unknown }>>;
  const deserialize = loaded[service]![method]!.requestDeserialize;
  return (bytes) => {
    try {
      deserialize(bytes);
      return true;
    } catch {
      return false;
    }
  };
}
const reflectionProto = (version: string): string =>
  path.join(path.dirname(createRequire(import.meta.url).resolve('@grpc/reflection/package.json')), `build/proto/grpc/reflection/${version}/reflection.proto`);
const healthDecodes = decoder(healthProtoPath, 'grpc.health.v1.Health', 'Check');
const reflectionDecodes = decoder(reflectionProto('v1'), 'grpc.reflection.v1.ServerReflection', 'ServerReflectionInfo');

const valid = definition['modelserve.v1.Predictor']!['Predict']!.requestSerialize({
  model_name: 'mnist_mlp',
  inputs: [wire(fp32('input', [1, 784], sampleValues(784, 1)))],
});

describe('hostile input', () => {
  it('answers random bytes, mutated messages and random requests to every unary RPC with a status, and stays healthy', async () => {
    const rssBefore = process.memoryUsage().rss;
    const statuses = new Map<number, number>();
    let tried = 0;
    const record = (code: number): void => {
      tried++;
      statuses.set(code, (statuses.get(code) ?? 0) + 1);
    };
    const until = Date.now() + 15_000;
    // Random bytes to every unary method.
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...unaryMethods), fc.uint8Array({ maxLength: 512 }), async (method, bytes) => {
        record(await sendBytes(method.path, Buffer.from(bytes)));
      }),
      { numRuns: 400, interruptAfterTimeLimit: Math.max(1000, until - Date.now()), seed: 20261124 },
    );
    // A valid Predict request with bytes flipped, cut or appended.
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.nat({ max: valid.length - 1 }), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
        fc.nat({ max: valid.length }),
        fc.uint8Array({ maxLength: 64 }),
        async (flips, cut, tail) => {
          const bytes = Buffer.concat([Buffer.from(valid.subarray(0, cut)), Buffer.from(tail)]);
          for (const [at, value] of flips) if (at < bytes.length) bytes[at] = value;
          record(await sendBytes('/modelserve.v1.Predictor/Predict', bytes));
        },
      ),
      { numRuns: 400, interruptAfterTimeLimit: Math.max(1000, until - Date.now()), seed: 7 },
    );
    // Well-formed requests with random datatypes, shapes and contents.
    const tensor = fc.record({
      name: fc.oneof(fc.constant('input'), fc.string({ maxLength: 20 })),
      datatype: fc.oneof(fc.constantFrom('FP32', 'INT64', 'BYTES', 'BOOL', 'FP16', 'BF16', 'UINT64'), fc.string({ maxLength: 8 })),
      shape: fc.array(fc.oneof(fc.integer({ min: -3, max: 1000 }), fc.constantFrom(2 ** 31, 2 ** 53, -(2 ** 40))), { maxLength: 8 }).map((s) => s.map(String)),
      raw_contents: fc.uint8Array({ maxLength: 256 }).map((b) => Buffer.from(b)),
      contents: fc.record({ fp32_contents: fc.array(fc.float(), { maxLength: 64 }), int64_contents: fc.array(fc.bigInt().map(String), { maxLength: 8 }) }),
    });
    const serialize = definition['modelserve.v1.Predictor']!['Predict']!.requestSerialize;
    await fc.assert(
      fc.asyncProperty(
        fc.record({ model_name: fc.constantFrom('mnist_mlp', 'tiny_mlp', 'datatypes', 'any_rank', 'multi_io', '', '../x'), inputs: fc.array(tensor, { maxLength: 4 }), outputs: fc.array(fc.string({ maxLength: 10 }), { maxLength: 3 }) }),
        async (request) => {
          let bytes: Buffer;
          try {
            bytes = serialize(request);
          } catch {
            return; // not encodable (e.g. an int64 beyond range): nothing reaches the server
          }
          record(await sendBytes('/modelserve.v1.Predictor/Predict', bytes));
        },
      ),
      { numRuns: 400, interruptAfterTimeLimit: Math.max(1000, until - Date.now()), seed: 11 },
    );
    console.info(`fuzz: ${tried} inputs, statuses ${JSON.stringify(Object.fromEntries([...statuses].sort((a, b) => a[0] - b[0])))}`);
    expect(tried).toBeGreaterThan(300);
    // Bad input is the caller's fault: never INTERNAL (13) or UNKNOWN (2).
    expect([statuses.get(13) ?? 0, statuses.get(2) ?? 0]).toEqual([0, 0]);
    // Still serving, and memory bounded.
    const ok = await unary((cb) => t.predictor.Predict({ model_name: 'mnist_mlp', inputs: [wire(fp32('input', [1, 784], sampleValues(784, 2)))] }, cb));
    expect(ok).toBeDefined();
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(300 * 1024 * 1024);
  }, 60_000);

  it('answers random bytes to health Check, List and Watch and to reflection (v1, v1alpha) with INVALID_ARGUMENT when they do not decode', async () => {
    const targets: Array<{ name: string; decodes: Decodes; send(bytes: Buffer): Promise<number> }> = [
      { name: 'Health/Check', decodes: healthDecodes, send: (b) => sendBytes('/grpc.health.v1.Health/Check', b) },
      // List's request (HealthListRequest) has no fields: protobuf decodes the same bytes the same way as far as validity goes.
      { name: 'Health/List', decodes: healthDecodes, send: (b) => sendBytes('/grpc.health.v1.Health/List', b) },
      { name: 'Health/Watch', decodes: healthDecodes, send: (b) => sendBytesStreamed('/grpc.health.v1.Health/Watch', b) },
      ...['v1', 'v1alpha'].map((version) => ({
        name: `reflection ${version}`,
        decodes: reflectionDecodes,
        send: async (b: Buffer) => (await sendBytesBidi(`/grpc.reflection.${version}.ServerReflection/ServerReflectionInfo`, [b])).code,
      })),
    ];
    const malformed = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...targets), fc.uint8Array({ minLength: 1, maxLength: 256 }), async (target, array) => {
        const bytes = Buffer.from(array);
        const code = await target.send(bytes);
        if (target.decodes(bytes)) {
          // A request that decodes is answered as the service answers it: never as the server's fault.
          expect([status.INTERNAL, status.UNKNOWN], `${target.name} ${bytes.toString('hex')}`).not.toContain(code);
        } else {
          malformed.set(target.name, (malformed.get(target.name) ?? 0) + 1);
          expect(code, `${target.name} ${bytes.toString('hex')}`).toBe(status.INVALID_ARGUMENT);
        }
      }),
      { numRuns: 500, seed: 20261205 },
    );
    // Most random bytes do not decode: every target was sent many that do not.
    expect(targets.map((t) => (malformed.get(t.name) ?? 0) > 20)).toEqual(targets.map(() => true));
  }, 60_000);

  it('ends a reflection stream with INVALID_ARGUMENT at its first malformed message, after answering the good ones', async () => {
    const good = Buffer.from([0x3a, 0x01, 0x2a]); // list_services: "*"
    expect(reflectionDecodes(good)).toBe(true);
    const bad = Buffer.from([0xff, 0xff, 0xff]);
    expect(reflectionDecodes(bad)).toBe(false);
    for (const version of ['v1', 'v1alpha']) {
      const answer = await sendBytesBidi(`/grpc.reflection.${version}.ServerReflection/ServerReflectionInfo`, [good, bad, good]);
      expect(answer, version).toEqual({ code: status.INVALID_ARGUMENT, answers: 1 });
    }
  });

  it('answers malformed gRPC frames on raw HTTP/2 with a status', async () => {
    const session = connect(`http://${t.server.address}`);
    const frames = [
      Buffer.from([0, 0, 0, 0, 9, 1, 2]), // length says 9, 2 bytes follow
      Buffer.from([1, 0, 0, 0, 2, 1, 2]), // compressed flag without grpc-encoding
      Buffer.from([0, 0xff, 0xff, 0xff, 0xff]), // 4 GiB message length
      Buffer.from([7]), // a lone byte
    ];
    try {
      for (const frame of frames) {
        const status = await new Promise<string>((resolve, reject) => {
          const stream = session.request({
            [constants.HTTP2_HEADER_METHOD]: 'POST',
            [constants.HTTP2_HEADER_PATH]: '/modelserve.v1.Predictor/Predict',
            'content-type': 'application/grpc',
            te: 'trailers',
          });
          let code: string | undefined;
          stream.on('response', (headers) => (code = headers['grpc-status'] as string | undefined));
          stream.on('trailers', (trailers) => (code = trailers['grpc-status'] as string | undefined));
          stream.on('close', () => (code === undefined ? reject(new Error('closed without a grpc-status')) : resolve(code)));
          stream.on('error', reject);
          stream.resume();
          stream.end(frame);
        });
        // A status, and the caller's fault: not INTERNAL (13) or UNKNOWN (2).
        expect(Number(status), frame.toString('hex')).toBeGreaterThan(0);
        expect([2, 13], frame.toString('hex')).not.toContain(Number(status));
      }
    } finally {
      session.close();
    }
    const ok = await unary((cb) => t.predictor.Predict({ model_name: 'tiny_mlp', inputs: [wire(fp32('input', [1, 4], [1, 2, 3, 4]))] }, cb));
    expect(ok).toBeDefined();
  });
});
