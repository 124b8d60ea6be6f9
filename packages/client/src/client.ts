/**
 * The remote client: a facade over the endpoints discovery reports (endpoint-set.ts, with health
 * watching and outlier ejection), the picker (policies.ts), the retry and hedging strategy
 * (call-strategy.ts) and re-opening streams (stream-reopen.ts).
 */
import type { ChannelCredentials, ChannelOptions, Metadata } from '@grpc/grpc-js';
import type { RawPredictRequest } from '@modelserve/proto';
import { CallStrategy, type HedgingOptions, type RetryOptions, type RetryStats } from './call-strategy.js';
import { callMetadata, openPredictStream, rpc, unaryAttempt, type Method } from './client-rpc.js';
import { OutlierDetector, type OutlierDetectionOptions } from './endpoint-ejection.js';
import { EndpointSet, type EndpointStats } from './endpoint-set.js';
import type { Endpoint } from './endpoint.js';
import { cancelledByCaller, type ModelServeError } from './errors.js';
import { createPicker, type Picker, type PolicyName } from './policies.js';
import { dnsResolver, staticResolver, type ResolvedEndpoint, type Resolver } from './resolvers.js';
import { reopeningStream } from './stream-reopen.js';
import type { TensorInputs } from './tensors.js';
import type { ModelInfo, ModelMetadata, PredictOptions, PredictResult, Predictor, StreamOptions, StreamRequest, StreamResult } from './types.js';
import { decodePredictResponse, encodePredictRequest, toModelInfos, toModelMetadata } from './wire.js';

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
  /** Outlier ejection, or false for none. Default on, with the defaults of OutlierDetectionOptions. */
  outlierDetection?: OutlierDetectionOptions | false;
  /** Retries, or false for none. Default on, with the defaults of RetryOptions. */
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
export interface ClientStats extends RetryStats {
  endpoints: EndpointStats[];
}

const defaultChannelOptions: ChannelOptions = {
  'grpc.max_receive_message_length': 64 * 1024 * 1024,
  'grpc.max_send_message_length': 64 * 1024 * 1024,
};

const defaultTimeoutMs = 30_000;

/** Creates a client over one or many modelserve replicas. */
export function createClient(options: ClientOptions): ModelServeClient {
  return new ModelServeClient(options);
}

/** The discovery source `endpoints` names. */
function resolverOf(options: ClientOptions): Resolver {
  const target = options.endpoints;
  if (typeof target === 'string') return target.startsWith('dns:') ? dnsResolver(target, options.resolveIntervalMs) : staticResolver([target]);
  return Array.isArray(target) ? staticResolver(target) : (target as Resolver);
}

