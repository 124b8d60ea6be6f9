/**
 * The floor (a forked process, `pnpm bench:floor`): the least a Node server on this stack does to
 * serve `Predict` from a worker thread, to measure what batching can gain over one run per request
 * when nothing but the transport and the worker round trip costs anything. `node:http2` with no
 * gRPC library, no validation, deadlines, cancellation or statistics: the request's first input is
 * read with predict-wire, requests wait in an array, and each idle worker takes either all of
 * them (up to 64, `batched`; from 16 on, sent as two halves so that the loop answers the first while
 * the second computes, as modelserve's split_batches_from does) or one; answers are written with
 * predict-wire.
 * Arguments: the model file, `batched` or `unbatched`, the worker count, the input's sample dims.
 */
import http2 from 'node:http2';
import { Worker } from 'node:worker_threads';
import { parsePredictRequest, serializePredictResponse } from '@modelserve/proto';
import { ServerStatsRecorder } from '@modelserve/server';
import { exitWithParent } from './children.js';
import type { FloorRun } from './floor-worker.js';
import { grpcFrame } from './h2load.js';
import type { ListeningMessage } from './server-listen.js';

const [modelFile = '', mode = 'batched', workerCount = '1', ...dims] = process.argv.slice(2);
const sampleDims = dims.map(Number);
const sampleSize = sampleDims.reduce((a, b) => a * b, 1);
const maxBatch = mode === 'batched' ? 64 : 1;

interface Waiting {
  stream: http2.ServerHttp2Stream;
  input: Uint8Array;
  model: string;
}

interface FloorWorker {
  worker: Worker;
  /** The runs sent and not yet answered, in order; the worker takes more once none is left. */
  running: Waiting[][];
}

const queue: Waiting[] = [];
const workers: FloorWorker[] = [];
for (let i = 0; i < Number(workerCount); i++) {
  const worker = new Worker(new URL('./floor-worker.js', import.meta.url), { workerData: { modelFile, sampleDims } });
  await new Promise((resolve) => worker.once('message', resolve));
  const entry: FloorWorker = { worker, running: [] };
  worker.on('message', (outputs: Float32Array) => answer(entry, outputs));
  workers.push(entry);
}

function dispatch(): void {
  for (const entry of workers) {
    if (entry.running.length > 0 || queue.length === 0) continue;
    const batch = queue.splice(0, maxBatch);
    const parts = batch.length >= 16 ? [batch.slice(0, batch.length >> 1), batch.slice(batch.length >> 1)] : [batch];
    for (const part of parts) {
      const input = new Uint8Array(part.length * sampleSize * 4);
      part.forEach((w, i) => input.set(w.input, i * sampleSize * 4));
      entry.running.push(part);
      entry.worker.postMessage({ input: input.buffer, count: part.length } satisfies FloorRun, [input.buffer]);
    }
  }
}

const headers = { ':status': 200, 'content-type': 'application/grpc' };
const trailers = { 'grpc-status': '0' };
// No date header, like modelserve's (Node's types omit the option respond() reads).
const respondOptions = { waitForTrailers: true, sendDate: false };
function sendTrailers(this: http2.ServerHttp2Stream): void {
  this.sendTrailers(trailers);
}

function answer(entry: FloorWorker, outputs: Float32Array): void {
  const batch = entry.running.shift()!;
  dispatch();
  const width = outputs.length / batch.length;
  batch.forEach((w, i) => {
    if (w.stream.destroyed) return;
    const row = outputs.subarray(i * width, (i + 1) * width);
    const raw = Buffer.from(row.buffer, row.byteOffset, row.byteLength);
    const message = serializePredictResponse({ model_name: w.model, model_version: '1', id: '', outputs: [{ name: 'output', datatype: 'FP32', shape: [1, width], raw_contents: raw }] })!;
    w.stream.respond(headers, respondOptions);
    w.stream.once('wantTrailers', sendTrailers);
    w.stream.end(grpcFrame(message));
  });
}

const server = http2.createServer();
server.on('stream', (stream) => {
  const chunks: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  stream.on('end', () => {
    const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
    const request = parsePredictRequest(body.subarray(5));
    const input = request?.inputs[0]?.raw_contents;
    if (request === undefined || input === undefined || input.byteLength !== sampleSize * 4) {
      stream.respond({ ...headers, 'grpc-status': '3', 'grpc-message': 'expected one raw FP32 sample' }, { endStream: true });
      return;
    }
    queue.push({ stream, input, model: request.model_name });
    dispatch();
  });
  stream.on('error', () => undefined);
});
// The event loop's delay, read as modelserve reads its own: the parent sends 'reset' when its window
// starts and 'read' when it ends.
const stats = new ServerStatsRecorder();
process.on('message', (message) => {
  if (message === 'reset') stats.read(true);
  if (message === 'read') process.send?.({ type: 'loop', p99Ms: Number(stats.read(false).event_loop_delay_p99_ms) } satisfies FloorLoopMessage);
});

/** The floor's event-loop delay p99 over the parent's window. */
export interface FloorLoopMessage {
  type: 'loop';
  p99Ms: number;
}

exitWithParent();
server.listen(0, '127.0.0.1', () => {
  process.send?.({ type: 'listening', port: (server.address() as { port: number }).port } satisfies ListeningMessage);
});
