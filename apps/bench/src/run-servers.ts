/**
 * Measuring one server configuration: start the server, check every model answers correctly, warm
 * it up, then measure its points. A server that exits without being asked to (a crash, or a signal
 * from outside the benchmark) is restarted and the point measured again, at most MAX_RESTARTS times;
 * the exits are kept in the run's problems either way.
 */
import { AdminClient } from './admin.js';
import { formatLatency, formatRate } from './format.js';
import type { LoadDriver } from './load-generator.js';
import { meanBatchSize, observeWindow, readBatchCounts, readRequestCounts, type RequestCounts } from './observe.js';
import type { BenchOptions } from './options.js';
import { benchModels } from './payloads.js';
import { configLabel, loadLabel, pointsFor, type serverConfigs } from './plan.js';
import type { Progress } from './progress.js';
import { startEchoServer, startNaiveServer, type RunningServer } from './servers-baseline.js';
import { startModelserve, unreadyModels } from './servers-modelserve.js';
import type { BenchResults, ModelKey, PointResult, PointSpec } from './types.js';
import { verifyPrediction } from './verify.js';

/** Restarts of a server configuration that exited on its own, before its remaining points are given up. */
export const MAX_RESTARTS = 2;

/** State shared by the steps of a run. */
export interface Run {
  options: BenchOptions;
  progress: Progress;
  generator: LoadDriver;
  /** The points are measured with h2load (server-side error counts, no message latency for streams). */
  h2load: boolean;
  repositories: Record<'off' | 'on', string>;
  payloads: Map<ModelKey, string[]>;
  results: BenchResults;
}

type ServerConfig = (typeof serverConfigs)[number];

/** A started server with its admin connection (every server answers GetServerStats; the rest is modelserve's) and the models that do not answer right. */
interface Serving {
  server: RunningServer;
  admin: AdminClient | undefined;
  broken: Map<ModelKey, string>;
}

function startServer(run: Run, config: ServerConfig): Promise<RunningServer> {
  const names = run.options.models.map((key) => benchModels[key].name);
  if (config === 'echo') return startEchoServer(run.options.echoTransport);
  if (config === 'naive') return startNaiveServer(run.repositories.off, names);
  const repository = config === 'on' ? run.repositories.on : run.repositories.off;
  return startModelserve(repository, (line) => run.progress.line(`modelserve (${config}): ${line}`));
}

/** A fresh server (and its JIT) warms up once per model at the sweep's heaviest unary load, unrecorded. */
async function warmUp(run: Run, server: RunningServer, models: readonly ModelKey[]): Promise<void> {
  const { options } = run;
  const heaviest = Math.max(1, ...options.concurrency);
  for (const model of models) {
    await run.generator.run({
      address: server.address,
      method: 'unary',
      payloads: run.payloads.get(model)!,
      concurrency: options.rates.length > 0 ? Math.min(heaviest, 16) : heaviest,
      streams: 0,
      rate: 0,
      warmupMs: 0,
      durationMs: options.warmupMs,
      deadlineMs: options.deadlineMs,
      channels: options.channels,
    });
  }
}

/** Starts the server, checks each model (state, then one decoded prediction) and warms it up. */
async function serve(run: Run, config: ServerConfig, models: readonly ModelKey[]): Promise<Serving> {
  const server = await startServer(run, config);
  const admin = new AdminClient(server.address);
  try {
    const unready = isModelserve(config) ? await unreadyModels(admin, models.map((k) => benchModels[k].name)) : new Map<string, string>();
    const broken = new Map<ModelKey, string>();
    for (const key of models) {
      const model = benchModels[key];
      const reason = unready.get(model.name) ?? (await verifyPrediction(server.address, model, config !== 'echo'));
      if (reason !== undefined) broken.set(key, `${model.name} not measured: ${reason}`);
    }
    await warmUp(run, server, models.filter((m) => !broken.has(m)));
    return { server, admin, broken };
  } catch (error) {
    admin?.close();
    await server.stop();
    throw error;
  }
}

async function stopServing(serving: Serving | undefined): Promise<void> {
  serving?.admin?.close();
  await serving?.server.stop();
}

/** Whether a configuration is modelserve itself (statistics, health, batching) rather than a baseline. */
const isModelserve = (config: ServerConfig): boolean => config === 'on' || config === 'off';

