#!/usr/bin/env node
/** `modelserve-bench` (`pnpm bench`): measures modelserve against its limits and prints the report. */
import { createRequire } from 'node:module';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { availableParallelism, cpus, release, totalmem } from 'node:os';
import { Command, Option } from 'commander';
import { autoscaleProfileLines, defaultCurvesDir, runAutoscaleProfile, writeAutoscaleFiles } from './autoscale-profile.js';
import { cacheLines, runCache, summarizeCache } from './cache.js';
import { jobsLines, runJobs } from './jobs.js';
import { choices, integer, integers, positive, seconds, words } from './args.js';
import { chooseDriver } from './driver.js';
import { formatBytes } from './format.js';
import { countManySteps, runManyModels } from './many-models.js';
import { manyModelsLines } from './many-models-report.js';
import { defaultOptions, OVERLOAD_RSS_GROWTH_MIB, quickPreset, type BenchOptions } from './options.js';
import { observabilityLines, runObservability, summarizeObservability } from './observability.js';
import { overloadLines, overloadVerdicts, runOverload } from './overload.js';
import { Progress } from './progress.js';
import { writeReportFiles } from './report-files.js';
import { reportLines } from './report-table.js';
import { rssCheckpoints, runRss } from './rss.js';
import { runSoak, soakLines } from './soak.js';
import { countSteps, runBench } from './run.js';
import { sdkTargets } from './sdk-compare.js';
import { countSdkSteps, runSdk } from './sdk.js';
import { evaluateTargets, rssTarget, rssTargetsTitle, sweepTargetsTitle, targetLines } from './targets.js';
import type { BenchResults, ConfigKey, Method, ModelKey } from './types.js';

