/**
 * The remote client: per-call picks over one grpc-js channel per endpoint, health watching,
 * outlier ejection, retries within a budget, optional hedging, deadlines and cancellation.
 */
import { type ChannelCredentials, type ChannelOptions, type ClientDuplexStream, Metadata, status } from '@grpc/grpc-js';
import {
  loadPackageDefinition,
  parsePredictResponse,
  serializePredictRequest,
  type ListModelsResponse__Output,
  type ModelMetadata__Output,
  type ParsedPredictResponse,
  type PredictResponse__Output,
  type PredictStreamResponse__Output,
  type RawPredictRequest,
} from '@modelserve/proto';
import { Endpoint } from './endpoint.js';
import { ModelServeError } from './errors.js';
import { createPicker, type Picker, type PolicyName } from './policies.js';
import { dnsResolver, staticResolver, type ResolvedEndpoint, type Resolver } from './resolvers.js';
import { RetryBudget, type RetryBudgetOptions } from './retry-budget.js';
import type { TensorInputs } from './tensors.js';
import type { ModelInfo, ModelMetadata, PredictOptions, PredictResult, Predictor, StreamOptions, StreamRequest, StreamResult } from './types.js';
import { decodePredictResponse, encodePredictRequest, toModelInfos, toModelMetadata } from './wire.js';

/** Outlier ejection (Envoy's consecutive-failures detector). */
export interface OutlierDetectionOptions {
  /** Failures in a row (UNAVAILABLE, INTERNAL, UNKNOWN, broken connections) that eject. Default 5. */
  consecutiveFailures?: number;
  /** First ejection time; each ejection in a row doubles it. Default 1000 ms. */
  baseEjectionMs?: number;
  /** Longest ejection. Default 30000 ms. */
  maxEjectionMs?: number;
  /** Most endpoints ejected at once, in percent (at least one, never all). Default 50. */
  maxEjectionPercent?: number;
}

/** Retries of calls that failed with UNAVAILABLE (a broken connection, a draining replica, a loading model). */
export interface RetryOptions {
  /** Attempts per call, the first included. Default 3. */
  maxAttempts?: number;
  /** The token bucket shared by every call of the client. Default: 100 tokens, 0.1 back per success. */
  budget?: RetryBudgetOptions;
}

/** Hedged unary calls: another attempt on another endpoint when the first has not answered in time. */
export interface HedgingOptions {
  /** Wait before each extra attempt, ms. */
  delayMs: number;
  /** Attempts at most, the first included. Default 2. */
  maxAttempts?: number;
}

/** Options of `createClient`; only `endpoints` is required. */
export interface ClientOptions {
  /**
   * Where the replicas are: `"host:port"`, a list of them (or of `{ address, weight }`),
   * `"dns:///host:port"` (every address of host, re-resolved every `resolveIntervalMs`), or a
   * Resolver of your own.
   */
  endpoints: string | ReadonlyArray<string | ResolvedEndpoint> | Resolver;
  /** Load-balancing policy, or your own Picker. Default `round_robin`. */
  policy?: PolicyName | Picker;
  /** DNS re-resolution period, ms. Default 5000. */
  resolveIntervalMs?: number;
  /** Channel credentials: `credentials.createSsl(ca, key, cert)` for TLS and mTLS. Default insecure (plaintext). */
  credentials?: ChannelCredentials;
  /** Bearer token sent with every call (`authorization: Bearer <token>`), for servers that require one. */
  token?: string;
  /** grpc-js channel options for every endpoint. Default: 64 MiB messages. */
  channelOptions?: ChannelOptions;
  /** Watch grpc.health.v1 on every endpoint (true, default), with this service name, or not (false). */
  healthCheck?: boolean | { service: string };
  /** Outlier ejection, or false for none. Default on, with the defaults above. */
  outlierDetection?: OutlierDetectionOptions | false;
  /** Retries, or false for none. Default on, with the defaults above. */
  retry?: RetryOptions | false;
  /** Hedging of unary calls. Default off. */
  hedging?: HedgingOptions;
  /** Deadline of a call (every attempt included) when the call sets none, ms. Default 30000. */
  timeoutMs?: number;
  /**
   * When no endpoint can take calls: false (default, as gRPC's fail-fast) answers UNAVAILABLE at once
   * if every endpoint is known to be down (unreachable, NOT_SERVING or ejected), and waits only while
   * some are still connecting; true waits for one until the deadline.
   */
  waitForReady?: boolean;
}

