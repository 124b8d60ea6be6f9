import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { format } from 'node:util';
import { setLogger } from '@grpc/grpc-js';
import type { Logger } from '@modelserve/core';
import { BindError, startServer, type ModelControlMode, type RunningServer, type ServerOptions } from '@modelserve/server';
import { Tracing } from '@modelserve/telemetry';
import { pino } from 'pino';
import { portInUseMessage } from '../port-owner.js';

/** The demo model repository shipped with the CLI. */
export const bundledRepository = fileURLToPath(new URL('../../models', import.meta.url));

/** Options of `modelserve serve`. */
export interface ServeOptions {
  modelRepository?: string;
  host: string;
  port: number;
  maxMessageBytes: number;
  logLevel: string;
  inferenceDelayMs: number;
  repositoryPollInterval: number;
  maxConcurrentStreams: number;
  maxConnectionAgeMs: number;
  drainGraceMs: number;
  maxBytesElement: number;
  maxLoadedModels: number;
  memoryBudgetMb: number;
  modelControlMode: ModelControlMode;
  loadModel: string[];
  loadConcurrency: number;
  inferenceThreads: number;
  inlineMaxUs: number;
  /** Undefined: 8002, or a free port when `port` is 0; 0: no metrics. */
  metricsPort?: number;
  metricsHost?: string;
  metricsTritonNames?: boolean;
  otlpEndpoint?: string;
  traceRatio: number;
  requestLogSample: number;
  requestLogPayloads: 'none' | 'digest' | 'full';
  tlsCert?: string;
  tlsKey?: string;
  tlsClientCa?: string;
  adminToken?: string;
  inferenceToken?: string;
  /** False with `--no-direct-calls`; otherwise true, and `$MODELSERVE_DIRECT_CALLS` decides. */
  directCalls: boolean;
  /** True unless `--no-exit-on-error`: exit non-zero when a model fails to load at start-up (Triton's --exit-on-error). */
  exitOnError: boolean;
  /** Batch jobs with their state in an embedded SQLite store in this directory. */
  jobsDir?: string;
  /** Dataset and output paths of jobs are relative to this directory; unset: inline rows only. */
  jobsDataDir?: string;
  /** Batch jobs on a NATS JetStream server (`nats://host:port`) shared by replicas, instead of `jobsDir`. */
  jobsQueue?: string;
  /** Job chunks this server runs at once; undefined: the engine's default. */
  jobsConcurrency?: number;
  jobsBusyShare?: number;
  /** Rows one job may have; undefined: the engine's default. */
  jobsMaxRows?: number;
  /** Jobs queued or running at once; undefined: the engine's default. */
  jobsMaxQueued?: number;
  /** With `jobsQueue`: how long a chunk may go unacknowledged (its replica died) before another replica gets it; undefined: the engine's default. */
  jobsAckWaitMs?: number;
}

/**
 * What went wrong at start-up, in words: `failures` are models that did not load (a version FAILED,
 * or a model folder in which no version could be found); `warnings` the rest the repository left
 * out (stray folders and files, models beyond --max-loaded-models).
 */
export function startupProblems(server: Pick<RunningServer, 'registry' | 'repositoryReport'>): { failures: string[]; warnings: string[] } {
  const failures: string[] = [];
  const warnings: string[] = [];
  for (const problem of server.repositoryReport.problems) (problem.model === undefined ? warnings : failures).push(problem.message);
  for (const model of server.registry.list()) {
    // Versions failing for one reason (an invalid config.yaml fails them all) make one line.
    const byReason = new Map<string, number[]>();
    for (const v of model.versions) if (v.state === 'FAILED') byReason.set(v.reason, [...(byReason.get(v.reason) ?? []), v.version]);
    for (const [reason, versions] of byReason) {
      failures.push(`model '${model.name}' ${versions.length === 1 ? 'version' : 'versions'} ${versions.join(', ')} failed to load: ${reason}`);
    }
  }
  for (const { reason } of server.repositoryReport.notLoaded) warnings.push(reason);
  return { failures, warnings };
}

/** The TLS files the options name, read; undefined for plaintext. */
async function tlsFiles(options: ServeOptions): Promise<{ cert: Buffer; key: Buffer; clientCa?: Buffer } | undefined> {
  if (options.tlsCert === undefined && options.tlsKey === undefined) {
    if (options.tlsClientCa !== undefined) throw new Error('--tls-client-ca needs --tls-cert and --tls-key');
    return undefined;
  }
  if (options.tlsCert === undefined || options.tlsKey === undefined) throw new Error('--tls-cert and --tls-key go together');
  const [cert, key, clientCa] = await Promise.all([readFile(options.tlsCert), readFile(options.tlsKey), options.tlsClientCa === undefined ? undefined : readFile(options.tlsClientCa)]);
  return clientCa === undefined ? { cert, key } : { cert, key, clientCa };
}

