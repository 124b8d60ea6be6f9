/**
 * `--many-models`: modelserve serving many small models at once. Writes two repositories of the
 * tiny zoo (its first model alone, and `manyCount` models), serves both with the real CLI at the
 * same time and measures: time from spawn until every version is READY, RSS and threads then, the
 * marginal RSS per version, and in alternating rounds of closed-loop windows: the first model
 * alone, the same model hot among the idle others, and equal traffic over up to 100 of them.
 * Both servers run side by side so that each round measures all three loads within seconds:
 * capacity on a shared machine swings 2× over minutes, and a ratio within a round cancels that.
 */
import { join } from 'node:path';
import { tinyModel, tinyModelName, writeManyModelRepository, DEFAULT_TINY_CONFIG } from '@modelserve/model-zoo';
import { formatBytes, formatRate } from './format.js';
import { LoadGenerator, type LoadOutcome } from './load-generator.js';
import { roundOf, roundOrder, summarizeMany } from './many-models-report.js';
import { ManyModelsStop, RssGuard, serveAndSettle, type ManyModelsServing } from './many-models-servers.js';
import type { BenchOptions } from './options.js';
import { encodedPayloads, encodedRequest, type RequestTarget } from './payloads.js';
import type { Progress } from './progress.js';
import { temporaryDirectory } from './repository.js';
import type { ManyModelsLoad, ManyModelsResult, ManyModelsRound, ManyModelsWindow } from './types-many.js';

/** The most models the spread load covers. */
export const SPREAD_MODELS = 100;

/** Steps of the progress bar: two servers, the warm-up pass, then three windows a round. */
export function countManySteps(options: Pick<BenchOptions, 'manyRounds'>): number {
  return 3 + 3 * options.manyRounds;
}

/** What a request to tiny model `index` needs. */
function tinyTarget(index: number): RequestTarget {
  return { name: tinyModelName(index), inputName: 'input', sampleDims: [tinyModel(index).inputSize] };
}

/** Pre-encoded requests of each load: the load workers cycle through them, one request each, so `spread` visits its models in turn. */
function loadPayloads(spreadModels: number): Record<ManyModelsLoad, string[]> {
  const first = encodedPayloads(tinyTarget(0));
  return { alone: first, hot: first, spread: Array.from({ length: spreadModels }, (_, i) => encodedRequest(tinyTarget(i), 1000 + i)) };
}

function windowOf(outcome: LoadOutcome): ManyModelsWindow {
  return {
    requestsPerSecond: outcome.requestsPerSecond,
    completed: outcome.completed,
    errors: Object.values(outcome.errors).reduce((a, b) => a + b, 0),
    p50Ms: outcome.latency.p50,
    p99Ms: outcome.latency.p99,
  };
}

/** The servers and load of a run. */
interface ManyRun {
  options: BenchOptions;
  progress: Progress;
  guard: RssGuard;
  generator: LoadGenerator;
  addresses: Record<ManyModelsLoad, string>;
  payloads: Record<ManyModelsLoad, string[]>;
}

const loadLabels: Record<ManyModelsLoad, string> = { alone: 'the first model alone', hot: 'the same model among the others', spread: 'equal traffic over many models' };

/** Drives `load` closed-loop for `warmupMs`, then measures `durationMs`. */
async function drive(run: ManyRun, load: ManyModelsLoad, warmupMs: number, durationMs: number): Promise<LoadOutcome> {
  const { options } = run;
  const outcome = await run.generator.run({
    address: run.addresses[load],
    method: 'unary',
    payloads: run.payloads[load],
    concurrency: options.manyConcurrency,
    streams: 0,
    rate: 0,
    warmupMs,
    durationMs,
    deadlineMs: options.deadlineMs,
    channels: options.channels,
  });
  run.guard.check();
  return outcome;
}

/**
 * Each load once for a window's length, not counted: the first windows on fresh servers and load
 * workers ran up to 2× slower (V8 still compiling their hot paths), which skewed round 1's ratios.
 */
async function warmUp(run: ManyRun): Promise<void> {
  run.progress.step('many-models: warm-up, each load once (not counted)', 3 * run.options.durationMs);
  for (const load of roundOrder(1)) await drive(run, load, run.options.durationMs, 0);
  run.progress.finish('done');
}