/** What the client has seen, per endpoint and overall. */
export interface ClientStats {
  endpoints: Array<{
    address: string;
    weight: number;
    health: string;
    ejected: boolean;
    inflight: number;
    calls: number;
    failures: number;
    latencyMs: number;
  }>;
  /** Retries sent, and retries the budget refused. */
  retries: number;
  retriesRefused: number;
  /** Tokens left in the retry budget. */
  retryTokens: number;
}

interface Method<Req, Res> {
  path: string;
  requestSerialize(value: Req): Buffer;
  responseDeserialize(bytes: Buffer): Res;
}

interface Methods {
  predict: Method<RawPredictRequest, ParsedPredictResponse | PredictResponse__Output>;
  predictStream: Method<RawPredictRequest, PredictStreamResponse__Output>;
  listModels: Method<object, ListModelsResponse__Output>;
  metadata: Method<{ name: string; version: string }, ModelMetadata__Output>;
}

let methods: Methods | undefined;
function rpc(): Methods {
  if (methods === undefined) {
    const definition = loadPackageDefinition() as unknown as Record<string, Record<string, Method<never, never>>>;
    const predictor = definition['modelserve.v1.Predictor']!;
    const admin = definition['modelserve.v1.ModelAdmin']!;
    // Predict requests and responses skip protobufjs's object conversion (see @modelserve/proto's
    // predict-wire); a response with typed contents, which modelserve does not send when asked
    // for raw, still decodes through proto-loader.
    const predict = predictor['Predict'] as unknown as Method<unknown, PredictResponse__Output>;
    const stream = predictor['PredictStream'] as unknown as Method<unknown, PredictStreamResponse__Output>;
    methods = {
      predict: { path: predict.path, requestSerialize: serializePredictRequest, responseDeserialize: (bytes) => parsePredictResponse(bytes) ?? predict.responseDeserialize(bytes) },
      predictStream: { path: stream.path, requestSerialize: serializePredictRequest, responseDeserialize: stream.responseDeserialize },
      listModels: admin['ListModels'] as never,
      metadata: admin['GetModelMetadata'] as never,
    };
  }
  return methods;
}

const defaultChannelOptions: ChannelOptions = {
  'grpc.max_receive_message_length': 64 * 1024 * 1024,
  'grpc.max_send_message_length': 64 * 1024 * 1024,
};

/** Failures that count against an endpoint for outlier ejection. */
const endpointFailures = new Set<status>([status.UNAVAILABLE, status.INTERNAL, status.UNKNOWN]);

const cancelled = (): ModelServeError => new ModelServeError(status.CANCELLED, 'cancelled by the caller');

/** Creates a client over one or many modelserve replicas. */
export function createClient(options: ClientOptions): ModelServeClient {
  return new ModelServeClient(options);
}

export class ModelServeClient implements Predictor {
  private readonly endpoints = new Map<string, Endpoint>();
  /** The endpoints' values, rebuilt when discovery changes them (pickNow runs per call). */
  private endpointList: Endpoint[] = [];
  private readonly scratch: Endpoint[] = [];
  private readonly picker: Picker;
  private readonly resolver: Resolver;
  private readonly budget: RetryBudget | undefined;
  private readonly maxAttempts: number;
  private readonly outlier: Required<OutlierDetectionOptions> | undefined;
  private readonly waiters = new Set<() => void>();
  private resolveError: Error | undefined;
  private closed = false;

