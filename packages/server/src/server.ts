import { loadPackageDefinition as loadGrpcPackage, Server, ServerCredentials } from '@grpc/grpc-js';
import { ModelRegistry, silentLogger, type Backend, type InferenceObserver, type Logger, type ModelConfig, type ModelControlMode, type RepositoryReport } from '@modelserve/core';
import { combineObservers, DriftObserver, Metrics, RequestLog, type RequestLogPayloads, type Tracing } from '@modelserve/telemetry';
import type { JobsApi } from '@modelserve/jobs';
import { loadGrpcObject } from '@modelserve/proto';
import { reflectionFor, reflectionServices } from './reflection.js';
import { adminService } from './admin-service.js';
import type { AuthOptions } from './auth.js';
import { Ingress, type Access } from './ingress.js';
import { ServerHealth } from './health.js';
import { ServerStatsRecorder } from './server-stats.js';
import { InflightRequests } from './inference-calls.js';
import { OpenStreams } from './stream.js';
import { inferenceService } from './inference-service.js';
import { jobsNotServed, jobsService } from './jobs-service.js';
import { predictorService } from './predictor-service.js';
import { predictWireService } from './predict-wire-service.js';
import { serveCallsDirectly } from './direct-calls.js';
import { directCallsFromEnv } from './direct-calls-env.js';
import { serveMetrics, type MetricsEndpoint } from './metrics-endpoint.js';
import { redisSharedCache } from './shared-cache-redis.js';

/** Options of `startServer`; all but the repository have defaults. */
export interface ServerOptions {
  /** The model repository directory. */
  modelRepository: string;
  /** Address to listen on. Default `0.0.0.0`. */
  host?: string;
  /** Port; 0 picks a free one. Default 8001. */
  port?: number;
  /** Largest message received or sent, in bytes; larger ones get RESOURCE_EXHAUSTED. Default 64 MiB. */
  maxMessageBytes?: number;
  /** Concurrent calls (HTTP/2 streams) per client connection; more wait for one to finish. Default 256. */
  maxConcurrentStreams?: number;
  /**
   * Connections are closed (gracefully, GOAWAY) after this long, so clients reconnect and
   * rebalance over replicas that appeared since. Default 300000 (5 min); 0 for never.
   */
  maxConnectionAgeMs?: number;
  /** Longest BYTES element a request may carry; longer is INVALID_ARGUMENT. Default 16 MiB. */
  maxBytesElement?: number;
  /**
   * Most models loaded at once; loading one more is RESOURCE_EXHAUSTED, except with
   * `modelControlMode` on-demand, which unloads the least recently used idle model. Default: no limit.
   */
  maxLoadedModels?: number;
  /** Memory loaded models may take, in MiB, as estimated from their files; the same limit as `maxLoadedModels` otherwise. Default: no limit. */
  memoryBudgetMb?: number;
  /** Which models load and when: `none` (all at start), `explicit`, `on-demand`. Default `none`. */
  modelControlMode?: ModelControlMode;
  /** With `explicit` or `on-demand`: models loaded at start. */
  loadModels?: readonly string[];
  /** Most model versions loading at once. Default: one per core. */
  loadConcurrency?: number;
  /** Threads of the shared inference pool that runs every model. Default: one per core. */
  inferenceThreads?: number;
  /** A lone request of a model whose fastest run took at most this many µs runs on an inline copy of its session, not the pool; 0: never. Default 200. */
  inlineMaxUs?: number;
  /** How long accepted calls may take to finish when the server drains. Default 10000 ms. */
  drainGraceMs?: number;
  /** Requests in flight per PredictStream or ModelStreamInfer before reading pauses. Default 256. */
  maxInflightPerStream?: number;
  /** Structured logger (pino fits). Default: silent. */
  logger?: Logger;
  /** The inference backend. Default: onnxruntime on the shared inference pool. */
  backend?: Backend;
  /** TLS: PEM certificate chain and key; with `clientCa`, clients must present a certificate it signed (mTLS). Default: plaintext. */
  tls?: { cert: Buffer | string; key: Buffer | string; clientCa?: Buffer | string | undefined } | undefined;
  /** Bearer tokens: `adminToken` for methods that change state, `inferenceToken` for the rest (health and reflection stay open). */
  auth?: AuthOptions;
  /**
   * Milliseconds added before each inference answer. For tests and demos of client-side load
   * balancing (a slow replica); default 0.
   */
  inferenceDelayMs?: number;
  /**
   * The inference methods (Predict, PredictStream, ModelInfer, ModelStreamInfer) are read and
   * answered directly on grpc-js's HTTP/2 streams (see direct-calls.ts), which takes about a third
   * off grpc-js's cost per call; everything else stays with grpc-js. Default: `$MODELSERVE_DIRECT_CALLS`
   * (`0`/`false` off; `1`/`true`/unset on); false leaves every call to grpc-js.
   */
  directCalls?: boolean;
  /**
   * Prometheus metrics at `http://metricsHost:metricsPort/metrics` (0 picks a free port). Default:
   * none (the CLI's `--metrics-port` defaults to 8002).
   */
  metricsPort?: number;
  /** Address the metrics endpoint listens on. Default: `host`. */
  metricsHost?: string;
  /** Also export Triton's metric names (nv_inference_*). Default false. */
  metricsTritonNames?: boolean;
  /** Hears of every request and run besides the metrics, traces and request log. */
  observer?: InferenceObserver;
  /** OpenTelemetry traces of inference requests (a span per request, W3C traceparent continued); shut down with the server. Default: none. */
  tracing?: Tracing;
  /**
   * Logs a sample of the requests (`sampleRate`, 0 to 1) through `logger` as `request` records:
   * model, version, id, status, time, and with `payloads` a digest of each input or its values.
   * Default: none.
   */
  requestLog?: { sampleRate: number; payloads?: RequestLogPayloads };
  /**
   * Batch jobs (modelserve.v1.Jobs, tokens as for inference): an engine the caller owns, or a
   * function that opens one on the server's registry. The function is called once the repository
   * has loaded (the engine resumes jobs on the registry's models; until then Jobs calls are
   * UNAVAILABLE), and the engine it opens is the server's: closed after the drain, before the
   * models unload. Default: none, and Jobs calls are UNIMPLEMENTED.
   */
  jobs?: JobsApi | ((registry: ModelRegistry) => Promise<JobsApi & { close(): Promise<void> }>) | undefined;
}