const program = new Command('modelserve-bench')
  .description('Benchmark modelserve side by side with the compute limit, the grpc-js transport limit and a naive server')
  .option('--quick', 'short smoke run (~1 minute): 1 s windows, 1/32/64 in flight, streams at 64 only')
  .option('--duration <seconds>', 'measured window per point (default 5; quick 1)', seconds)
  .option('--warmup <seconds>', 'warm-up before each point (default 1; quick 0.5)', seconds)
  .option('-c, --concurrency <list>', 'closed loop: unary requests in flight (default 1,8,32,64; quick 1,32,64)', integers(1))
  .option('--stream-concurrency <list>', 'closed loop: PredictStream requests in flight (default 8,32,64; quick 64)', integers(1))
  .option('--streams <n>', 'streams the PredictStream requests are spread over (default 8)', integer(1))
  .option('--stream-messages <n>', 'h2load driver: PredictStream messages per call, all sent at once (default: in flight / streams)', integer(1))
  .option('--rate <list>', 'open loop instead: requests per second, e.g. 1000,2000,4000', integers(1))
  .option('--max-in-flight <n>', 'open loop: requests in flight beyond which due ones are dropped (default 10000)', integer(1))
  .addOption(new Option('--driver <name>', 'load driver: h2load (native, `apt-get install nghttp2-client`) or node (load worker processes); default h2load when installed, node for --rate').choices(['node', 'h2load']))
  .option('-w, --workers <n>', 'node driver: load worker processes (default 2)', integer(1))
  .option('--channels <n>', 'node driver: HTTP/2 connections per load worker (default 1)', integer(1))
  .option('--deadline <ms>', 'per-call deadline of unary calls, 0 for none (default 30000)', integer(0))
  .option('--models <list>', 'mlp,cnn (default both)', choices<ModelKey>(['mlp', 'cnn']))
  .option('--configs <list>', 'compute,echo,naive,off,on (default all)', choices<ConfigKey>(['compute', 'echo', 'naive', 'off', 'on']))
  .addOption(new Option('--echo-transport <name>', "the echo server's transport: grpc-js (the transport limit the targets use) or direct (grpc-js with calls answered on its HTTP/2 streams, as modelserve answers them)").choices(['grpc-js', 'direct']))
  .option('--methods <list>', 'unary,stream (default both)', choices<Method>(['unary', 'stream']))
  .option('--batch-sizes <list>', 'compute limit batch sizes (default 1,8,32,64)', integers(1))
  .option('--compute-threads <n>', 'compute limit worker threads, one session each (default: cores)', integer(1))
  .option('--compute-duration <seconds>', 'compute limit window per batch size (default 2; quick 0.5)', seconds)
  .option('--instances <n>', 'modelserve instances.count, batching on and off (default: modelserve\'s own: cores, one fewer with batching)', integer(1))
  .option('--max-batch-size <n>', 'modelserve max_batch_size (default 128)', integer(1))
  .option('--max-queue-delay-us <n>', 'batching on: dynamic_batching.max_queue_delay_us (default 0)', integer(0))
  .option('--preferred-batch-sizes <list>', 'batching on: dynamic_batching.preferred_batch_sizes', integers(1))
  .option('-o, --out <dir>', 'directory for the JSON and SVG files (default bench-results)')
  .option('--rss', 'RSS mode instead: server RSS over 1,000,000 MLP requests (long)')
  .option('--rss-requests <n>', 'RSS mode: requests in total (default 1000000)', integer(1))
  .option('--rss-checkpoint <n>', 'RSS mode: requests between RSS readings (default 100000)', integer(1))
  .option('--rss-concurrency <n>', 'RSS mode: requests in flight (default 64)', integer(1))
  .option('--sdk', 'SDK mode instead: @modelserve/client (every policy) against a bare grpc-js client (round_robin) on 3 echo servers, same load; passes when the SDK keeps ≥ 95% of the throughput')
  .option('--sdk-concurrency <n>', 'SDK mode: requests in flight (default 32)', integer(1))
  .option('--sdk-rounds <n>', 'SDK mode: rounds, each runs every policy and a grpc-js run paired with it for --duration each (default 1 s in this mode, warm-up 0.25 s); medians are reported (default 20)', integer(1))
  .option('--soak', 'soak mode instead: the MLP at --soak-load of its measured capacity for --soak-minutes, p99, errors and RSS per window (long)')
  .option('--soak-minutes <n>', 'soak mode: minutes in total (default 10)', integer(1))
  .option('--soak-load <share>', 'soak mode: share of the measured capacity, 0..1 (default 0.7)', parseFloat)
  .option('--soak-window-seconds <n>', 'soak mode: seconds per window (default 30)', integer(1))
  .option('--overload', 'overload mode instead: a compute-heavy MLP (1 instance, batching off) at --overload-factor × its measured capacity, open loop, each call with a deadline: statuses with latency, health checks, server RSS, PASS/FAIL')
  .option('--overload-factor <n>', 'overload mode: offered load over the measured capacity (default 10)', positive)
  .option('--overload-seconds <n>', 'overload mode: seconds of overload (default 20)', integer(1))
  .option('--overload-deadline-ms <ms>', 'overload mode: per-call deadline (default 500)', integer(1))
  .option('--overload-channels <n>', 'overload mode: connections per load worker (default 8)', integer(1))
  .option('--overload-rss-growth-mib <n>', `overload mode: the server's peak RSS may exceed its idle RSS by at most this (default ${OVERLOAD_RSS_GROWTH_MIB})`, integer(1))
  .option('--observability', 'observability overhead mode instead: four servers side by side on the MLP (nothing on, metrics, tracing at ratio 0.001, drift at sample_rate 0.1), -c in flight (default 64), --observability-rounds rounds of one window each (default 2 s here, warm-up 0.5 s), order rotating; each feature\'s req/s over the plain server\'s in the same round, median and range, against its target')
  .option('--observability-rounds <n>', 'observability mode: rounds (default 8)', integer(1))
  .option('--cache', 'response cache mode instead (issue 18): slowMlp (~2 ms per run, batching off) with response_cache on and off side by side, -c in flight (default 64), --cache-rounds rounds (windows: default 2 s here, warm-up 0.5 s, order rotating): Zipf(1.1) and all-distinct throughput on/off, 64 identical requests at once (runs and answers), and a Redis shared tier with 2 replicas behind the SDK against 1 replica (hit ratio); PASS/FAIL per target')
  .option('--cache-rounds <n>', 'cache mode: rounds (default 5)', integer(1))
  .option('--cache-inputs <n>', 'cache mode: distinct inputs of the Zipf workload (default 10000)', integer(1))
  .option('--jobs', 'batch jobs mode instead (issue 19): a --jobs-rows MLP job against the best online throughput, online p99 at 50% capacity with and without a job, a CNN job on 1 and 2 replicas sharing a NATS stream, and rows recomputed after kill -9 at 50%')
  .option('--jobs-rows <n>', 'jobs mode: rows of the MLP job (default 1000000; 3 KiB each on disk)', integer(1))
  .option('--jobs-cnn-rows <n>', 'jobs mode: rows of the CNN job (default 50000)', integer(1))
  .option('--jobs-rounds <n>', 'jobs mode: pairs of windows (interference) and of CNN jobs (replicas) (default 3)', integer(1))
  .option('--autoscale-profile', 'autoscale profile mode instead (issue 20): one replica of the slow MLP (dynamic batching) on the real CLI: --autoscale-starts cold starts (spawn → port bound → SERVING → first inference), closed-loop throughput and latency by requests in flight (--autoscale-rounds rounds; windows --duration, default 3 s here, --warmup 0.5 s), and a recorded per-second request curve; writes profile.json and recorded.json for `modelserve autoscale simulate`')
  .option('--autoscale-starts <n>', 'autoscale profile mode: cold starts measured (default 5)', integer(1))
  .option('--autoscale-rounds <n>', 'autoscale profile mode: rounds of the concurrency levels (default 5)', integer(1))
  .option('--autoscale-record-seconds <n>', 'autoscale profile mode: seconds of the recorded curve (default 240)', integer(10))
  .option('--autoscale-out <dir>', 'autoscale profile mode: where profile.json and recorded.json go (default apps/modelserve/curves)')
  .option('--many-models', 'many-models mode instead: --many-count tiny models on one server (and their first alone on another): time until every version is READY, RSS and threads then, marginal RSS per version, and in alternating rounds the first model alone, the same model hot among the idle others, and equal traffic over 100 of them (windows: --duration, default 3 s here; --warmup, default 0.5 s)')
  .option('--many-count <n>', 'many-models mode: models in the repository (default 1000; today\'s server takes ~11 MiB per model, so try 50)', integer(2))
  .option('--many-server-args <args>', 'many-models mode: arguments passed to `modelserve serve` verbatim, split on spaces, e.g. "--no-exit-on-error" (default none)', words)
  .option('--many-rss-limit-mb <n>', 'many-models mode: stop the servers and report when their RSS together passes this (default 6000)', integer(1))
  .option('--many-rounds <n>', 'many-models mode: rounds of the three traffic windows, their order rotating (default 3)', integer(1))
  .option('--many-concurrency <n>', 'many-models mode: requests in flight in each traffic window (default 64)', integer(1))
  .addOption(new Option('--no-files', 'do not write the JSON and SVG files'))
  .showHelpAfterError();