/** Serves a model repository until SIGINT or SIGTERM. */
export async function serve(options: ServeOptions): Promise<void> {
  // Synchronous writes: the lines logged just before exit must not be lost (there is no log line per request).
  const logger = pino({ level: options.logLevel, base: { service: 'modelserve' } }, pino.destination({ dest: 1, sync: true }));
  // grpc-js's own lines (e.g. "No address added" before the port-in-use line) join the JSON log
  // instead of stderr, which carries only the lines written for a person.
  const grpcLine = (level: 'error' | 'info' | 'debug') => (message?: unknown, ...rest: unknown[]) => logger[level]({ source: 'grpc-js' }, format(message, ...rest));
  setLogger({ error: grpcLine('error'), info: grpcLine('info'), debug: grpcLine('debug') });
  const repository = options.modelRepository ?? bundledRepository;
  logger.info({ repository }, 'loading model repository');
  // SIGHUP, `modelserve reload` and the poll re-read the repository, one reload at a time. The
  // handler is in place before the port opens: SIGHUP's default action would end the process.
  let started: (() => void) | undefined;
  let reloading: Promise<unknown> = new Promise<void>((resolve) => (started = resolve));
  const reload = (why: string): void => {
    reloading = reloading
      .then(async () => {
        logger.info({ why }, 'reloading model repository');
        await server.registry.reload();
      })
      .catch((error: unknown) => logger.error({ err: error, why }, 'reload failed'));
  };
  process.on('SIGHUP', () => reload('SIGHUP'));
  if (options.loadModel.length > 0 && options.modelControlMode === 'none') {
    throw new Error(`--load-model needs --model-control-mode explicit or on-demand (with none every model loads at start), got --model-control-mode none`);
  }
  const jobs = await jobsOpener(options, logger);
  let server: RunningServer;
  try {
    server = await startServer({
      modelRepository: repository,
      host: options.host,
      port: options.port,
      maxMessageBytes: options.maxMessageBytes,
      inferenceDelayMs: options.inferenceDelayMs,
      maxConcurrentStreams: options.maxConcurrentStreams,
      maxConnectionAgeMs: options.maxConnectionAgeMs,
      drainGraceMs: options.drainGraceMs,
      maxBytesElement: options.maxBytesElement,
      ...(options.maxLoadedModels > 0 ? { maxLoadedModels: options.maxLoadedModels } : {}),
      ...(options.memoryBudgetMb > 0 ? { memoryBudgetMb: options.memoryBudgetMb } : {}),
      modelControlMode: options.modelControlMode,
      loadModels: options.loadModel,
      loadConcurrency: options.loadConcurrency,
      inferenceThreads: options.inferenceThreads,
      inlineMaxUs: options.inlineMaxUs,
      ...metricsOptions(options),
      ...(options.otlpEndpoint !== undefined ? { tracing: new Tracing({ otlpEndpoint: otlpUrl(options.otlpEndpoint), ratio: options.traceRatio }) } : {}),
      ...(options.requestLogSample > 0 ? { requestLog: { sampleRate: options.requestLogSample, payloads: options.requestLogPayloads } } : {}),
      tls: await tlsFiles(options),
      // Only the flag's "off" is an answer: without it, startServer reads $MODELSERVE_DIRECT_CALLS.
      ...(options.directCalls ? {} : { directCalls: false }),
      auth: {
        adminToken: options.adminToken ?? process.env['MODELSERVE_ADMIN_TOKEN'],
        inferenceToken: options.inferenceToken ?? process.env['MODELSERVE_INFERENCE_TOKEN'],
      },
      // Opened by the server once the repository has loaded; closed by it after the drain, before the models unload.
      jobs,
      logger,
    });
  } catch (error) {
    // The port is bound before any model loads: a port in use is told at once, with what to do.
    if (error instanceof BindError) {
      const advice = { 'in-use': undefined, denied: 'pass --port 1024 or above', 'not-local': 'pass --host', other: undefined }[error.reason];
      const message = error.reason === 'in-use' ? await portInUseMessage(error.host, error.port) : advice === undefined ? error.message : `${error.message}: ${advice}`;
      logger.error({ host: error.host, port: error.port, reason: message }, 'cannot listen');
      throw new Error(message, { cause: error });
    }
    throw error;
  }
  for (const model of server.registry.list()) {
    logger.info({ model: model.name, default_version: model.defaultVersion ?? null, versions: model.versions }, 'model status');
  }
  // Start-up problems as lines a person reads on stderr, besides the JSON log lines on stdout.
  const { failures, warnings } = startupProblems(server);
  for (const warning of warnings) console.error(`modelserve: warning: ${warning}`);
  for (const failure of failures) console.error(`modelserve: error: ${failure}`);
  if (failures.length > 0) {
    const what = failures.length === 1 ? 'a model failed' : `${failures.length} models failed`;
    if (options.exitOnError) {
      console.error(`modelserve: ${what} to load at start-up; exiting (--no-exit-on-error serves the models that loaded)`);
      logger.error({ failures }, 'exiting: models failed to load at start-up (--exit-on-error)');
      await server.close(0);
      process.exit(1);
    }
    console.error(`modelserve: ${what} to load at start-up; serving the models that loaded (--no-exit-on-error)`);
  }
  started?.();
  // ModelAdmin/Drain stops the server from within: exit once it has.
  void server.closed.then(() => process.exit(0));
  const poll = options.repositoryPollInterval > 0 ? setInterval(() => reload('poll'), options.repositoryPollInterval * 1000) : undefined;
  const stop = (signal: string): void => {
    clearInterval(poll);
    logger.info({ signal }, 'shutting down');
    server.close(options.drainGraceMs).then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
}

/** The metrics endpoint's options: port 8002 by default (a free one beside `--port 0`), none with `--metrics-port 0`. */
function metricsOptions(options: ServeOptions): { metricsPort?: number; metricsHost?: string; metricsTritonNames?: boolean } {
  if (options.metricsPort === 0) return {};
  return {
    metricsPort: options.metricsPort ?? (options.port === 0 ? 0 : defaultMetricsPort),
    ...(options.metricsHost !== undefined ? { metricsHost: options.metricsHost } : {}),
    metricsTritonNames: options.metricsTritonNames === true,
  };
}

/** Triton's metrics port. */
export const defaultMetricsPort = 8002;

/**
 * How the server opens the job engine (`--jobs-dir` or `--jobs-queue`), or undefined when jobs are
 * off. The --jobs-* flags that tune jobs are refused without one of the two, as are both at once,
 * a --jobs-queue that is not a nats:// URL and a --jobs-data-dir that is not a directory.
 */
async function jobsOpener(options: ServeOptions, logger: Logger): Promise<ServerOptions['jobs']> {
  if (options.jobsDir === undefined && options.jobsQueue === undefined) {
    const tuning: Array<[string, unknown]> = [
      ['--jobs-data-dir', options.jobsDataDir],
      ['--jobs-concurrency', options.jobsConcurrency],
      ['--jobs-busy-share', options.jobsBusyShare],
      ['--jobs-max-rows', options.jobsMaxRows],
      ['--jobs-max-queued', options.jobsMaxQueued],
      ['--jobs-ack-wait-ms', options.jobsAckWaitMs],
    ];
    const given = tuning.filter(([, value]) => value !== undefined).map(([flag]) => flag);
    if (given.length > 0) throw new Error(`${given.join(', ')} ${given.length === 1 ? 'needs' : 'need'} --jobs-dir or --jobs-queue (batch jobs are off without one), got neither`);
    return undefined;
  }
  if (options.jobsDir !== undefined && options.jobsQueue !== undefined) {
    throw new Error('expected --jobs-dir (jobs in an embedded SQLite store) or --jobs-queue (jobs in NATS JetStream, shared by replicas), got both');
  }
  if (options.jobsAckWaitMs !== undefined && options.jobsQueue === undefined) {
    throw new Error('--jobs-ack-wait-ms needs --jobs-queue (with --jobs-dir one server runs every chunk), got --jobs-dir');
  }
  const queueUrl = options.jobsQueue === undefined ? undefined : natsUrl(options.jobsQueue);
  const jobsDir = options.jobsDir === undefined ? undefined : path.resolve(options.jobsDir);
  const dataDir = options.jobsDataDir === undefined ? undefined : path.resolve(options.jobsDataDir);
  if (dataDir !== undefined) {
    const found = await stat(dataDir).catch((error: NodeJS.ErrnoException) => error);
    if (found instanceof Error) throw new Error(`--jobs-data-dir: expected a directory, got ${JSON.stringify(options.jobsDataDir)}: ${found.code === 'ENOENT' ? 'no such file or directory' : found.message}`);
    if (!found.isDirectory()) throw new Error(`--jobs-data-dir: expected a directory, got ${JSON.stringify(options.jobsDataDir)}, a file`);
  }
  return async (registry) => {
    // Loaded only when jobs are on: the SQLite and NATS clients add to every command's start-up otherwise.
    const { openJobs } = await import('@modelserve/jobs');
    const engine = await openJobs({
      registry,
      jobsDir,
      dataDir,
      queueUrl,
      concurrency: options.jobsConcurrency,
      busyShare: options.jobsBusyShare,
      maxRowsPerJob: options.jobsMaxRows,
      maxActiveJobs: options.jobsMaxQueued,
      ackWaitMs: options.jobsAckWaitMs,
      logger,
    });
    logger.info({ jobsDir: jobsDir ?? null, queue: queueUrl ?? null, dataDir: dataDir ?? null }, 'batch jobs on');
    return engine;
  };
}

/** `--jobs-queue` as a nats:// URL, else refused with what was expected. */
function natsUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error(`--jobs-queue: expected a nats://host:port URL such as nats://127.0.0.1:4222, got ${JSON.stringify(value)}`);
  }
  if (url.protocol !== 'nats:' || url.hostname === '') throw new Error(`--jobs-queue: expected a nats://host:port URL such as nats://127.0.0.1:4222, got ${JSON.stringify(value)}`);
  return value;
}

/** `--otlp-endpoint` as a URL: http or https, else refused with what was expected. */
function otlpUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error(`--otlp-endpoint: expected an http:// or https:// URL such as http://127.0.0.1:4318/v1/traces, got ${JSON.stringify(value)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`--otlp-endpoint: expected an http:// or https:// URL, got ${JSON.stringify(value)}`);
  return url.href;
}