/** A running modelserve server. */
export interface RunningServer {
  /** The port bound (useful with port 0). */
  readonly port: number;
  /** `host:port` to dial, e.g. `127.0.0.1:8001`. */
  readonly address: string;
  readonly registry: ModelRegistry;
  /** What loading the repository at start-up left out: folders laid out wrongly, models a limit kept from loading. */
  readonly repositoryReport: RepositoryReport;
  /** Whether the inference methods are answered directly (see `ServerOptions.directCalls`): asked for, and not refused. */
  readonly directCalls: boolean;
  /** `host:port` of the metrics endpoint (`/metrics`); undefined when metrics are off. */
  readonly metricsAddress: string | undefined;
  /** The server's metrics; undefined when they are off. */
  readonly metrics: Metrics | undefined;
  /** Stops taking calls, lets accepted ones finish (at most `graceMs`, default `drainGraceMs`), then unloads the models. */
  close(graceMs?: number): Promise<void>;
  /** Settles once the server has stopped, whoever stopped it (`close`, or `ModelAdmin/Drain`). */
  readonly closed: Promise<void>;
}

/** Methods that change what the server serves: they need the admin token when one is set. */
export const adminMethods: readonly string[] = [
  'LoadModel',
  'UnloadModel',
  'SetRouting',
  'RollbackRouting',
  'ReloadRepository',
  'SetServingStatus',
  'Drain',
  'RepositoryModelLoad',
  'RepositoryModelUnload',
];

function serverCredentials(tls: ServerOptions['tls']): ServerCredentials {
  if (tls === undefined) return ServerCredentials.createInsecure();
  const pem = (v: Buffer | string): Buffer => (typeof v === 'string' ? Buffer.from(v) : v);
  const clientCa = tls.clientCa === undefined ? null : pem(tls.clientCa);
  return ServerCredentials.createSsl(clientCa, [{ cert_chain: pem(tls.cert), private_key: pem(tls.key) }], clientCa !== null);
}

