/**
 * modelserve answers its four inference methods itself, on grpc-js's HTTP/2 streams
 * (packages/server/src/direct-calls.ts). A client must not be able to tell: each case below is
 * sent as raw HTTP/2 frames to a server with the direct path and to one without it (grpc-js
 * answers everything), and the two answers are compared header by header and byte by byte. Both
 * servers name `directCalls` explicitly, so the suite proves the same under MODELSERVE_DIRECT_CALLS=0.
 */
import { spawn } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { loadPackageDefinition } from '@modelserve/proto';
import { connect, type ClientHttp2Session, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http2';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureRepository } from './support/fixtures.js';
import { startTestServer, type TestServer } from './support/server.js';
import { fp32, wire } from './support/tensors.js';

const maxMessageBytes = 4096;
let direct: TestServer;
let grpcJs: TestServer;
const sessions: ClientHttp2Session[] = [];

beforeAll(async () => {
  const repository = await fixtureRepository();
  direct = await startTestServer({ modelRepository: repository, maxMessageBytes, directCalls: true });
  grpcJs = await startTestServer({ modelRepository: repository, maxMessageBytes, directCalls: false });
});
afterAll(async () => {
  for (const session of sessions) session.close();
  await direct.close();
  await grpcJs.close();
});

type Method = { requestSerialize(value: object): Buffer; responseDeserialize(bytes: Buffer): unknown };
const predictor = loadPackageDefinition()['modelserve.v1.Predictor'] as unknown as Record<'Predict' | 'PredictStream', Method>;
const predictPath = '/modelserve.v1.Predictor/Predict';
const streamPath = '/modelserve.v1.Predictor/PredictStream';

const tinyRequest = (id = '') => ({ model_name: 'tiny_mlp', id, inputs: [wire(fp32('input', [1, 4], [0.1, 0.2, 0.3, 0.4]))] });

/** One gRPC message frame: flag, big-endian length, bytes. */
function frame(message: Buffer, flag = 0, length = message.length): Buffer {
  const head = Buffer.alloc(5);
  head[0] = flag;
  head.writeUInt32BE(length, 1);
  return Buffer.concat([head, message]);
}

interface RawAnswer {
  headers: IncomingHttpHeaders;
  trailers: IncomingHttpHeaders;
  body: Buffer;
  /** grpc-status and grpc-message, from the trailers or a trailers-only response. */
  status: number;
  message: string;
}

/** Posts `body` as one HTTP/2 request (in writes of `pieceBytes`, one per event-loop turn, when given) and collects what comes back. */
function rawCall(server: TestServer, path: string, body: Buffer, extra: OutgoingHttpHeaders = {}, pieceBytes?: number): Promise<RawAnswer> {
  const session = connect(`http://${server.server.address}`);
  sessions.push(session);
  return new Promise((resolve, reject) => {
    const request = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers', ...extra });
    let headers: IncomingHttpHeaders = {};
    let trailers: IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    request.on('response', (h) => (headers = h));
    request.on('trailers', (t) => (trailers = t));
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('error', reject);
    request.on('close', () => {
      const status = trailers['grpc-status'] ?? headers['grpc-status'];
      const message = trailers['grpc-message'] ?? headers['grpc-message'] ?? '';
      resolve({ headers, trailers, body: Buffer.concat(chunks), status: Number(status), message: decodeURIComponent(String(message)) });
    });
    if (pieceBytes === undefined) {
      request.end(body);
      return;
    }
    const writePiece = (at: number): void => {
      if (at >= body.length) {
        request.end();
        return;
      }
      request.write(body.subarray(at, at + pieceBytes));
      setImmediate(() => writePiece(at + pieceBytes));
    };
    writePiece(0);
  });
}

/** The PredictStream responses framed in `body`. */
function streamResponses(body: Buffer): Array<{ id: string; response?: object | null }> {
  const responses: Array<{ id: string; response?: object | null }> = [];
  for (let at = 0; at < body.length; ) {
    const length = body.readUInt32BE(at + 1);
    responses.push(predictor.PredictStream.responseDeserialize(body.subarray(at + 5, at + 5 + length)) as { id: string; response?: object | null });
    at += 5 + length;
  }
  return responses;
}

/** What a client can see, without what differs between any two answers (stream ids; `date`, which only grpc-js sends). */
function visible(answer: RawAnswer): object {
  const strip = (h: IncomingHttpHeaders) => Object.fromEntries(Object.entries(h).filter(([k]) => k !== 'date'));
  return { headers: strip(answer.headers), trailers: strip(answer.trailers), body: answer.body.toString('hex') };
}

/** The same call to both servers. */
async function both(path: string, body: Buffer, extra: OutgoingHttpHeaders = {}): Promise<[RawAnswer, RawAnswer]> {
  return [await rawCall(direct, path, body, extra), await rawCall(grpcJs, path, body, extra)];
}

describe('calls answered directly', () => {
  it('is on with directCalls: true and off with directCalls: false', () => {
    expect(direct.server.directCalls).toBe(true);
    expect(grpcJs.server.directCalls).toBe(false);
  });

  const unaryCases: Array<[string, () => Buffer, OutgoingHttpHeaders, number]> = [
    ['a valid Predict', () => frame(predictor.Predict.requestSerialize(tinyRequest('a'))), {}, 0],
    ['a request that is not protobuf', () => frame(Buffer.from([0xff, 0xff, 0xff])), {}, 3],
    ['a request for an unknown model', () => frame(predictor.Predict.requestSerialize({ model_name: 'nope' })), {}, 5],
    ['no request message', () => Buffer.alloc(0), {}, 12],
    ['two request messages', () => Buffer.concat([frame(predictor.Predict.requestSerialize(tinyRequest())), frame(predictor.Predict.requestSerialize(tinyRequest()))]), {}, 12],
    ['a message over the size limit', () => frame(Buffer.alloc(maxMessageBytes + 1)), {}, 8],
    ['a grpc-timeout that does not parse', () => frame(predictor.Predict.requestSerialize(tinyRequest())), { 'grpc-timeout': 'soon' }, 13],
    ['a deadline that has passed', () => frame(predictor.Predict.requestSerialize(tinyRequest())), { 'grpc-timeout': '1n' }, 4],
    ['a gzip-compressed request (left to grpc-js)', () => frame(gzipSync(predictor.Predict.requestSerialize(tinyRequest('z'))), 1), { 'grpc-encoding': 'gzip' }, 0],
  ];
  for (const [what, body, extra, code] of unaryCases) {
    it(`answers ${what} exactly as grpc-js does (status ${code})`, async () => {
      const [fromDirect, fromGrpcJs] = await both(predictPath, body(), extra);
      expect(fromDirect.status, fromDirect.message).toBe(code);
      expect(visible(fromDirect)).toEqual(visible(fromGrpcJs));
      // gRPC needs no date header (grpc-go and gRPC C++ send none); what grpc-js answers has Node's.
      const directlyAnswered = !what.includes('left to grpc-js');
      expect(fromDirect.headers['date'] === undefined).toBe(directlyAnswered);
      expect(fromGrpcJs.headers['date']).toBeDefined();
    });
  }

  it('leaves every other method to grpc-js (it sends a date header): Open Inference Protocol metadata, admin, health, reflection', async () => {
    const empty = frame(Buffer.alloc(0));
    const paths = [
      '/inference.GRPCInferenceService/ServerReady',
      '/inference.GRPCInferenceService/ModelReady',
      '/inference.GRPCInferenceService/ModelMetadata',
      '/modelserve.v1.ModelAdmin/ListModels',
      '/grpc.health.v1.Health/Check',
      '/grpc.health.v1.Health/List',
      '/grpc.reflection.v1.ServerReflection/ServerReflectionInfo',
    ];
    for (const path of paths) {
      const [fromDirect, fromGrpcJs] = await both(path, empty);
      expect(Number.isInteger(fromDirect.status), path).toBe(true);
      expect(visible(fromDirect), path).toEqual(visible(fromGrpcJs));
      expect(fromDirect.headers['date'], path).toBeDefined();
    }
  });

  it('answers the four inference methods itself (no date header)', async () => {
    const paths = [predictPath, streamPath, '/inference.GRPCInferenceService/ModelInfer', '/inference.GRPCInferenceService/ModelStreamInfer'];
    for (const path of paths) {
      const answer = await rawCall(direct, path, frame(Buffer.alloc(0)));
      expect(Number.isInteger(answer.status), path).toBe(true);
      expect(answer.headers['date'], path).toBeUndefined();
    }
  });

  it('says precisely what is wrong with a truncated message (grpc-js: "no request message") or a compressed flag without grpc-encoding (grpc-js: reads it as uncompressed)', async () => {
    const whole = frame(predictor.Predict.requestSerialize(tinyRequest()));
    const [fromDirect, fromGrpcJs] = await both(predictPath, whole.subarray(0, whole.length - 7));
    expect([fromDirect.status, fromDirect.message]).toEqual([3, `truncated gRPC message: its header announces ${whole.length - 5} bytes, got ${whole.length - 12}`]);
    expect(fromGrpcJs.status).toBe(12);
    const header = await rawCall(direct, predictPath, whole.subarray(0, 3));
    expect([header.status, header.message]).toEqual([3, 'truncated gRPC message: expected a 5-byte message header, got 3 bytes']);
    const flagged = await rawCall(direct, predictPath, frame(predictor.Predict.requestSerialize(tinyRequest()), 1));
    expect([flagged.status, flagged.message]).toEqual([3, 'a request message is flagged compressed (flag 1) but the call sends no grpc-encoding: expected flag 0, or a grpc-encoding header']);
  });

  it('answers a PredictStream of several messages in one write as grpc-js does, every id once', async () => {
    const body = Buffer.concat(['1', '2', '3', '4'].map((id) => frame(predictor.PredictStream.requestSerialize(tinyRequest(id)))));
    const [fromDirect, fromGrpcJs] = await both(streamPath, body);
    for (const answer of [fromDirect, fromGrpcJs]) {
      expect(answer.status, answer.message).toBe(0);
      expect(answer.headers).toMatchObject({ ':status': 200, 'content-type': 'application/grpc+proto' });
      const responses = streamResponses(answer.body);
      expect(responses.every((r) => r.response !== undefined && r.response !== null)).toBe(true);
      expect(responses.map((r) => r.id).sort()).toEqual(['1', '2', '3', '4']);
    }
    const { headers, trailers } = visible(fromGrpcJs) as { headers: object; trailers: object };
    expect(visible(fromDirect)).toMatchObject({ headers, trailers });
  });

  it('reads PredictStream messages that arrive in pieces of a few bytes', async () => {
    const body = Buffer.concat(['1', '2', '3'].map((id) => frame(predictor.PredictStream.requestSerialize(tinyRequest(id)))));
    const answer = await rawCall(direct, streamPath, body, {}, 7);
    expect(answer.status, answer.message).toBe(0);
    expect(streamResponses(answer.body).map((r) => r.id).sort()).toEqual(['1', '2', '3']);
  });

  it('ends a PredictStream with RESOURCE_EXHAUSTED for a message over the limit, as grpc-js does', async () => {
    const body = Buffer.concat([frame(predictor.PredictStream.requestSerialize(tinyRequest('1'))), frame(Buffer.alloc(maxMessageBytes + 1))]);
    const [fromDirect, fromGrpcJs] = await both(streamPath, body);
    expect(fromDirect.status).toBe(8);
    expect(fromDirect.message).toBe(fromGrpcJs.message);
    expect(fromDirect.message).toBe(`Received message larger than max (${maxMessageBytes + 1} vs ${maxMessageBytes})`);
  });

  it('ends a PredictStream that stops inside a message with INVALID_ARGUMENT, saying so', async () => {
    const whole = frame(predictor.PredictStream.requestSerialize(tinyRequest('1')));
    const answer = await rawCall(direct, streamPath, Buffer.concat([whole, whole.subarray(0, 9)]));
    expect([answer.status, answer.message]).toEqual([3, `truncated gRPC message: the stream ended 9 bytes into a message of ${whole.length} (its 5-byte header included)`]);
  });
});

describe('switching calls answered directly off', () => {
  /** Starts a server without naming `directCalls`, with MODELSERVE_DIRECT_CALLS set to `value` (or unset) meanwhile. */
  async function startWithEnv(value: string | undefined): Promise<TestServer> {
    const before = process.env['MODELSERVE_DIRECT_CALLS'];
    if (value === undefined) delete process.env['MODELSERVE_DIRECT_CALLS'];
    else process.env['MODELSERVE_DIRECT_CALLS'] = value;
    try {
      return await startTestServer({ modelRepository: await mkdtemp(path.join(tmpdir(), 'modelserve-direct-')) });
    } finally {
      if (before === undefined) delete process.env['MODELSERVE_DIRECT_CALLS'];
      else process.env['MODELSERVE_DIRECT_CALLS'] = before;
    }
  }

  it('follows MODELSERVE_DIRECT_CALLS when the options do not say (0 and false: off; 1, true and unset: on)', async () => {
    const started: Array<[string | undefined, boolean]> = [];
    for (const value of ['0', 'false', '1', 'true', undefined]) {
      const server = await startWithEnv(value);
      started.push([value, server.server.directCalls]);
      await server.close();
    }
    expect(started).toEqual([
      ['0', false],
      ['false', false],
      ['1', true],
      ['true', true],
      [undefined, true],
    ]);
  });

  it('refuses to start with any other MODELSERVE_DIRECT_CALLS, naming what it expects', async () => {
    await expect(startWithEnv('no')).rejects.toThrow('MODELSERVE_DIRECT_CALLS must be 0 or false (off), or 1 or true (on, the default); got "no"');
  });

  /** The `directCalls` field of `modelserve serve`'s "listening" log line, with `args` and `env`. */
  async function cliDirectCalls(args: string[], env: NodeJS.ProcessEnv): Promise<unknown> {
    const cli = path.join(path.dirname(createRequire(import.meta.url).resolve('@modelserve/cli')), 'cli.js');
    const repository = await mkdtemp(path.join(tmpdir(), 'modelserve-direct-cli-'));
    const child = spawn(process.execPath, [cli, 'serve', '--host', '127.0.0.1', '--port', '0', '--model-repository', repository, ...args], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, ...env },
    });
    try {
      return await new Promise((resolve, reject) => {
        child.once('exit', (code) => reject(new Error(`modelserve serve exited with code ${code}`)));
        createInterface({ input: child.stdout! }).on('line', (line) => {
          const entry = JSON.parse(line) as Record<string, unknown>;
          if (entry['msg'] === 'modelserve listening') resolve(entry['directCalls']);
        });
      });
    } finally {
      child.kill('SIGKILL');
    }
  }

  it('is off with `modelserve serve --no-direct-calls`, whatever the environment says, and follows the environment otherwise', async () => {
    expect(await cliDirectCalls(['--no-direct-calls'], { MODELSERVE_DIRECT_CALLS: '1' })).toBe(false);
    expect(await cliDirectCalls([], { MODELSERVE_DIRECT_CALLS: '0' })).toBe(false);
    expect(await cliDirectCalls([], { MODELSERVE_DIRECT_CALLS: '1' })).toBe(true);
  }, 60_000);
});
