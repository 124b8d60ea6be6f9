/**
 * Measuring one server configuration: start the server, check every model answers correctly, warm
 * it up, then measure its points. A server that exits without being asked to (a crash, or a signal
 * from outside the benchmark) is restarted and the point measured again, at most MAX_RESTARTS times;
 * the exits are kept in the run's problems either way.
 */
import { AdminClient } from './admin.js';
import { formatLatency, formatRate } from './format.js';
import type { LoadGenerator } from './load-generator.js';
import { meanBatchSize, observeWindow, readBatchCounts } from './observe.js';
import type { BenchOptions } from './options.js';
import { benchModels } from './payloads.js';
import { configLabels, loadLabel, pointsFor, type serverConfigs } from './plan.js';
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
  generator: LoadGenerator;
  repositories: Record<'off' | 'on', string>;
  payloads: Map<ModelKey, string[]>;
  results: BenchResults;
}

type ServerConfig = (typeof serverConfigs)[number];

/** A started server with its admin connection (modelserve only) and the models that do not answer right. */
interface Serving {
  server: RunningServer;
  admin: AdminClient | undefined;
  broken: Map<ModelKey, string>;
}

function startServer(run: Run, config: ServerConfig): Promise<RunningServer> {
  const names = run.options.models.map((key) => benchModels[key].name);
  if (config === 'echo') return startEchoServer();
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
  const admin = config === 'on' || config === 'off' ? new AdminClient(server.address) : undefined;
  try {
    const unready = admin === undefined ? new Map<string, string>() : await unreadyModels(admin, models.map((k) => benchModels[k].name));
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

async function measurePoint(run: Run, { server, admin }: Serving, point: PointSpec): Promise<PointResult> {
  const { options } = run;
  const model = benchModels[point.model];
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
  };
  const observing = admin === undefined ? undefined : observeWindow(admin, options.warmupMs, options.durationMs);
  const outcome = await run.generator.run(spec, (completed) => run.progress.note(`${completed} answered`));
  const observed = await observing;
  const after = admin === undefined ? undefined : await readBatchCounts(admin, model.name);
  const result: PointResult = {
    ...point,
    requestsPerSecond: outcome.requestsPerSecond,
    samplesPerSecond: outcome.requestsPerSecond,
    latency: outcome.latency,
    errors: outcome.errors,
    dropped: outcome.dropped,
  };
  const batch = meanBatchSize(before, after);
  if (batch !== undefined) result.meanBatchSize = batch;
  if (observed !== undefined) result.server = observed;
  return result;
}

function summary(result: PointResult): string {
  const errors = Object.values(result.errors).reduce((a, b) => a + b, 0);
  const batch = result.meanBatchSize === undefined ? '' : `, batch ${result.meanBatchSize.toFixed(1)}`;
  return `${formatRate(result.requestsPerSecond)} req/s, p99 ${formatLatency(result.latency.p99)}${batch}${errors > 0 ? `, ${errors} errors` : ''}`;
}

/** Measures every point of one server configuration. */
export async function runServerConfig(run: Run, config: ServerConfig): Promise<void> {
  const points = pointsFor(config, run.options);
  if (points.length === 0) return;
  const { progress } = run;
  const models = [...new Set(points.map((p) => p.model))];
  const problem = (message: string, model?: ModelKey): void => {
    run.results.problems.push(model === undefined ? { config, message } : { config, model, message });
    progress.line(`${configLabels[config]}${model === undefined ? '' : ` (${model})`}: ${message}`);
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
    progress.line(`starting ${configLabels[config]} (then ${run.options.warmupMs} ms of warm-up per model)`);
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