/** The inference streams, whose handlers answer a malformed message in-band, as they answer every request. */
const inBandStreams = ['PredictStream', 'ModelStreamInfer'];
/** Admin methods need the admin token; every other method of modelserve's own services the inference token. */
const accessOf = (method: string): Access => (adminMethods.includes(method) ? 'admin' : 'inference');

/**
 * The server could not bind its address: `reason` says why (`in-use`: another process listens on
 * the port; `denied`: the port needs privileges; `not-local`: the host is not an address of this
 * machine; `other`).
 */
export class BindError extends Error {
  override readonly name = 'BindError';

  constructor(
    readonly host: string,
    readonly port: number,
    readonly reason: 'in-use' | 'denied' | 'not-local' | 'other',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** grpc-js's bind failure ("No address added out of total 1 resolved errors: [listen EADDRINUSE: …]") in words. */
function bindError(error: Error, host: string, port: number, what = ''): BindError {
  const where = `${what === '' ? '' : `${what} `}port ${port} on ${host}`;
  if (/EADDRINUSE/.test(error.message)) return new BindError(host, port, 'in-use', `${where} is in use (another modelserve?): stop it or choose another port`, { cause: error });
  if (/EACCES/.test(error.message)) return new BindError(host, port, 'denied', `${where} cannot be bound: permission denied (ports below 1024 need privileges)`, { cause: error });
  if (/EADDRNOTAVAIL/.test(error.message)) return new BindError(host, port, 'not-local', `${host} is not an address of this machine: cannot listen on ${where}`, { cause: error });
  return new BindError(host, port, 'other', `cannot listen on ${where}: ${error.message}`, { cause: error });
}

/** A model's configuration, or undefined for a model the registry does not have. */
function configOf(registry: ModelRegistry, model: string): ModelConfig | undefined {
  try {
    return registry.config(model);
  } catch {
    return undefined;
  }
}

/** Default largest message: 64 MiB. */
export const defaultMaxMessageBytes = 64 * 1024 * 1024;

/**
 * Serves every API on one port, then loads the repository: the port is bound first, so a port in
 * use is reported at once, not after every model has loaded; until the models are loaded every
 * health status is NOT_SERVING (OIP ServerReady false) and a request for a model not registered
 * yet is UNAVAILABLE. Resolves once every model is READY or FAILED.
 */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const wantsDirect = options.directCalls ?? directCallsFromEnv();
  const logger = options.logger ?? silentLogger;
  const metrics = options.metricsPort === undefined ? undefined : new Metrics({ tritonNames: options.metricsTritonNames === true });
  const requestLog = options.requestLog === undefined || options.requestLog.sampleRate === 0 ? undefined : new RequestLog({ ...options.requestLog, logger });
  // Watches the versions whose config.yaml has a drift block; costs a map lookup per request when none has.
  const drift = new DriftObserver({ repository: options.modelRepository, logger, config: (model) => configOf(registry, model) });
  if (metrics !== undefined) drift.registerMetrics(metrics.registry);
  const observer = combineObservers(metrics, requestLog, drift, options.tracing?.inferenceObserver(), options.observer);
  const registry: ModelRegistry = ModelRegistry.create({
    repository: options.modelRepository,
    logger,
    ...(options.maxBytesElement !== undefined ? { maxBytesElement: options.maxBytesElement } : {}),
    ...(options.maxLoadedModels !== undefined ? { maxLoadedModels: options.maxLoadedModels } : {}),
    ...(options.memoryBudgetMb !== undefined ? { memoryBudgetBytes: options.memoryBudgetMb * 1024 * 1024 } : {}),
    ...(options.modelControlMode !== undefined ? { controlMode: options.modelControlMode } : {}),
    ...(options.loadModels !== undefined ? { loadModels: options.loadModels } : {}),
    ...(options.loadConcurrency !== undefined ? { loadConcurrency: options.loadConcurrency } : {}),
    ...(options.inferenceThreads !== undefined ? { inferenceThreads: options.inferenceThreads } : {}),
    ...(options.inlineMaxUs !== undefined ? { inlineMaxUs: options.inlineMaxUs } : {}),
    ...(options.backend ? { backend: options.backend } : {}),
    ...(observer !== undefined ? { observer } : {}),
    // A response_cache with `shared:` keeps its entries in Redis too (one connection per URL).
    sharedCache: (url) => redisSharedCache(url, { logger }),
  });
  metrics?.attach(registry);
  const maxMessageBytes = options.maxMessageBytes ?? defaultMaxMessageBytes;
  const maxConnectionAgeMs = options.maxConnectionAgeMs ?? 300_000;
  const server = new Server({
    'grpc.max_receive_message_length': maxMessageBytes,
    'grpc.max_send_message_length': maxMessageBytes,
    'grpc.max_concurrent_streams': options.maxConcurrentStreams ?? 256,
    // modelserve serves no channelz, and calls answered directly would not be counted in it.
    'grpc.enable_channelz': 0,
    ...(maxConnectionAgeMs > 0 ? { 'grpc.max_connection_age_ms': maxConnectionAgeMs, 'grpc.max_connection_age_grace_ms': 30_000 } : {}),
  });
  const grpcObject = loadGrpcObject(loadGrpcPackage);
  const health = new ServerHealth(registry);
  health.setLoading(true);
  const inflight = new InflightRequests();
  const streams = new OpenStreams();
  const inferenceOptions = { maxInflightPerStream: options.maxInflightPerStream ?? 256, delayMs: options.inferenceDelayMs ?? 0, inflight, streams, ...(options.tracing !== undefined ? { tracing: options.tracing } : {}) };
  const ingress = new Ingress(server, options.auth, metrics);
  const declared = { access: accessOf, inBand: inBandStreams };
  ingress.addService(predictWireService(grpcObject.modelserve.v1.Predictor.service), predictorService(registry, logger, inferenceOptions), declared);
  ingress.addService(grpcObject.inference.GRPCInferenceService.service, inferenceService(registry, logger, { ...inferenceOptions, isServing: () => health.serving }), declared);
  const serverStats = new ServerStatsRecorder();
  ingress.addService(grpcObject.modelserve.v1.ModelAdmin.service, adminService(registry, serverStats, health, logger, (graceMs) => void running.close(graceMs), drift), declared);
  // Registered with or without jobs: without, each call says how to turn them on.
  let jobs: JobsApi | undefined = typeof options.jobs === 'function' ? undefined : options.jobs;
  const jobsEngine = (): JobsApi => {
    if (jobs !== undefined) return jobs;
    throw jobsNotServed(options.jobs === undefined ? 'off' : 'starting');
  };
  ingress.addService(grpcObject.modelserve.v1.Jobs.service, jobsService(jobsEngine, logger, { streams, inflight }), declared);
  // The engine the server opens (options.jobs a function), once it is open or it is known there is none.
  let settleOwnedJobs: (engine: (JobsApi & { close(): Promise<void> }) | undefined) => void = () => undefined;
  const ownedJobs = new Promise<(JobsApi & { close(): Promise<void> }) | undefined>((resolve) => (settleOwnedJobs = resolve));
  health.addToServer(ingress.openRegistrar());
  // Reflection lists what this port serves (registered above), itself included.
  reflectionFor([...ingress.serviceNames(), ...reflectionServices]).addToServer(ingress.openRegistrar());

  const host = options.host ?? '0.0.0.0';
  const requestedPort = options.port ?? 8001;
  const target = host.includes(':') ? `[${host}]:${requestedPort}` : `${host}:${requestedPort}`;
  let port: number;
  try {
    port = await new Promise<number>((resolve, reject) => {
      server.bindAsync(target, serverCredentials(options.tls), (error, bound) => (error ? reject(error) : resolve(bound)));
    });
  } catch (error) {
    serverStats.stop();
    throw error instanceof Error ? bindError(error, host, requestedPort) : error;
  }
  let metricsEndpoint: MetricsEndpoint | undefined;
  if (metrics !== undefined) {
    const metricsHost = options.metricsHost ?? host;
    try {
      metricsEndpoint = await serveMetrics(metrics, metricsHost, options.metricsPort!, logger);
    } catch (error) {
      serverStats.stop();
      server.forceShutdown();
      throw error instanceof Error ? bindError(error, metricsHost, options.metricsPort!, 'metrics') : error;
    }
    logger.info({ address: metricsEndpoint.address }, 'metrics at /metrics');
  }
  let directCalls = false;
  if (wantsDirect) {
    const install = serveCallsDirectly(server, { maxReceiveMessageBytes: maxMessageBytes, maxSendMessageBytes: maxMessageBytes });
    directCalls = install.installed;
    if (!install.installed) logger.warn({ reason: install.reason }, `calls are not answered directly: ${install.reason}; grpc-js answers them`);
  }
  const dialHost = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  const address = dialHost.includes(':') ? `[${dialHost}]:${port}` : `${dialHost}:${port}`;
  const boundAddress = target.replace(/:\d+$/, `:${port}`);
  logger.info({ address: boundAddress, repository: options.modelRepository }, 'port bound; loading the model repository');
  // The models load while the port is open; the server can be closed (ModelAdmin/Drain) meanwhile.
  const loading = registry.loadRepository();
  const loaded = loading.then(
    () => undefined,
    () => undefined,
  );
  let repositoryReport: RepositoryReport = { problems: [], notLoaded: [] };

  let closing: Promise<void> | undefined;
  let closedResolve: () => void = () => undefined;
  const closed = new Promise<void>((resolve) => (closedResolve = resolve));
  const running: RunningServer = {
    port,
    address,
    registry,
    get repositoryReport() {
      return repositoryReport;
    },
    directCalls,
    metricsAddress: metricsEndpoint?.address,
    metrics,
    closed,
    close(graceMs = options.drainGraceMs ?? 10_000) {
      closing ??= (async () => {
        health.setNotServing();
        // New calls are refused; accepted inference requests finish; inference streams end with
        // UNAVAILABLE once they have answered what they accepted. Long-lived calls that carry no
        // request (health watches) are then cut rather than waited for.
        streams.drainAll();
        await new Promise<void>((resolve) => {
          const finish = (): void => {
            clearTimeout(timer);
            clearInterval(poll);
            resolve();
          };
          const timer = setTimeout(() => {
            server.forceShutdown();
            finish();
          }, graceMs);
          // Idle for two polls in a row: the last answers have left the process.
          let idlePolls = 0;
          const poll = setInterval(() => {
            idlePolls = inflight.active === 0 ? idlePolls + 1 : 0;
            if (idlePolls >= 2) {
              server.forceShutdown();
              finish();
            }
          }, 50);
          server.tryShutdown(finish);
        });
        // Models still loading would be left running: unload once the repository has loaded.
        await loaded;
        // The job engine stops taking chunks and lets the running ones commit while their models are still there.
        const engine = await ownedJobs;
        await engine?.close().catch((error: unknown) => logger.error({ err: error }, 'the job engine did not close cleanly'));
        await registry.close();
        await metricsEndpoint?.close();
        await options.tracing?.shutdown().catch((error: unknown) => logger.warn({ reason: String(error) }, 'traces could not be flushed'));
        serverStats.stop();
        logger.info({}, 'modelserve stopped');
        closedResolve();
      })();
      return closing;
    },
  };
  try {
    repositoryReport = await loading;
  } catch (error) {
    settleOwnedJobs(undefined);
    await running.close(0);
    throw error;
  }
  if (typeof options.jobs === 'function' && closing === undefined) {
    try {
      const engine = await options.jobs(registry);
      settleOwnedJobs(engine);
      jobs = engine;
    } catch (error) {
      settleOwnedJobs(undefined);
      await running.close(0);
      throw error;
    }
  } else {
    settleOwnedJobs(undefined);
  }
  if (closing === undefined) {
    health.setLoading(false);
    logger.info({ address: boundAddress, models: registry.list().length, directCalls }, 'modelserve listening');
  }
  return running;
}
