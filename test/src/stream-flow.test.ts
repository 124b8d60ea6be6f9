import { FakeBackend, gate } from '@modelserve/core/testing';
import type { NamedTensor } from '@modelserve/core';
import { afterEach, describe, expect, it } from 'vitest';
import { put } from './support/fixtures.js';
import { startTestServer, unary, type TestServer } from './support/server.js';
import { eventually } from './support/eventually.js';
import { collect } from './support/stream.js';
import { fp32, wire } from './support/tensors.js';
import { mkdtemp } from 'node:fs/promises';
import http2 from 'node:http2';
import { loadPackageDefinition } from '@grpc/grpc-js';
import { loadGrpcObject } from '@modelserve/proto';
import { tmpdir } from 'node:os';
import path from 'node:path';

// Flow control and cancellation are about what reaches the backend, so a scripted backend whose
// runs wait on a gate shows exactly which requests the server accepted and started.
async function gatedServer(maxInflightPerStream: number) {
  const root = await mkdtemp(path.join(tmpdir(), 'stream-flow-'));
  await put(root, 'slow/config.yaml', 'instances:\n  count: 64\nwarmup: false\n');
  await put(root, 'slow/1/model.onnx', '');
  await put(root, 'single/config.yaml', 'instances:\n  count: 1\nwarmup: false\n');
  await put(root, 'single/1/model.onnx', '');
  await put(root, 'big/config.yaml', 'warmup: false\n');
  await put(root, 'big/1/model.onnx', '');
  const held = gate();
  const signature = { inputs: [{ name: 'x', datatype: 'FP32' as const, shape: [-1] }], outputs: [{ name: 'y', datatype: 'FP32' as const, shape: [-1] }] };
  const backend = new FakeBackend((file) =>
    file.includes(`${path.sep}big${path.sep}`)
      ? // Answers at once with 256 KiB, so a client that does not read fills every buffer quickly.
        { signature, run: () => [{ name: 'y', datatype: 'FP32', shape: [65536], data: new Float32Array(65536) }] }
      : {
          signature,
          run: async (inputs: NamedTensor[]) => {
            await held.promise;
            return [{ ...inputs[0]!, name: 'y' }];
          },
        },
  );
  const server = await startTestServer({ modelRepository: root, backend, maxInflightPerStream });
  return { server, backend, release: held.open };
}

const x = (id: string, model = 'slow') => ({ id, model_name: model, inputs: [wire(fp32('x', [1], [1]))] });

/** A gRPC length-prefixed message: flag 0, 4-byte big-endian length, bytes. */
function frame(message: Buffer): Buffer {
  const header = Buffer.alloc(5);
  header.writeUInt32BE(message.length, 1);
  return Buffer.concat([header, message]);
}

/** Reads a gRPC response body to its end and counts the messages in it. */
async function countFrames(stream: http2.ClientHttp2Stream): Promise<number> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  const body = Buffer.concat(chunks);
  let count = 0;
  for (let at = 0; at < body.length; at += 5 + body.readUInt32BE(at + 1)) count++;
  return count;
}

let current: TestServer | undefined;
afterEach(async () => {
  await current?.close();
  current = undefined;
});

describe('PredictStream flow control', () => {
  it('stops reading at maxInflightPerStream requests in flight, and resumes as they finish', async () => {
    const { server, backend, release } = await gatedServer(8);
    current = server;
    const call = server.predictor.PredictStream();
    const done = collect(call);
    for (let i = 0; i < 50; i++) call.write(x(String(i)));
    call.end();
    await eventually(() => backend.runs.length === 8);
    await new Promise((r) => setTimeout(r, 100));
    expect(backend.runs.length).toBe(8);
    release();
    const { responses, error } = await done;
    expect(error).toBeUndefined();
    expect(new Set(responses.map((r) => r.id)).size).toBe(50);
  });

  it('stops reading while the client does not read its answers, and goes on when it does', async () => {
    const { server, backend } = await gatedServer(8);
    current = server;
    // A grpc-js client keeps reading even when paused, so a bare HTTP/2 client plays the slow reader.
    const session = http2.connect(`http://${server.server.address}`);
    const stream = session.request({ ':method': 'POST', ':path': '/modelserve.v1.Predictor/PredictStream', 'content-type': 'application/grpc', te: 'trailers' });
    stream.pause();
    const serialize = loadGrpcObject(loadPackageDefinition).modelserve.v1.Predictor.service.PredictStream.requestSerialize;
    for (let i = 0; i < 200; i++) stream.write(frame(serialize(x(String(i), 'big'))));
    stream.end();
    // Reading has begun (so the check below is not vacuous); then time for it to over-read, if it would.
    await eventually(() => backend.runs.length >= 8);
    await new Promise((r) => setTimeout(r, 300));
    // In flight (8) plus what the transport buffers (grpc-js's 16 messages and one HTTP/2 window).
    expect(backend.runs.length).toBeLessThan(40);
    const received = await countFrames(stream);
    session.close();
    expect(received).toBe(200);
    expect(backend.runs.length).toBe(200);
  });

  it('drops queued work when the client cancels', async () => {
    const { server, backend, release } = await gatedServer(64);
    current = server;
    const call = server.predictor.PredictStream();
    const done = collect(call);
    // `single` has one instance: the first request runs (held at the gate), the rest wait in its queue.
    for (let i = 0; i < 10; i++) call.write(x(String(i), 'single'));
    await eventually(() => backend.runs.length === 1);
    await new Promise((r) => setTimeout(r, 50)); // the other nine reach the queue (if not, they never run either)
    call.cancel();
    const { error } = await done;
    expect(error?.message).toMatch(/Cancelled/);
    // The client sees its own cancel at once. A call answered after it on the same connection shows
    // the server has read the RST_STREAM, which it reads in order, before that call's request.
    await unary((cb) => server.predictor.Predict(x('after', 'big'), cb));
    const single = () => server.server.registry.statistics('single')[0]!;
    const dropped = single().failureCount;
    release();
    // The held run is counted once it ends, after its instance took whatever was still queued.
    await eventually(() => single().requestCount === 1);
    expect(backend.runs.filter((r) => r.label.includes("'single'"))).toHaveLength(1);
    expect(single()).toMatchObject({ requestCount: 1, failureCount: dropped });
  });
});