/** A Predictor over modelserve replicas: per-call picks, health watching, ejection, retries, hedging, deadlines. */
export class ModelServeClient implements Predictor {
  readonly #options: ClientOptions;
  readonly #endpoints: EndpointSet;
  readonly #strategy: CallStrategy<Endpoint>;
  readonly #resolver: Resolver;
  readonly #finished = (endpoint: Endpoint, startedAt: number, error: ModelServeError | undefined): void => {
    this.#endpoints.finished(endpoint, performance.now() - startedAt, error?.code);
    this.#strategy.observe(error?.code);
  };
  #closed = false;

  constructor(options: ClientOptions) {
    this.#options = options;
    const health = options.healthCheck;
    this.#endpoints = new EndpointSet({
      picker: createPicker(options.policy ?? 'round_robin'),
      endpoint: {
        credentials: options.credentials,
        channelOptions: { ...defaultChannelOptions, ...options.channelOptions },
        healthCheck: health !== false,
        healthService: typeof health === 'object' ? health.service : undefined,
      },
      outlierDetector: options.outlierDetection === false ? undefined : new OutlierDetector(options.outlierDetection),
      waitForReady: options.waitForReady,
    });
    this.#strategy = new CallStrategy(this.#endpoints, { retry: options.retry, hedging: options.hedging });
    this.#resolver = resolverOf(options);
    this.#resolver.start(
      (list) => this.#endpoints.update(list),
      (error) => this.#endpoints.resolveFailed(error),
    );
  }

  /** Addresses currently known (retired ones excluded). */
  get addresses(): string[] {
    return this.#endpoints.addresses;
  }

  predict(model: string, inputs: TensorInputs, options: PredictOptions = {}): Promise<PredictResult> {
    let request: RawPredictRequest;
    try {
      request = encodePredictRequest(model, inputs, options);
    } catch (error) {
      return Promise.reject(error);
    }
    const deadline = Date.now() + (options.timeoutMs ?? this.#options.timeoutMs ?? defaultTimeoutMs);
    const signal = options.signal;
    // The common case, kept to one promise: an endpoint is ready and the first attempt answers.
    const first = this.#closed || signal?.aborted || this.#strategy.hedges ? undefined : this.#endpoints.pickNow(undefined);
    if (first === undefined) return this.#predictSlowly(request, deadline, signal);
    return new Promise<PredictResult>((resolve, reject) => {
      unaryAttempt(first, rpc().predict, request, { metadata: this.#metadata(), deadline, signal, finished: this.#finished }, (error, value) => {
        if (error === undefined) {
          try {
            resolve(decodePredictResponse(value!, first.address));
          } catch (e) {
            reject(e);
          }
        } else if (signal?.aborted) reject(cancelledByCaller());
        else if (!this.#strategy.mayRetry(error, 1, deadline, signal)) reject(error);
        else resolve(this.#predictSlowly(request, deadline, signal, new Set([first]), 2));
      });
    });
  }

  async models(): Promise<ModelInfo[]> {
    const deadline = Date.now() + (this.#options.timeoutMs ?? defaultTimeoutMs);
    const { value } = await this.#strategy.withRetries(deadline, undefined, (e, s) => this.#unary(e, rpc().listModels, {}, deadline, s));
    return toModelInfos(value);
  }

  async metadata(model: string, version?: string | number): Promise<ModelMetadata> {
    const deadline = Date.now() + (this.#options.timeoutMs ?? defaultTimeoutMs);
    const request = { name: model, version: version === undefined ? '' : String(version) };
    const { value } = await this.#strategy.withRetries(deadline, undefined, (e, s) => this.#unary(e, rpc().metadata, request, deadline, s));
    return toModelMetadata(value);
  }

  predictStream(model: string, requests: AsyncIterable<StreamRequest> | Iterable<StreamRequest>, options: StreamOptions = {}): AsyncIterable<StreamResult> {
    const host = {
      pick: (deadline: number, tried: ReadonlySet<Endpoint>, signal: AbortSignal | undefined) => this.#endpoints.pick(deadline, tried, signal),
      open: (endpoint: Endpoint, deadline: number | undefined) => openPredictStream(endpoint, this.#metadata(), deadline),
      finished: this.#finished,
      mayRetry: (error: ModelServeError, attempt: number, deadline: number, signal: AbortSignal | undefined) => this.#strategy.mayRetry(error, attempt, deadline, signal),
    };
    return reopeningStream(host, model, requests, options);
  }

  /** Counters per endpoint and of the retry budget. */
  stats(): ClientStats {
    return { endpoints: this.#endpoints.stats(), ...this.#strategy.stats() };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#resolver.stop();
    this.#endpoints.close();
  }

  /** predict with hedging, with retries after a failed first attempt, or while no endpoint is ready. */
  #predictSlowly(request: RawPredictRequest, deadline: number, signal: AbortSignal | undefined, tried?: Set<Endpoint>, firstAttempt?: number): Promise<PredictResult> {
    const call = (endpoint: Endpoint, s: AbortSignal | undefined) => this.#unary(endpoint, rpc().predict, request, deadline, s);
    const attempts = tried === undefined ? this.#strategy.run(deadline, signal, call) : this.#strategy.withRetries(deadline, signal, call, tried, firstAttempt);
    return attempts.then(({ value, endpoint }) => decodePredictResponse(value, endpoint));
  }

  /** One unary attempt on an endpoint, as a promise. */
  #unary<Req, Res>(endpoint: Endpoint, method: Method<Req, Res>, request: Req, deadline: number, signal: AbortSignal | undefined): Promise<Res> {
    return new Promise<Res>((resolve, reject) =>
      unaryAttempt(endpoint, method, request, { metadata: this.#metadata(), deadline, signal, finished: this.#finished }, (error, value) => (error === undefined ? resolve(value as Res) : reject(error))),
    );
  }

  #metadata(): Metadata {
    return callMetadata(this.#options.token);
  }
}