/** One round: each load once, in the round's order. */
async function runRound(run: ManyRun, round: number): Promise<ManyModelsRound> {
  const { options, progress } = run;
  const windows: Partial<Record<ManyModelsLoad, ManyModelsWindow>> = {};
  for (const load of roundOrder(round)) {
    progress.step(`many-models: round ${round}/${options.manyRounds}, ${loadLabels[load]}`, options.warmupMs + options.durationMs);
    const outcome = await drive(run, load, options.warmupMs, options.durationMs);
    windows[load] = windowOf(outcome);
    progress.finish(`${formatRate(outcome.requestsPerSecond)} req/s`);
  }
  return roundOf(round, windows as Record<ManyModelsLoad, ManyModelsWindow>);
}

/** Serves one repository, timing it until settled; `onStarted` gets it as soon as it listens (see serveAndSettle). */
async function serve(options: BenchOptions, progress: Progress, guard: RssGuard, repository: string, names: readonly string[], onStarted: (serving: ManyModelsServing) => void): Promise<ManyModelsServing> {
  progress.step(`many-models: serving ${names.length.toLocaleString('en-US')} model${names.length === 1 ? '' : 's'} until every version is READY`, 1000 + names.length * 50);
  const serving = await serveAndSettle(repository, names, options.manyServerArgs, guard, progress, onStarted);
  const { report } = serving;
  progress.finish(`${report.ready} READY, ${report.failed} FAILED in ${report.readySeconds?.toFixed(1)} s; RSS ${formatBytes(report.rssBytes)}, ${report.threads ?? 'n/a'} threads`);
  return serving;
}

/** Measures everything into `result`, which keeps what was measured when the run stops early. */
async function measure(options: BenchOptions, progress: Progress, dir: string, guard: RssGuard, result: ManyModelsResult, servings: ManyModelsServing[]): Promise<void> {
  const oneNames = await writeManyModelRepository(join(dir, 'one'), 1, { config: result.config });
  const manyNames = await writeManyModelRepository(join(dir, 'many'), options.manyCount, { config: result.config });
  // The reports go into `result` at once, so that a run stopped while loading shows how far it got.
  const one = await serve(options, progress, guard, join(dir, 'one'), oneNames, (s) => {
    servings.push(s);
    result.one = s.report;
  });
  const many = await serve(options, progress, guard, join(dir, 'many'), manyNames, (s) => {
    servings.push(s);
    result.many = s.report;
  });
  const generator = await LoadGenerator.start(options.workers);
  try {
    const run: ManyRun = {
      options,
      progress,
      guard,
      generator,
      addresses: { alone: one.server.address, hot: many.server.address, spread: many.server.address },
      payloads: loadPayloads(result.spreadModels),
    };
    await warmUp(run);
    for (let round = 1; round <= options.manyRounds; round++) result.rounds.push(await runRound(run, round));
  } finally {
    await generator.close();
  }
}

/** Runs the mode; a run stopped by the RSS limit or a server exit returns what it measured, with `stopped` saying why. */
export async function runManyModels(options: BenchOptions, progress: Progress): Promise<ManyModelsResult> {
  const temporary = await temporaryDirectory('modelserve-bench-many-');
  const guard = new RssGuard(options.manyRssLimitMb * 1024 * 1024);
  const servings: ManyModelsServing[] = [];
  const result: ManyModelsResult = {
    count: options.manyCount,
    spreadModels: Math.min(SPREAD_MODELS, options.manyCount),
    concurrency: options.manyConcurrency,
    warmupMs: options.warmupMs,
    durationMs: options.durationMs,
    config: DEFAULT_TINY_CONFIG,
    serverArgs: [...options.manyServerArgs],
    rssLimitBytes: options.manyRssLimitMb * 1024 * 1024,
    peakRssBytes: undefined,
    one: undefined,
    many: undefined,
    rounds: [],
    stopped: undefined,
    ...summarizeMany(undefined, undefined, []),
  };
  try {
    await measure(options, progress, temporary.path, guard, result, servings);
  } catch (error) {
    if (!(error instanceof ManyModelsStop)) throw error;
    result.stopped = error.message;
    progress.line(`many-models: stopped early: ${error.message}`);
  } finally {
    guard.close();
    for (const { admin } of servings) admin.close();
    await Promise.all(servings.map(({ server }) => server.stop()));
    temporary.remove();
  }
  return { ...result, peakRssBytes: guard.peakBytes, ...summarizeMany(result.one, result.many, result.rounds) };
}