/** Flag name → option field, for the flags whose names differ. */
const renamed: Record<string, keyof BenchOptions> = {
  duration: 'durationMs',
  warmup: 'warmupMs',
  rate: 'rates',
  deadline: 'deadlineMs',
  computeDuration: 'computeDurationMs',
  out: 'outDir',
};

function options(): BenchOptions & { files: boolean } {
  program.parse();
  const flags = program.opts<Record<string, unknown>>();
  const explicit: Partial<BenchOptions> = {};
  for (const [name, value] of Object.entries(flags)) {
    if (value === undefined || name === 'files' || program.getOptionValueSource(name) !== 'cli') continue;
    (explicit as Record<string, unknown>)[renamed[name] ?? name] = value;
  }
  const quick = flags['quick'] === true;
  const modes = [flags['rss'], flags['sdk'], flags['soak'], flags['overload'], flags['manyModels']].filter((f) => f === true).length;
  if (modes > 1) program.error('error: --rss, --sdk, --soak, --overload and --many-models are separate modes; choose one');
  if (modes === 0) {
    try {
      chooseDriver({ driver: explicit.driver ?? 'auto', rates: explicit.rates ?? [] });
    } catch (error) {
      program.error(`error: ${(error as Error).message}`);
    }
  }
  // SDK mode compares two warm clients in many short paired windows: noise on a shared machine
  // moves slowly, so pairs 2.5 s apart see the same machine (see sdk.ts).
  const sdkPreset: Partial<BenchOptions> = flags['sdk'] === true ? { durationMs: 1000, warmupMs: 250 } : {};
  // Many-models mode alternates three short windows per round, for the same reason.
  const manyPreset: Partial<BenchOptions> = flags['manyModels'] === true ? { durationMs: 3000, warmupMs: 500 } : {};
  return { ...defaultOptions(), ...sdkPreset, ...manyPreset, ...(quick ? quickPreset : {}), ...explicit, quick, files: flags['files'] !== false };
}

