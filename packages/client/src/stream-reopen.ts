/**
 * One predictStream: a PredictStream call on one endpoint that, if it breaks, is re-opened on
 * another with the requests the broken one left unanswered, so every request is answered exactly
 * once. The caller's iterable is read at most `maxInflight` requests ahead, honouring write()'s
 * backpressure, and reading results slower than they come pauses the call.
 */
import { status } from '@grpc/grpc-js';
import type { PredictStreamResponse__Output, RawPredictRequest } from '@modelserve/proto';
import type { PredictStreamCall } from './client-rpc.js';
import type { Endpoint } from './endpoint.js';
import { cancelledByCaller, ModelServeError } from './errors.js';
import type { StreamOptions, StreamRequest, StreamResult } from './types.js';
import { decodePredictResponse, encodePredictRequest } from './wire.js';

/** What a stream needs of its client. */
export interface StreamHost {
  /** An endpoint for the next call, preferring ones not `tried` (see EndpointSet.pick). */
  pick(deadline: number, tried: ReadonlySet<Endpoint>, signal: AbortSignal | undefined): Promise<Endpoint>;
  /** Opens the PredictStream call on an endpoint. */
  open(endpoint: Endpoint, deadline: number | undefined): PredictStreamCall;
  /** Records a finished call (as every attempt is recorded). */
  finished(endpoint: Endpoint, startedAt: number, error: ModelServeError | undefined): void;
  /** Whether a broken call, the `attempt`-th, may be re-opened elsewhere (see CallStrategy.mayRetry). */
  mayRetry(error: ModelServeError, attempt: number, deadline: number, signal: AbortSignal | undefined): boolean;
}

/** How long to wait for an endpoint to open the stream on when the stream sets no deadline, ms. */
const defaultPickTimeoutMs = 30_000;

/** One PredictStream call of a predictStream. */
interface Call {
  call: PredictStreamCall;
  endpoint: Endpoint;
  ended: boolean;
  /** write() returned false: wait for 'drain'. */
  blocked: boolean;
  /** end() was called: no more requests on this call. */
  halfClosed: boolean;
}