async function measurePoint(run: Run, serving: Serving, point: PointSpec): Promise<PointResult> {
  const { options } = run;
  const { server } = serving;
  const model = benchModels[point.model];
  // Statistics and health come from modelserve; the event-loop delay from every server.
  const admin = isModelserve(point.config) ? serving.admin : undefined;
  const before = admin === undefined ? undefined : await readBatchCounts(admin, model.name);
  const spec = {
    address: server.address,
    method: point.method,
    payloads: run.payloads.get(point.model)!,
    concurrency: point.concurrency,
    streams: point.streams,
    rate: point.rate,
    warmupMs: options.warmupMs,
    durationMs: options.durationMs,
    deadlineMs: options.deadlineMs,
    maxInFlight: options.maxInFlight,
    channels: options.channels,
    ...(options.streamMessages > 0 ? { messagesPerStream: options.streamMessages } : {}),
  };
  const observing = serving.admin === undefined ? undefined : observeWindow(serving.admin, options.warmupMs, options.durationMs, admin !== undefined);
  // h2load cannot see gRPC errors (HTTP 200 with a grpc-status trailer): the server's counts over the
  // window say. Both are read on timers, the end one just before h2load ends its window and resets
  // the streams still in flight (which the server would count as failed calls).
  const counts = (afterMs: number): Promise<RequestCounts | undefined> | undefined =>
    admin === undefined || !run.h2load ? undefined : sleep(afterMs).then(() => readRequestCounts(admin, model.name));
  const countsAtStart = counts(options.warmupMs);
  const countsAtEnd = counts(options.warmupMs + options.durationMs);
  const outcome = await run.generator.run(spec, (completed) => run.progress.note(`${completed} answered`));
  const observed = await observing;
  const windowStart = await countsAtStart;
  const windowEnd = await countsAtEnd;
  const after = admin === undefined ? undefined : await readBatchCounts(admin, model.name);
  const result: PointResult = {
    ...point,
    requestsPerSecond: outcome.requestsPerSecond,
    samplesPerSecond: outcome.requestsPerSecond,
    latency: outcome.latency,
    errors: outcome.errors,
    dropped: outcome.dropped,
  };
  addServerCounts(result, windowStart, windowEnd);
  const gap = result.serverRequests === undefined ? 0 : Math.abs(result.serverRequests - outcome.completed);
  if (gap > Math.max(50, outcome.completed * 0.05)) {
    run.results.problems.push({ config: point.config, model: point.model, message: `${point.method} ${loadLabel(point)}: h2load answered ${outcome.completed} in the window, the server counted ${result.serverRequests}` });
  }
  if (outcome.perStream !== undefined) result.perStream = outcome.perStream;
  if (outcome.messagesPerStream !== undefined) result.messagesPerStream = outcome.messagesPerStream;
  const batch = meanBatchSize(before, after);
  if (batch !== undefined) result.meanBatchSize = batch;
  if (observed !== undefined) result.server = observed;
  return result;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Records the server's counts over the window; its failures are the point's gRPC errors. */
export function addServerCounts(result: PointResult, start: RequestCounts | undefined, end: RequestCounts | undefined): void {
  if (start === undefined || end === undefined) return;
  result.serverRequests = end.requests - start.requests;
  result.serverFailures = end.failures - start.failures;
  if (result.serverFailures > 0) result.errors = { ...result.errors, 'gRPC errors (server count)': result.serverFailures };
}

function summary(result: PointResult): string {
  const errors = Object.values(result.errors).reduce((a, b) => a + b, 0);
  const batch = result.meanBatchSize === undefined ? '' : `, batch ${result.meanBatchSize.toFixed(1)}`;
  const p99 = result.perStream === undefined ? `p99 ${formatLatency(result.latency.p99)}` : `stream of ${result.messagesPerStream} p99 ${formatLatency(result.perStream.p99)}`;
  const counted = result.serverRequests === undefined ? '' : `, server counted ${result.serverRequests}`;
  return `${formatRate(result.requestsPerSecond)} req/s, ${p99}${batch}${counted}${errors > 0 ? `, ${errors} errors` : ''}`;
}

/** Measures every point of one server configuration. */
export async function runServerConfig(run: Run, config: ServerConfig): Promise<void> {
  const points = pointsFor(config, run.options);
  if (points.length === 0) return;
  const { progress } = run;
  const models = [...new Set(points.map((p) => p.model))];
  const problem = (message: string, model?: ModelKey): void => {
    run.results.problems.push(model === undefined ? { config, message } : { config, model, message });
    progress.line(`${configLabel(config, run.results)}${model === undefined ? '' : ` (${model})`}: ${message}`);
  };
  let restarts = 0;
  let givenUp = false;
  let serving: Serving | undefined;
  /** A working server, started (again) if needed; undefined once starting has failed or restarts are used up. */
  const ensureServing = async (): Promise<Serving | undefined> => {
    if (givenUp) return undefined;
    const gone = serving?.server.exitReason();
    if (serving !== undefined && gone === undefined) return serving;
    if (gone !== undefined) {
      await stopServing(serving);
      serving = undefined;
      givenUp = restarts >= MAX_RESTARTS;
      problem(`${gone}; ${givenUp ? `not restarted again (${MAX_RESTARTS} restarts), the remaining points are not measured` : `restarted (${++restarts} of at most ${MAX_RESTARTS})`}`);
      if (givenUp) return undefined;
    }
    progress.line(`starting ${configLabel(config, run.results)} (then ${run.options.warmupMs} ms of warm-up per model)`);
    try {
      serving = await serve(run, config, models);
    } catch (error) {
      problem((error as Error).message);
      givenUp = true;
      return undefined;
    }
    if (restarts === 0) for (const [key, message] of serving.broken) problem(message, key);
    return serving;
  };
  try {
    for (const point of points) {
      progress.step(`${config} ${point.model} ${point.method} ${loadLabel(point)}`, run.options.warmupMs + run.options.durationMs);
      let result: PointResult | undefined;
      for (let attempt = 0; attempt <= MAX_RESTARTS && result === undefined; attempt++) {
        const current = await ensureServing();
        if (current === undefined || current.broken.has(point.model)) break;
        const measured = await measurePoint(run, current, point);
        if (current.server.exitReason() === undefined) result = measured;
      }
      if (result === undefined) {
        progress.finish('not measured');
        continue;
      }
      run.results.points.push(result);
      progress.finish(summary(result));
    }
  } finally {
    await stopServing(serving);
  }
}