/** `--observability`: its own rounds and report (see observability.ts). */
async function observabilityMode(opts: BenchOptions & { files: boolean }, rounds: number): Promise<void> {
  const started = Date.now();
  const explicit = (name: string): boolean => program.getOptionValueSource(name) === 'cli';
  const windowed = { ...opts, durationMs: explicit('duration') ? opts.durationMs : 2000, warmupMs: explicit('warmup') ? opts.warmupMs : 500, concurrency: explicit('concurrency') ? opts.concurrency : [64] };
  const inFlight = windowed.concurrency.at(-1) ?? 64;
  const windows = await runObservability(windowed, rounds, (w) => process.stderr.write(`  round ${w.round + 1}/${rounds} ${w.key}: ${Math.round(w.requestsPerSecond).toLocaleString('en-US')} req/s, p99 ${(w.p99Us / 1000).toFixed(2)} ms${w.errors > 0 ? `, ${w.errors} errors` : ''}\n`));
  const summary = summarizeObservability(windows);
  const lines = observabilityLines(summary, inFlight, rounds);
  if (opts.files) {
    await mkdir(opts.outDir, { recursive: true });
    const file = join(opts.outDir, `observability-${new Date(started).toISOString().replace(/[:.]/g, '-')}.json`);
    await writeFile(file, `${JSON.stringify({ startedAt: new Date(started).toISOString(), inFlight, rounds, machine: machine(), windows, summary }, null, 2)}\n`);
    lines.push(`Wrote ${file}`);
  }
  lines.push(`Total time: ${((Date.now() - started) / 1000).toFixed(0)} s`);
  process.stdout.write(`\n${lines.join('\n')}\n`);
}

/** `--cache`: its own rounds and report (see cache.ts). */
async function cacheMode(opts: BenchOptions & { files: boolean }, rounds: number, inputs: number): Promise<void> {
  const started = Date.now();
  const explicit = (name: string): boolean => program.getOptionValueSource(name) === 'cli';
  const windowed = { ...opts, durationMs: explicit('duration') ? opts.durationMs : 2000, warmupMs: explicit('warmup') ? opts.warmupMs : 500, concurrency: explicit('concurrency') ? opts.concurrency : [64] };
  const inFlight = windowed.concurrency.at(-1) ?? 64;
  const run = await runCache(windowed, {
    rounds,
    inputs,
    onWindow: (w) => process.stderr.write(`  round ${w.round + 1}/${rounds} ${w.workload} cache ${w.cache}: ${Math.round(w.requestsPerSecond).toLocaleString('en-US')} req/s, p99 ${w.p99Ms.toFixed(2)} ms${w.hitRatio === undefined ? '' : `, hit ratio ${w.hitRatio.toFixed(3)}`}${w.errors > 0 ? `, ${w.errors} errors` : ''}\n`),
    onNote: (line) => process.stderr.write(`  ${line}\n`),
  });
  const verdicts = summarizeCache(run);
  const lines = cacheLines(run, verdicts, inFlight, rounds, inputs);
  if (opts.files) {
    await mkdir(opts.outDir, { recursive: true });
    const file = join(opts.outDir, `cache-${new Date(started).toISOString().replace(/[:.]/g, '-')}.json`);
    await writeFile(file, `${JSON.stringify({ startedAt: new Date(started).toISOString(), inFlight, rounds, inputs, machine: machine(), ...run, verdicts }, null, 2)}\n`);
    lines.push(`Wrote ${file}`);
  }
  lines.push(`Total time: ${((Date.now() - started) / 1000).toFixed(0)} s`);
  process.stdout.write(`\n${lines.join('\n')}\n`);
}

