import { Metadata, status, type ServerDuplexStream } from '@grpc/grpc-js';
import type { PredictRequest__Output, PredictStreamResponse } from '@modelserve/proto';
import { afterEach, describe, expect, it } from 'vitest';
import { openPredictStream } from './client-rpc.js';
import { Endpoint } from './endpoint.js';
import { reopeningStream, type StreamHost } from './stream-reopen.js';
import { answerOf, eventually, startServer, type TestServer } from './testing/servers.js';
import type { StreamOptions, StreamRequest, StreamResult } from './types.js';

type StreamCall = ServerDuplexStream<PredictRequest__Output, PredictStreamResponse>;

const servers: TestServer[] = [];
const endpoints: Endpoint[] = [];
afterEach(() => {
  for (const e of endpoints.splice(0)) e.close();
  for (const s of servers.splice(0)) s.stop();
});

/**
 * A PredictStream server; `received` lists the ids it was sent, in order. It ends the call when the
 * client half-closes, unless `endOnHalfClose` is false (for handlers that answer later).
 */
async function streamServer(onRequest: (call: StreamCall, request: PredictRequest__Output) => void, endOnHalfClose = true): Promise<TestServer & { received: string[] }> {
  const received: string[] = [];
  const s = await startServer({
    predictor: {
      predictStream: (call) => {
        call.on('data', (request: PredictRequest__Output) => {
          received.push(request.id);
          onRequest(call, request);
        });
        if (endOnHalfClose) call.on('end', () => call.end());
      },
    },
  });
  servers.push(s);
  return Object.assign(s, { received });
}

const answer = (call: StreamCall, request: PredictRequest__Output) => call.write({ id: request.id, response: answerOf(request, [Number(request.id)]) });

/** A host over `servers` in order: each stream attempt takes the next one not tried; UNAVAILABLE is retried. */
function hostOver(...targets: TestServer[]): StreamHost {
  const list = targets.map((s) => new Endpoint(s.address, 1, { healthCheck: false, onChange: () => undefined }));
  endpoints.push(...list);
  return {
    pick: async (_deadline, tried) => list.find((e) => !tried.has(e)) ?? list[0]!,
    open: (endpoint, deadline) => openPredictStream(endpoint, new Metadata(), deadline),
    finished: (endpoint, startedAt, error) => endpoint.finished(performance.now() - startedAt, error !== undefined),
    mayRetry: (error, attempt) => error.code === status.UNAVAILABLE && attempt < 3,
  };
}

const requests = (n: number): StreamRequest[] => Array.from({ length: n }, () => ({ inputs: { x: new Float32Array([1]) } }));

async function collect(host: StreamHost, input: Iterable<StreamRequest> | AsyncIterable<StreamRequest>, options: StreamOptions = {}): Promise<StreamResult[]> {
  const results: StreamResult[] = [];
  for await (const r of reopeningStream(host, 'm', input, options)) results.push(r);
  return results;
}

const byId = (results: StreamResult[]) => [...results].sort((x, y) => Number(x.id) - Number(y.id));
const summary = (r: StreamResult) => (r.ok ? { id: r.id, ok: true, endpoint: r.endpoint } : { id: r.id, ok: false, code: r.error.code });

describe('predictStream re-opening', { timeout: 30_000 }, () => {
  it('answers every request once when nothing breaks, ids defaulting to positions', async () => {
    const a = await streamServer(answer);
    const results = await collect(hostOver(a), requests(20));
    expect(byId(results).map(summary)).toEqual(Array.from({ length: 20 }, (_, i) => ({ id: String(i), ok: true, endpoint: a.address })));
    expect(results.every((r) => r.ok && Array.from(r.outputs['y']!.data as Float32Array)[0] === Number(r.id))).toBe(true);
  });

  it('re-opens on another endpoint when the stream breaks, and re-sends only what was unanswered', async () => {
    const a = await streamServer((call, request) => {
      if (Number(request.id) < 5) answer(call, request);
      else if (request.id === '7') call.emit('error', { code: status.UNAVAILABLE, details: 'replica going away' });
    });
    const b = await streamServer(answer);
    const results = await collect(hostOver(a, b), requests(10));
    expect(byId(results).map(summary)).toEqual(Array.from({ length: 10 }, (_, i) => ({ id: String(i), ok: true, endpoint: i < 5 ? a.address : b.address })));
    expect([...b.received].sort()).toEqual(['5', '6', '7', '8', '9']);
  });

  it('fails what is unanswered with UNAVAILABLE when the server ends the stream early', async () => {
    const a = await streamServer((call) => {
      call.end();
    });
    const results = await collect(hostOver(a), requests(1));
    expect(results).toMatchObject([{ ok: false, id: '0', error: { code: status.UNAVAILABLE, details: 'the stream ended with 1 requests unanswered' } }]);
  });

  it('gives a failed request its own error in-band, and the stream goes on', async () => {
    const a = await streamServer((call, request) => {
      if (request.id === '1') call.write({ id: '1', error: { code: status.INVALID_ARGUMENT, message: "input 'x': bad shape" } });
      else answer(call, request);
    });
    const results = byId(await collect(hostOver(a), requests(3)));
    expect(results.map(summary)).toEqual([
      { id: '0', ok: true, endpoint: a.address },
      { id: '1', ok: false, code: status.INVALID_ARGUMENT },
      { id: '2', ok: true, endpoint: a.address },
    ]);
  });

  it('refuses an id that is already in flight', async () => {
    const a = await streamServer(() => undefined);
    const twice = [{ id: 'x', inputs: { x: new Float32Array([1]) } }, { id: 'x', inputs: { x: new Float32Array([1]) } }];
    expect(await collect(hostOver(a), twice)).toMatchObject([{ ok: false, id: 'x', error: { code: status.INVALID_ARGUMENT, details: "stream request id 'x' is already in flight: ids must be unique" } }]);
  });

  it('reads the caller’s requests no more than maxInflight ahead of the answers', async () => {
    const held: Array<() => void> = [];
    const a = await streamServer((call, request) =>
      held.push(() => {
        answer(call, request);
        if (request.id === '9') call.end();
      }),
    false);
    let pulled = 0;
    async function* produce(): AsyncGenerator<StreamRequest> {
      for (let i = 0; i < 10; i++) {
        pulled++;
        yield { inputs: { x: new Float32Array([1]) } };
      }
    }
    const done = collect(hostOver(a), produce(), { maxInflight: 3 });
    await eventually(() => a.received.length === 3, 10_000, 'three requests at the server');
    await new Promise((r) => setTimeout(r, 20)); // room for a wrong fourth read to happen
    expect(pulled).toBe(3);
    const release = setInterval(() => held.splice(0).forEach((send) => send()), 1);
    const results = await done;
    clearInterval(release);
    expect(byId(results).map(summary)).toEqual(Array.from({ length: 10 }, (_, i) => ({ id: String(i), ok: true, endpoint: a.address })));
  });

  it('cancels the call and throws CANCELLED when the caller aborts', async () => {
    let cancelled = false;
    const a = await streamServer((call) => call.on('cancelled', () => (cancelled = true)), false);
    const controller = new AbortController();
    const iteration = collect(hostOver(a), requests(2), { signal: controller.signal }).then(
      () => undefined,
      (e: unknown) => e,
    );
    await eventually(() => a.received.length === 2, 10_000, 'two requests at the server');
    controller.abort();
    expect(await iteration).toMatchObject({ code: status.CANCELLED, details: 'cancelled by the caller' });
    await eventually(() => cancelled, 10_000, 'the server to see the cancel');
  });
});