/** The results of `requests` on `model`, as they complete, each exactly once. */
export async function* reopeningStream(host: StreamHost, model: string, requests: AsyncIterable<StreamRequest> | Iterable<StreamRequest>, options: StreamOptions): AsyncGenerator<StreamResult> {
  const maxInflight = Math.max(1, options.maxInflight ?? 128);
  const deadline = options.timeoutMs === undefined ? undefined : Date.now() + options.timeoutMs;
  const iterator = (Symbol.asyncIterator in requests ? requests[Symbol.asyncIterator]() : requests[Symbol.iterator]()) as AsyncIterator<StreamRequest> | Iterator<StreamRequest>;
  const signal = options.signal;
  const unanswered = new Map<string, RawPredictRequest>();
  const ready: StreamResult[] = [];
  const tried = new Set<Endpoint>();
  let inputDone = false;
  let failure: ModelServeError | undefined;
  let attempt = 0;
  let current: Call | undefined;
  // Both loops below sleep on this one signal: a result, a drained or broken stream, more room.
  let wakeResults: (() => void) | undefined;
  let wakePump: (() => void) | undefined;
  const notify = (): void => {
    for (const wake of [wakeResults, wakePump]) wake?.();
    wakeResults = undefined;
    wakePump = undefined;
  };
  const sleep = (which: 'results' | 'pump'): Promise<void> =>
    new Promise((resolve) => {
      if (which === 'results') wakeResults = resolve;
      else wakePump = resolve;
    });

  const open = async (): Promise<void> => {
    attempt++;
    const endpoint = await host.pick(deadline ?? Date.now() + defaultPickTimeoutMs, tried, signal);
    tried.add(endpoint);
    const call = host.open(endpoint, deadline);
    const startedAt = performance.now();
    endpoint.started();
    const stream: Call = { call, endpoint, ended: false, blocked: false, halfClosed: false };
    call.on('data', (r: PredictStreamResponse__Output) => {
      if (!unanswered.delete(r.id)) return;
      if (r.error) ready.push({ ok: false, id: r.id, error: new ModelServeError(r.error.code, r.error.message, { endpoint: endpoint.address }) });
      else {
        try {
          ready.push({ ok: true, ...decodePredictResponse(r.response!, endpoint.address) });
        } catch (error) {
          ready.push({ ok: false, id: r.id, error: ModelServeError.from(error, { endpoint: endpoint.address }) });
        }
      }
      // The caller reads results slower than they come: stop reading until it catches up.
      if (ready.length >= maxInflight) call.pause();
      notify();
    });
    call.on('error', (e) => {
      if (stream.ended) return;
      stream.ended = true;
      const error = ModelServeError.from(e, { endpoint: endpoint.address });
      host.finished(endpoint, startedAt, error);
      if (current === stream) current = undefined;
      const retry = unanswered.size > 0 && !signal?.aborted && host.mayRetry(error, attempt, deadline ?? Infinity, signal);
      if (!retry) failure = signal?.aborted ? cancelledByCaller() : error;
      notify();
    });
    call.on('end', () => {
      if (stream.ended) return;
      stream.ended = true;
      host.finished(endpoint, startedAt, undefined);
      if (current === stream) current = undefined;
      if (unanswered.size > 0) failure = new ModelServeError(status.UNAVAILABLE, `the stream ended with ${unanswered.size} requests unanswered`, { endpoint: endpoint.address });
      notify();
    });
    call.on('drain', () => {
      stream.blocked = false;
      notify();
    });
    current = stream;
    // A re-opened stream first sends what the broken one left unanswered.
    for (const request of unanswered.values()) stream.blocked = !call.write(request) || stream.blocked;
    if (inputDone) halfClose(stream);
  };
  const halfClose = (stream: Call): void => {
    if (stream.halfClosed || stream.ended) return;
    stream.halfClosed = true;
    stream.call.end();
  };

  // Reads the caller's requests and sends them, at most maxInflight unanswered, honouring write().
  const pump = async (): Promise<void> => {
    let position = 0;
    while (!inputDone && failure === undefined && !signal?.aborted) {
      const stream = current;
      if (stream === undefined || stream.blocked || unanswered.size >= maxInflight) {
        await sleep('pump');
        continue;
      }
      const next = await iterator.next();
      if (next.done === true) {
        inputDone = true;
        if (current !== undefined) halfClose(current);
        notify();
        return;
      }
      const r = next.value;
      const id = r.id ?? String(position);
      position++;
      if (unanswered.has(id)) {
        failure = new ModelServeError(status.INVALID_ARGUMENT, `stream request id '${id}' is already in flight: ids must be unique`);
        notify();
        return;
      }
      let request: RawPredictRequest;
      try {
        request = encodePredictRequest(model, r.inputs, { ...r, id });
      } catch (error) {
        ready.push({ ok: false, id, error: ModelServeError.from(error) });
        notify();
        continue;
      }
      unanswered.set(id, request);
      // Written to whichever stream is current now; if it broke meanwhile, open() re-sends it.
      if (current !== undefined && !current.call.write(request)) current.blocked = true;
    }
  };

  const onAbort = (): void => {
    current?.call.cancel();
    notify();
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  let pumping: Promise<void> | undefined;
  try {
    await open();
    pumping = pump().catch((error: unknown) => {
      failure = ModelServeError.from(error);
      notify();
    });
    for (;;) {
      while (ready.length > 0) {
        yield ready.shift()!;
        if (ready.length < maxInflight / 2) current?.call.resume();
      }
      if (signal?.aborted) throw cancelledByCaller();
      if (failure !== undefined) {
        for (const id of unanswered.keys()) yield { ok: false, id, error: failure };
        unanswered.clear();
        return;
      }
      if (inputDone && unanswered.size === 0) return;
      if (current === undefined) {
        await open();
        notify();
        continue;
      }
      await sleep('results');
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
    inputDone = inputDone || failure !== undefined;
    const stream = current as Call | undefined;
    if (stream !== undefined && !stream.ended) {
      if (unanswered.size === 0) halfClose(stream);
      else stream.call.cancel();
    }
    failure ??= cancelledByCaller();
    notify();
    // A producer still awaited by the pump finishes in its own time; ask it to stop.
    void pumping;
    void Promise.resolve((iterator as AsyncIterator<StreamRequest>).return?.()).catch(() => undefined);
  }
}