/** `--autoscale-profile`: its own phases and report (see autoscale-profile.ts). */
async function autoscaleProfileMode(opts: BenchOptions & { files: boolean }, flags: { starts: number; rounds: number; recordSeconds: number; out: string }): Promise<void> {
  const started = Date.now();
  const explicit = (name: string): boolean => program.getOptionValueSource(name) === 'cli';
  const windowed = { ...opts, durationMs: explicit('duration') ? opts.durationMs : 3000, warmupMs: explicit('warmup') ? opts.warmupMs : 500 };
  const shape = { peakReplicas: 6, stretch: 4 };
  const info = machine();
  const run = await runAutoscaleProfile(windowed, {
    starts: flags.starts,
    rounds: flags.rounds,
    levels: [1, 2, 4, 8, 12, 16, 24, 32, 48, 64],
    recordSeconds: flags.recordSeconds,
    ...shape,
    onNote: (line) => process.stderr.write(`  ${line}\n`),
  });
  const lines = autoscaleProfileLines(run, shape.peakReplicas, shape.stretch);
  if (opts.files) {
    const at = new Date(started).toISOString();
    for (const file of await writeAutoscaleFiles(flags.out, run, shape, `${info.cpu}, ${info.cores} cores, ${info.os}, Node ${info.node}, onnxruntime-node ${info.onnxruntimeNode}`, at)) lines.push(`Wrote ${file}`);
  }
  lines.push(`Total time: ${((Date.now() - started) / 1000).toFixed(0)} s`);
  process.stdout.write(`\n${lines.join('\n')}\n`);
}

/** `--jobs`: its own phases and report (see jobs.ts). */
async function jobsMode(opts: BenchOptions & { files: boolean }, rows: number, cnnRows: number, rounds: number): Promise<void> {
  const started = Date.now();
  const explicit = (name: string): boolean => program.getOptionValueSource(name) === 'cli';
  const windowed = { ...opts, durationMs: explicit('duration') ? opts.durationMs : 3000 };
  const run = await runJobs(windowed, { rows, cnnRows, rounds, onNote: (line) => process.stderr.write(`  ${line}\n`) });
  const lines = jobsLines(run);
  if (opts.files) {
    await mkdir(opts.outDir, { recursive: true });
    const file = join(opts.outDir, `jobs-${new Date(started).toISOString().replace(/[:.]/g, '-')}.json`);
    await writeFile(file, `${JSON.stringify({ startedAt: new Date(started).toISOString(), machine: machine(), ...run }, null, 2)}\n`);
    lines.push(`Wrote ${file}`);
  }
  lines.push(`Total time: ${((Date.now() - started) / 1000).toFixed(0)} s`);
  process.stdout.write(`\n${lines.join('\n')}\n`);
}