  constructor(private readonly options: ClientOptions) {
    this.picker = createPicker(options.policy ?? 'round_robin');
    const retry = options.retry === false ? undefined : (options.retry ?? {});
    this.budget = retry === undefined ? undefined : new RetryBudget(retry.budget);
    this.maxAttempts = retry === undefined ? 1 : Math.max(1, retry.maxAttempts ?? 3);
    const outlier = options.outlierDetection === false ? undefined : (options.outlierDetection ?? {});
    this.outlier =
      outlier === undefined
        ? undefined
        : {
            consecutiveFailures: outlier.consecutiveFailures ?? 5,
            baseEjectionMs: outlier.baseEjectionMs ?? 1000,
            maxEjectionMs: outlier.maxEjectionMs ?? 30_000,
            maxEjectionPercent: outlier.maxEjectionPercent ?? 50,
          };
    const target = options.endpoints;
    this.resolver =
      typeof target === 'string'
        ? target.startsWith('dns:')
          ? dnsResolver(target, options.resolveIntervalMs)
          : staticResolver([target])
        : Array.isArray(target)
          ? staticResolver(target)
          : (target as Resolver);
    this.resolver.start(
      (list) => this.update(list),
      (error) => {
        this.resolveError = error;
      },
    );
  }

  /** Addresses currently known (retired ones excluded). */
  get addresses(): string[] {
    return [...this.endpoints.values()].filter((e) => !e.retired).map((e) => e.address);
  }

  predict(model: string, inputs: TensorInputs, options: PredictOptions = {}): Promise<PredictResult> {
    let request: RawPredictRequest;
    try {
      request = encodePredictRequest(model, inputs, options);
    } catch (error) {
      return Promise.reject(error);
    }
    const deadline = Date.now() + (options.timeoutMs ?? this.options.timeoutMs ?? 30_000);
    const signal = options.signal;
    // The common case, kept to one promise: an endpoint is ready and the first attempt answers.
    const first = this.closed || signal?.aborted || this.options.hedging !== undefined ? undefined : this.pickNow(undefined);
    if (first === undefined) return this.predictSlowly(request, deadline, signal);
    return new Promise<PredictResult>((resolve, reject) => {
      this.attempt(first, rpc().predict, request, deadline, signal, (error, value) => {
        if (error === undefined) {
          try {
            resolve(decodePredictResponse(value!, first.address));
          } catch (e) {
            reject(e);
          }
        } else if (signal?.aborted) reject(cancelled());
        else if (!this.mayRetry(error, 1, deadline, signal)) reject(error);
        else resolve(this.predictSlowly(request, deadline, signal, new Set([first]), 2));
      });
    });
  }

  /** predict with hedging, with retries after a failed first attempt, or while no endpoint is ready. */
  private predictSlowly(request: RawPredictRequest, deadline: number, signal: AbortSignal | undefined, tried?: Set<Endpoint>, firstAttempt?: number): Promise<PredictResult> {
    const call = (endpoint: Endpoint, s: AbortSignal | undefined) => this.unary(endpoint, rpc().predict, request, deadline, s);
    const attempts = this.options.hedging !== undefined && tried === undefined ? this.hedged(deadline, signal, call) : this.withRetries(deadline, signal, call, tried, firstAttempt);
    return attempts.then(({ value, endpoint }) => decodePredictResponse(value, endpoint));
  }

  async models(): Promise<ModelInfo[]> {
    const deadline = Date.now() + (this.options.timeoutMs ?? 30_000);
    const { value } = await this.withRetries(deadline, undefined, (e, s) => this.unary(e, rpc().listModels, {}, deadline, s));
    return toModelInfos(value);
  }

  async metadata(model: string, version?: string | number): Promise<ModelMetadata> {
    const deadline = Date.now() + (this.options.timeoutMs ?? 30_000);
    const request = { name: model, version: version === undefined ? '' : String(version) };
    const { value } = await this.withRetries(deadline, undefined, (e, s) => this.unary(e, rpc().metadata, request, deadline, s));
    return toModelMetadata(value);
  }