function version(pkg: string): string {
  try {
    return (createRequire(import.meta.url)(`${pkg}/package.json`) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

function machine(): BenchResults['machine'] {
  return {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: availableParallelism(),
    memory: formatBytes(totalmem()),
    os: `${process.platform} ${release()}`,
    node: process.version,
    onnxruntimeNode: version('onnxruntime-node'),
    grpcJs: version('@grpc/grpc-js'),
  };
}

async function main(): Promise<void> {
  const opts = options();
  const flags = program.opts<{ observability?: boolean; observabilityRounds?: number; cache?: boolean; cacheRounds?: number; cacheInputs?: number; jobs?: boolean; jobsRows?: number; jobsCnnRows?: number; jobsRounds?: number }>();
  const autoscale = program.opts<{ autoscaleProfile?: boolean; autoscaleStarts?: number; autoscaleRounds?: number; autoscaleRecordSeconds?: number; autoscaleOut?: string }>();
  if (autoscale.autoscaleProfile === true) {
    await autoscaleProfileMode(opts, { starts: autoscale.autoscaleStarts ?? 5, rounds: autoscale.autoscaleRounds ?? 5, recordSeconds: autoscale.autoscaleRecordSeconds ?? 240, out: autoscale.autoscaleOut ?? defaultCurvesDir() });
    return;
  }
  if (flags.jobs === true) {
    await jobsMode(opts, flags.jobsRows ?? 1_000_000, flags.jobsCnnRows ?? 50_000, flags.jobsRounds ?? 3);
    return;
  }
  if (flags.observability === true) {
    await observabilityMode(opts, flags.observabilityRounds ?? 8);
    return;
  }
  if (flags.cache === true) {
    await cacheMode(opts, flags.cacheRounds ?? 5, flags.cacheInputs ?? 10_000);
    return;
  }
  const started = Date.now();
  const info = machine();
  process.stderr.write(`bench: ${info.cpu}, ${info.cores} cores, Node ${info.node}, onnxruntime-node ${info.onnxruntimeNode}, grpc-js ${info.grpcJs}\n`);
  // Each run shows a progress bar over its steps; the modes fill one field of otherwise empty results.
  const withProgress = async (steps: number, run: (progress: Progress) => Promise<BenchResults>): Promise<BenchResults> => {
    const progress = new Progress(steps);
    try {
      return await run(progress);
    } finally {
      progress.close();
    }
  };
  const modeResults = (mode: Pick<BenchResults, 'rss' | 'soak' | 'overload' | 'sdk' | 'manyModels'>): BenchResults => ({
    startedAt: new Date(started).toISOString(),
    durationSeconds: 0,
    machine: info,
    options: { ...opts },
    compute: [],
    points: [],
    problems: [],
    ...mode,
  });
  const results = opts.rss
    ? await withProgress(rssCheckpoints(opts.rssRequests, opts.rssCheckpoint).length, async (p) => modeResults({ rss: await runRss(opts, p) }))
    : opts.soak
      ? await withProgress(1 + Math.max(1, Math.round((opts.soakMinutes * 60) / opts.soakWindowSeconds)), async (p) => modeResults({ soak: await runSoak(opts, p) }))
      : opts.overload
        ? await withProgress(2, async (p) => modeResults({ overload: await runOverload(opts, p) }))
        : opts.sdk
          ? await withProgress(countSdkSteps(opts), async (p) => modeResults({ sdk: await runSdk(opts, p) }))
          : opts.manyModels
            ? await withProgress(countManySteps(opts), async (p) => modeResults({ manyModels: await runManyModels(opts, p) }))
            : await withProgress(countSteps(opts), (p) => runBench(opts, p, info));
  results.durationSeconds = (Date.now() - started) / 1000;
  const targets = opts.rss ? [rssTarget(results)] : results.sdk !== undefined ? sdkTargets(results.sdk) : results.overload !== undefined ? overloadVerdicts(results.overload) : opts.soak || opts.manyModels ? [] : evaluateTargets(results);
  const title =
    results.sdk !== undefined
      ? 'Targets (SDK balancing: under 5% of throughput)'
      : results.overload !== undefined
        ? `Targets (overload at ${results.overload.factor}× capacity)`
        : opts.rss
          ? rssTargetsTitle
          : sweepTargetsTitle;
  const lines =
    results.soak !== undefined
      ? [...soakLines(results.soak), '']
      : results.manyModels !== undefined
        ? [...manyModelsLines(results.manyModels), '']
        : results.overload !== undefined
          ? [...overloadLines(results.overload), '', ...targetLines(targets, title), '']
          : [...reportLines(results), ...targetLines(targets, title), ''];
  lines.push(`Machine: ${Object.entries(info).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  if (opts.files) {
    for (const file of await writeReportFiles(results, targets, opts.outDir)) lines.push(`Wrote ${file}`);
  }
  lines.push(`Total time: ${results.durationSeconds.toFixed(0)} s`);
  process.stdout.write(`\n${lines.join('\n')}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