  predictStream(model: string, requests: AsyncIterable<StreamRequest> | Iterable<StreamRequest>, options: StreamOptions = {}): AsyncIterable<StreamResult> {
    return new PredictStream(this, model, requests, options).results();
  }

  /** Counters per endpoint and of the retry budget. */
  stats(): ClientStats {
    const now = performance.now();
    return {
      endpoints: [...this.endpoints.values()]
        .filter((e) => !e.retired)
        .map((e) => ({
          address: e.address,
          weight: e.weight,
          health: e.health,
          ejected: e.ejectedUntil > now,
          inflight: e.inflight,
          calls: e.calls,
          failures: e.failures,
          latencyMs: e.latencyMs,
        })),
      retries: this.budget?.retries ?? 0,
      retriesRefused: this.budget?.refused ?? 0,
      retryTokens: this.budget?.available ?? 0,
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.resolver.stop();
    for (const endpoint of this.endpoints.values()) endpoint.close();
    this.endpoints.clear();
    this.endpointList = [];
    this.wake();
  }

  // -- internals shared with PredictStream -------------------------------------------------------

  /**
   * An endpoint that can take a call now, preferring ones not in `tried`; undefined when none can.
   * Allocation-free on the common path: it runs once per call.
   */
  pickNow(tried: ReadonlySet<Endpoint> | undefined): Endpoint | undefined {
    const now = performance.now();
    const eligible = this.scratch;
    eligible.length = 0;
    let excluded = 0;
    for (const e of this.endpointList) {
      if (!e.eligible(now)) continue;
      if (tried !== undefined && tried.has(e)) excluded++;
      else eligible.push(e);
    }
    if (eligible.length === 0 && excluded > 0) for (const e of tried!) if (e.eligible(now) && this.endpoints.get(e.address) === e) eligible.push(e);
    return eligible.length === 0 ? undefined : (this.picker.pick(eligible) as Endpoint);
  }

  /** An endpoint for the next attempt (see pickNow); waits (until `deadline`) while none can take calls. */
  async pick(deadline: number, tried: ReadonlySet<Endpoint>, signal: AbortSignal | undefined): Promise<Endpoint> {
    for (;;) {
      if (this.closed) throw new ModelServeError(status.CANCELLED, 'the client is closed');
      if (signal?.aborted) throw cancelled();
      const chosen = this.pickNow(tried);
      if (chosen !== undefined) return chosen;
      const remaining = deadline - Date.now();
      const connecting = [...this.endpoints.values()].some((e) => e.health === 'UNKNOWN');
      if (remaining <= 0) throw new ModelServeError(status.DEADLINE_EXCEEDED, `the deadline passed before an endpoint could take the call: ${this.describeEndpoints()}`);
      if (!connecting && this.options.waitForReady !== true && this.endpoints.size > 0) {
        throw new ModelServeError(status.UNAVAILABLE, `no endpoint can take calls: ${this.describeEndpoints()}`);
      }
      await this.waitForChange(Math.min(remaining, 1000), signal);
    }
  }

  /** Records a finished attempt: latency, failures, ejection, the retry budget. */
  finish(endpoint: Endpoint, startedAt: number, error: ModelServeError | undefined): void {
    const failed = error !== undefined && endpointFailures.has(error.code);
    endpoint.finished(performance.now() - startedAt, failed);
    if (error === undefined) {
      this.budget?.success();
      if (endpoint.ejections > 0 && endpoint.ejectedUntil <= performance.now()) endpoint.ejections--;
    } else if (error.code === status.UNAVAILABLE) {
      this.budget?.failure();
    }
    if (failed) this.maybeEject(endpoint);
  }

  /** Whether a failed attempt may be retried now (counts the retry against the budget). */
  mayRetry(error: ModelServeError, attempt: number, deadline: number, signal: AbortSignal | undefined): boolean {
    if (error.code !== status.UNAVAILABLE || this.budget === undefined) return false;
    if (attempt >= this.maxAttempts || Date.now() >= deadline || signal?.aborted === true) return false;
    return this.budget.tryRetry();
  }

  /** Metadata of every call: the bearer token, if any. */
  callMetadata(): Metadata {
    const metadata = new Metadata();
    if (this.options.token !== undefined) metadata.set('authorization', `Bearer ${this.options.token}`);
    return metadata;
  }

  /** The bidirectional PredictStream call on an endpoint. */
  openStream(endpoint: Endpoint, deadline: number | undefined): ClientDuplexStream<RawPredictRequest, PredictStreamResponse__Output> {
    const method = rpc().predictStream;
    return endpoint.client.makeBidiStreamRequest(method.path, method.requestSerialize, method.responseDeserialize, this.callMetadata(), {
      deadline: deadline ?? Infinity,
    });
  }

  // -- private -------------------------------------------------------------------------------------

  private update(list: ResolvedEndpoint[]): void {
    if (this.closed) return;
    this.resolveError = undefined;
    const wanted = new Map(list.map((e) => [e.address, e.weight ?? 1]));
    for (const [address, endpoint] of this.endpoints) {
      if (!wanted.has(address)) {
        endpoint.retired = true;
        this.endpoints.delete(address);
        if (endpoint.inflight === 0) endpoint.close();
      }
    }
    const health = this.options.healthCheck;
    for (const [address, weight] of wanted) {
      const existing = this.endpoints.get(address);
      if (existing !== undefined) {
        existing.weight = weight;
        continue;
      }
      this.endpoints.set(
        address,
        new Endpoint(address, weight, {
          ...(this.options.credentials ? { credentials: this.options.credentials } : {}),
          channelOptions: { ...defaultChannelOptions, ...this.options.channelOptions },
          healthCheck: health !== false,
          ...(typeof health === 'object' ? { healthService: health.service } : {}),
          onChange: () => this.wake(),
        }),
      );
    }
    this.endpointList = [...this.endpoints.values()];
    this.wake();
  }

  private maybeEject(endpoint: Endpoint): void {
    const o = this.outlier;
    if (o === undefined || endpoint.consecutiveFailures < o.consecutiveFailures) return;
    const now = performance.now();
    const all = [...this.endpoints.values()];
    const ejected = all.filter((e) => e.ejectedUntil > now).length;
    const allowed = Math.min(all.length - 1, Math.max(1, Math.floor((all.length * o.maxEjectionPercent) / 100)));
    if (endpoint.ejectedUntil > now || ejected >= allowed) return;
    const ms = Math.min(o.maxEjectionMs, o.baseEjectionMs * 2 ** endpoint.ejections);
    endpoint.ejectedUntil = now + ms;
    endpoint.ejections++;
    endpoint.consecutiveFailures = 0;
    setTimeout(() => this.wake(), ms).unref();
  }

  private describeEndpoints(): string {
    const now = performance.now();
    const list = [...this.endpoints.values()].map((e) => `${e.address} ${e.ejectedUntil > now ? 'EJECTED' : e.health}`);
    if (list.length === 0) return `none resolved${this.resolveError ? ` (${this.resolveError.message})` : ''}`;
    return list.join(', ');
  }

  private wake(): void {
    const waiters = [...this.waiters];
    this.waiters.clear();
    for (const wake of waiters) wake();
  }

  private waitForChange(ms: number, signal: AbortSignal | undefined): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.waiters.delete(done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.waiters.add(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  /** One unary attempt on an endpoint; `done` gets its error or its response, once. */
  private attempt<Req, Res>(
    endpoint: Endpoint,
    method: Method<Req, Res>,
    request: Req,
    deadline: number,
    signal: AbortSignal | undefined,
    done: (error: ModelServeError | undefined, value: Res | undefined) => void,
  ): void {
    const startedAt = performance.now();
    endpoint.started();
    const onAbort = signal === undefined ? undefined : (): void => call.cancel();
    const call = endpoint.client.makeUnaryRequest(method.path, method.requestSerialize, method.responseDeserialize, request, this.callMetadata(), { deadline }, (e, value) => {
      const error = e === null ? undefined : ModelServeError.from(e, endpoint.address);
      if (onAbort !== undefined) signal!.removeEventListener('abort', onAbort);
      this.finish(endpoint, startedAt, error);
      done(error, value);
    });
    if (onAbort !== undefined) signal!.addEventListener('abort', onAbort, { once: true });
  }

  /** One unary attempt on an endpoint, as a promise. */
  private unary<Req, Res>(endpoint: Endpoint, method: Method<Req, Res>, request: Req, deadline: number, signal: AbortSignal | undefined): Promise<Res> {
    return new Promise<Res>((resolve, reject) => this.attempt(endpoint, method, request, deadline, signal, (error, value) => (error === undefined ? resolve(value as Res) : reject(error))));
  }

  /** Attempts on successive endpoints while the failure is retryable and the budget allows. */
  private async withRetries<T>(
    deadline: number,
    signal: AbortSignal | undefined,
    attempt: (endpoint: Endpoint, signal: AbortSignal | undefined) => Promise<T>,
    tried = new Set<Endpoint>(),
    firstAttempt = 1,
  ): Promise<{ value: T; endpoint: string }> {
    for (let n = firstAttempt; ; n++) {
      const endpoint = await this.pick(deadline, tried, signal);
      tried.add(endpoint);
      try {
        return { value: await attempt(endpoint, signal), endpoint: endpoint.address };
      } catch (e) {
        const error = ModelServeError.from(e, endpoint.address);
        if (signal?.aborted) throw cancelled();
        if (!this.mayRetry(error, n, deadline, signal)) throw error;
      }
    }
  }

  /** Hedged attempts: another one every `delayMs` until one answers; the first answer wins, the rest are cancelled. */
  private hedged<T>(
    deadline: number,
    signal: AbortSignal | undefined,
    attempt: (endpoint: Endpoint, signal: AbortSignal | undefined) => Promise<T>,
  ): Promise<{ value: T; endpoint: string }> {
    const hedging = this.options.hedging!;
    const maxAttempts = Math.max(1, hedging.maxAttempts ?? 2);
    const cancelAll = new AbortController();
    const onAbort = (): void => cancelAll.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    const tried = new Set<Endpoint>();
    return new Promise((resolve, reject) => {
      let running = 0;
      let started = 0;
      let done = false;
      let lastError: ModelServeError | undefined;
      let timer: NodeJS.Timeout | undefined;
      const finish = (outcome: { value: T; endpoint: string } | ModelServeError): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        cancelAll.abort();
        if (outcome instanceof ModelServeError) reject(outcome);
        else resolve(outcome);
      };
      const launch = async (): Promise<void> => {
        started++;
        running++;
        if (started < maxAttempts) timer = setTimeout(() => void launch(), hedging.delayMs);
        try {
          const endpoint = await this.pick(deadline, tried, cancelAll.signal);
          tried.add(endpoint);
          const value = await attempt(endpoint, cancelAll.signal);
          finish({ value, endpoint: endpoint.address });
        } catch (e) {
          lastError = ModelServeError.from(e);
          if (signal?.aborted) finish(cancelled());
        } finally {
          running--;
          if (running === 0 && started >= maxAttempts) finish(lastError ?? new ModelServeError(status.UNAVAILABLE, 'every hedged attempt failed'));
        }
      };
      void launch();
    });
  }
}

/** One predictStream: a PredictStream call on one endpoint, re-opened elsewhere for unanswered requests if it breaks. */
class PredictStream {
  private readonly maxInflight: number;
  private readonly deadline: number | undefined;

  constructor(
    private readonly client: ModelServeClient,
    private readonly model: string,
    private readonly requests: AsyncIterable<StreamRequest> | Iterable<StreamRequest>,
    private readonly options: StreamOptions,
  ) {
    this.maxInflight = Math.max(1, options.maxInflight ?? 128);
    this.deadline = options.timeoutMs === undefined ? undefined : Date.now() + options.timeoutMs;
  }

  async *results(): AsyncGenerator<StreamResult> {
    const iterator = (Symbol.asyncIterator in this.requests ? this.requests[Symbol.asyncIterator]() : this.requests[Symbol.iterator]()) as
      | AsyncIterator<StreamRequest>
      | Iterator<StreamRequest>;
    const signal = this.options.signal;
    const unanswered = new Map<string, RawPredictRequest>();
    const ready: StreamResult[] = [];
    const tried = new Set<Endpoint>();
    let inputDone = false;
    let failure: ModelServeError | undefined;
    let attempt = 0;
    let current: Attempt | undefined;
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
      const endpoint = await this.client.pick(this.deadline ?? Date.now() + 30_000, tried, signal);
      tried.add(endpoint);
      const call = this.client.openStream(endpoint, this.deadline);
      const startedAt = performance.now();
      endpoint.started();
      const stream: Attempt = { call, endpoint, ended: false, blocked: false, halfClosed: false };
      call.on('data', (r: PredictStreamResponse__Output) => {
        if (!unanswered.delete(r.id)) return;
        if (r.error) ready.push({ ok: false, id: r.id, error: new ModelServeError(r.error.code as status, r.error.message, endpoint.address) });
        else {
          try {
            ready.push({ ok: true, ...decodePredictResponse(r.response!, endpoint.address) });
          } catch (error) {
            ready.push({ ok: false, id: r.id, error: ModelServeError.from(error, endpoint.address) });
          }
        }
        // The caller reads results slower than they come: stop reading until it catches up.
        if (ready.length >= this.maxInflight) call.pause();
        notify();
      });
      call.on('error', (e) => {
        if (stream.ended) return;
        stream.ended = true;
        const error = ModelServeError.from(e, endpoint.address);
        this.client.finish(endpoint, startedAt, error);
        if (current === stream) current = undefined;
        const retry = unanswered.size > 0 && !signal?.aborted && this.client.mayRetry(error, attempt, this.deadline ?? Infinity, signal);
        if (!retry) failure = signal?.aborted ? cancelled() : error;
        notify();
      });
      call.on('end', () => {
        if (stream.ended) return;
        stream.ended = true;
        this.client.finish(endpoint, startedAt, undefined);
        if (current === stream) current = undefined;
        if (unanswered.size > 0) failure = new ModelServeError(status.UNAVAILABLE, `the stream ended with ${unanswered.size} requests unanswered`, endpoint.address);
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
    const halfClose = (stream: Attempt): void => {
      if (stream.halfClosed || stream.ended) return;
      stream.halfClosed = true;
      stream.call.end();
    };

    // Reads the caller's requests and sends them, at most maxInflight unanswered, honouring write().
    const pump = async (): Promise<void> => {
      let position = 0;
      while (!inputDone && failure === undefined && !signal?.aborted) {
        const stream = current;
        if (stream === undefined || stream.blocked || unanswered.size >= this.maxInflight) {
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
          request = encodePredictRequest(this.model, r.inputs, { ...r, id });
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
          if (ready.length < this.maxInflight / 2) current?.call.resume();
        }
        if (signal?.aborted) throw cancelled();
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
      const stream = current as Attempt | undefined;
      if (stream !== undefined && !stream.ended) {
        if (unanswered.size === 0) halfClose(stream);
        else stream.call.cancel();
      }
      failure ??= cancelled();
      notify();
      // A producer still awaited by the pump finishes in its own time; ask it to stop.
      void pumping;
      void Promise.resolve((iterator as AsyncIterator<StreamRequest>).return?.()).catch(() => undefined);
    }
  }
}

/** One PredictStream call of a predictStream. */
interface Attempt {
  call: ClientDuplexStream<RawPredictRequest, PredictStreamResponse__Output>;
  endpoint: Endpoint;
  ended: boolean;
  /** write() returned false: wait for 'drain'. */
  blocked: boolean;
  /** end() was called: no more requests on this call. */
  halfClosed: boolean;
}
