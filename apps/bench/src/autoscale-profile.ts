/**
 * `--autoscale-profile`: what `modelserve autoscale simulate` needs to know of one replica,
 * measured on the real CLI, written to `apps/modelserve/curves/profile.json` and `recorded.json`.
 *
 * The model is model-zoo's `slowMlp` (~2–3 ms per batch-1 run) with `dynamic_batching`: a replica
 * carries about a thousand requests/s, so a simulated hour stays within a few million requests (the
 * demo CNN carries over ten thousand here).
 *
 * - Cold start, `starts` times: fork of the CLI (through the bench's guard process) → port bound →
 *   health SERVING (polled every 10 ms from the port's opening; NOT_SERVING while models load and
 *   warm up) → first `Predict` answered, on a new connection. The "modelserve listening" log line
 *   (every model loaded and warmed up) is timed too.
 * - Capacity: closed loop (h2load when installed, else the Node load workers) at each of `levels`
 *   requests in flight, `rounds` rounds of one window each, levels ascending in each round; per
 *   level the medians of the rounds. The plateau: the median throughput of the upper half of the
 *   levels; slots: the fewest in flight within 5% of it; capacity: their throughput.
 * - Recorded curve: a closed loop by the Node load workers whose concurrency changes every 5 s
 *   along a day-shaped pattern (seeded jitter) for `recordSeconds`; the completions per second, from
 *   the workers' progress reports (every 0.5 s each, interpolated).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { mulberry32, slowMlp } from '@modelserve/model-zoo';
import { HealthProbe } from './admin.js';
import { forkChild, stopChild, waitForMessage } from './children.js';
import { findH2load } from './h2load.js';
import { type LoadDriver, LoadGenerator } from './load-generator.js';
import { H2loadDriver } from './load-h2load.js';
import { openClient, unarySender } from './load-senders.js';
import type { GuardMessage } from './modelserve-guard.js';
import type { BenchOptions } from './options.js';
import { type BenchModel, encodedPayloads } from './payloads.js';
import { temporaryDirectory, writeRepository } from './repository.js';
import { modelserveCliPath, startModelserve } from './servers-modelserve.js';

const model: BenchModel = {
  key: 'mlp',
  name: 'slow_mlp',
  label: 'slow MLP 64→512×151→10',
  inputName: 'input',
  outputName: 'output',
  sampleDims: [64],
  outputSize: 10,
  generated: () => slowMlp(),
};

/** Where the simulation's default profile and curves live: apps/modelserve/curves. */
export const defaultCurvesDir = (): string => fileURLToPath(new URL('../curves/', import.meta.resolve('@modelserve/cli')));

export interface AutoscaleProfileOptions {
  starts: number;
  rounds: number;
  levels: number[];
  recordSeconds: number;
  /** The recorded curve's peak, in replicas' capacity, and its time stretch. */
  peakReplicas: number;
  stretch: number;
  onNote: (line: string) => void;
}

/** One cold start's milestones, ms from the fork. */
export interface ColdStart {
  boundMs: number;
  listeningMs: number | undefined;
  servingMs: number;
  firstInferenceMs: number;
}

interface LevelRound {
  round: number;
  concurrency: number;
  requestsPerSecond: number;
  latencyMs: { mean: number; p50: number; p90: number; p99: number; p999: number; max: number };
  errors: number;
}

export interface AutoscaleProfileRun {
  driver: string;
  coldStarts: ColdStart[];
  rounds: LevelRound[];
  levels: Array<{ concurrency: number; requestsPerSecond: number; latencyMs: LevelRound['latencyMs'] }>;
  slots: number;
  capacity: number;
  /** The recording: concurrency per 5 s step, completions per second. */
  recordConcurrency: number[];
  perSecond: number[];
}

export const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

/** Starts the CLI on `repository` and times it until it answered its first inference; then stops it. */
async function coldStart(repository: string, payload: Buffer): Promise<ColdStart> {
  const started = performance.now();
  const since = (): number => performance.now() - started;
  const args = [modelserveCliPath(), 'serve', '--model-repository', repository, '--host', '127.0.0.1', '--port', '0', '--metrics-port', '0', '--log-level', 'info'];
  const guard = forkChild('./modelserve-guard.js', args);
  let listeningMs: number | undefined;
  guard.on('message', (m: GuardMessage) => {
    if (m.type === 'listening') listeningMs ??= since();
  });
  try {
    const address = await waitForMessage(guard, (message) => {
      const m = message as GuardMessage;
      if (m.type === 'bound' || m.type === 'listening') return m.address;
      if (m.type === 'exited') throw new Error(`modelserve exited (${m.signal ?? `code ${m.code}`}) before binding its port`);
      return undefined;
    });
    const boundMs = since();
    const probe = new HealthProbe(address);
    try {
      for (;;) {
        const check = await probe.check(5000);
        if (check.status === 'SERVING') break;
        if (since() > 120_000) throw new Error(`modelserve not SERVING 120 s after its start (last: ${check.status})`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    } finally {
      probe.close();
    }
    const servingMs = since();
    const client = openClient(address);
    try {
      const error = await new Promise<string | undefined>((resolve) => unarySender(client, [payload], 30_000).send(resolve));
      if (error !== undefined) throw new Error(`the first inference failed: ${error}`);
    } finally {
      client.close();
    }
    return { boundMs, listeningMs, servingMs, firstInferenceMs: since() };
  } finally {
    await stopChild(guard, 10_000);
  }
}

/** The recording's concurrency per 5 s step: a night, a morning bump, an evening peak, seeded jitter. */
export function recordingPattern(steps: number): number[] {
  const random = mulberry32(42);
  return Array.from({ length: steps }, (_, i) => {
    const x = (i + 0.5) / steps;
    const shape = 2 + 12 * Math.exp(-(((x - 0.3) / 0.1) ** 2)) + 30 * Math.exp(-(((x - 0.68) / 0.12) ** 2));
    return Math.max(1, Math.round(shape + (random() - 0.5) * 4));
  });
}

/** Completions per second from cumulative counts at times (s): linear between the reports. */
export function perSecond(reports: ReadonlyArray<readonly [number, number]>, seconds: number): number[] {
  const at = (t: number): number => {
    if (t <= reports[0]![0]) return reports[0]![1];
    for (let i = 1; i < reports.length; i++) {
      const [t1, c1] = reports[i]!;
      if (t <= t1) {
        const [t0, c0] = reports[i - 1]!;
        return t1 === t0 ? c1 : c0 + ((c1 - c0) * (t - t0)) / (t1 - t0);
      }
    }
    return reports[reports.length - 1]![1];
  };
  return Array.from({ length: seconds }, (_, s) => at(s + 1) - at(s));
}

export async function runAutoscaleProfile(options: BenchOptions, profile: AutoscaleProfileOptions): Promise<AutoscaleProfileRun> {
  const tmp = await temporaryDirectory('modelserve-bench-autoscale-');
  const h2load = options.driver === 'node' ? undefined : findH2load();
  const workers = await LoadGenerator.start(options.workers);
  const closed: LoadDriver = h2load === undefined ? workers : new H2loadDriver(h2load);
  try {
    const repository = join(tmp.path, 'models');
    await writeRepository(repository, [model], new Map([[model.name, model.generated().bytes]]), { batching: true, maxBatchSize: options.maxBatchSize, instances: options.instances, maxQueueDelayUs: options.maxQueueDelayUs, preferredBatchSizes: options.preferredBatchSizes });
    const payloads = encodedPayloads(model);

    // 1. Cold starts.
    const coldStarts: ColdStart[] = [];
    for (let i = 0; i < profile.starts; i++) {
      const c = await coldStart(repository, Buffer.from(payloads[0]!, 'base64'));
      coldStarts.push(c);
      profile.onNote(`cold start ${i + 1}/${profile.starts}: bound ${c.boundMs.toFixed(0)} ms, listening ${c.listeningMs?.toFixed(0) ?? 'n/a'} ms, SERVING ${c.servingMs.toFixed(0)} ms, first inference ${c.firstInferenceMs.toFixed(0)} ms`);
    }

    // 2. Capacity by concurrency, on one server.
    const server = await startModelserve(repository, profile.onNote, { extraArgs: ['--metrics-port', '0'] });
    try {
      const spec = { address: server.address, method: 'unary' as const, payloads, streams: 1, rate: 0 };
      await closed.run({ ...spec, concurrency: 16, warmupMs: 0, durationMs: 2000 });
      const rounds: LevelRound[] = [];
      for (let round = 0; round < profile.rounds; round++) {
        for (const concurrency of profile.levels) {
          const o = await closed.run({ ...spec, concurrency, warmupMs: options.warmupMs, durationMs: options.durationMs });
          const errors = Object.values(o.errors).reduce((a, b) => a + b, 0);
          const { mean, p50, p90, p99, p999, max } = o.latency;
          rounds.push({ round, concurrency, requestsPerSecond: o.requestsPerSecond, latencyMs: { mean, p50, p90, p99, p999, max }, errors });
          profile.onNote(`round ${round + 1}/${profile.rounds}, ${concurrency} in flight: ${Math.round(o.requestsPerSecond)} req/s, p50 ${p50.toFixed(2)} ms, p99 ${p99.toFixed(2)} ms${errors > 0 ? `, ${errors} errors` : ''}`);
          if (server.exitReason() !== undefined) throw new Error(server.exitReason());
        }
      }
      const levels = profile.levels.map((concurrency) => {
        const of = rounds.filter((r) => r.concurrency === concurrency);
        const q = (key: keyof LevelRound['latencyMs']): number => median(of.map((r) => r.latencyMs[key]));
        return { concurrency, requestsPerSecond: median(of.map((r) => r.requestsPerSecond)), latencyMs: { mean: q('mean'), p50: q('p50'), p90: q('p90'), p99: q('p99'), p999: q('p999'), max: q('max') } };
      });
      // The plateau: the median of the upper half of the levels (one window a noisy machine slowed or sped moves it little).
      const plateau = median(levels.slice(Math.floor(levels.length / 2)).map((l) => l.requestsPerSecond));
      const slotsLevel = levels.find((l) => l.requestsPerSecond >= 0.95 * plateau)!;

      // 3. The recording: the Node workers time their progress, h2load reports only at the end.
      const steps = Math.ceil(profile.recordSeconds / 5);
      const pattern = recordingPattern(steps);
      const reports: Array<[number, number]> = [[0, 0]];
      const origin = performance.now();
      let offset = 0;
      for (const [i, concurrency] of pattern.entries()) {
        let last = 0;
        const o = await workers.run({ ...spec, concurrency, warmupMs: 0, durationMs: 5000 }, (completed) => {
          last = completed;
          reports.push([(performance.now() - origin) / 1000, offset + completed]);
        });
        offset += Math.max(last, o.completed);
        reports.push([(performance.now() - origin) / 1000, offset]);
        if (i % 6 === 5) profile.onNote(`recording: ${((performance.now() - origin) / 1000).toFixed(0)} s, ${concurrency} in flight, ${offset.toLocaleString('en-US')} answered`);
      }
      const seconds = Math.floor(reports[reports.length - 1]![0]);
      return {
        driver: h2load === undefined ? 'node (load worker processes)' : `h2load (${h2load})`,
        coldStarts,
        rounds,
        levels,
        slots: slotsLevel.concurrency,
        capacity: slotsLevel.requestsPerSecond,
        recordConcurrency: pattern,
        perSecond: perSecond(reports, seconds),
      };
    } finally {
      await server.stop();
    }
  } finally {
    if (closed !== workers) await closed.close();
    await workers.close();
    tmp.remove();
  }
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
const range = (values: readonly number[], format: (n: number) => string): string => `${format(Math.min(...values))}–${format(Math.max(...values))}`;

/** The profile file the simulation reads (see packages/autoscale/src/profile.ts). */
export function profileFile(run: AutoscaleProfileRun, machine: string, startedAt: string): object {
  const cold = run.coldStarts.map((c) => Math.round(c.firstInferenceMs));
  return {
    description: `One modelserve replica serving ${model.name} (model-zoo slowMlp(): 64 → 151 tanh layers of 512 → 10, dynamic_batching, the default instances), measured by \`pnpm bench --autoscale-profile\`: cold starts from the fork of \`modelserve serve\` to the first inference answered; closed-loop throughput and latency (medians of ${run.rounds.length / run.levels.length} rounds) by requests in flight.`,
    model: model.name,
    measuredAt: startedAt,
    machine,
    driver: run.driver,
    coldStartMs: cold,
    coldStartPhasesMs: run.coldStarts.map((c) => ({ bound: Math.round(c.boundMs), listening: c.listeningMs === undefined ? null : Math.round(c.listeningMs), serving: Math.round(c.servingMs), firstInference: Math.round(c.firstInferenceMs) })),
    slots: run.slots,
    capacity: Math.round(run.capacity),
    levels: run.levels.map((l) => ({ concurrency: l.concurrency, requestsPerSecond: Math.round(l.requestsPerSecond), latencyMs: Object.fromEntries(Object.entries(l.latencyMs).map(([k, v]) => [k, Number(v.toFixed(3))])) })),
  };
}

/** The recorded curve: per-second completions × k (peak = `peakReplicas` replicas' capacity), time × `stretch`. */
export function recordedCurve(run: AutoscaleProfileRun, peakReplicas: number, stretch: number, startedAt: string): object {
  const peak = Math.max(...run.perSecond);
  const k = (peakReplicas * run.capacity) / peak;
  const points = run.perSecond.map((n, s) => [s * stretch, Math.round(n * k)]);
  points.push([run.perSecond.length * stretch, Math.round(run.perSecond.at(-1)! * k)]);
  return {
    name: 'recorded',
    description: `Recorded by \`pnpm bench --autoscale-profile\` (${startedAt}): the requests answered per second by one replica under a closed loop whose concurrency changed every 5 s (1 to ${Math.max(...run.recordConcurrency)} in flight, a day-shaped pattern) for ${run.perSecond.length} s; rates × ${k.toFixed(2)} so the peak second is ${peakReplicas} replicas' capacity (${Math.round(peakReplicas * run.capacity)} req/s), time × ${stretch} so the policy's windows see ${((run.perSecond.length * stretch) / 60).toFixed(0)} minutes.`,
    unit: 'requests_per_second',
    points,
    recorded: { perSecond: run.perSecond.map((n) => Math.round(n)), concurrencyEvery5s: run.recordConcurrency, rateScale: Number(k.toFixed(4)), timeStretch: stretch },
  };
}

/** The report's lines. */
export function autoscaleProfileLines(run: AutoscaleProfileRun, peakReplicas: number, stretch: number): string[] {
  const phase = (f: (c: ColdStart) => number | undefined): string => {
    const values = run.coldStarts.map(f).filter((v): v is number => v !== undefined);
    return values.length === 0 ? 'n/a' : `${seconds(median(values))} (${range(values, seconds)})`;
  };
  const rows = [['in flight', 'req/s (median)', 'range', 'mean ms', 'p50 ms', 'p99 ms', 'p99.9 ms']];
  for (const l of run.levels) {
    const of = run.rounds.filter((r) => r.concurrency === l.concurrency).map((r) => r.requestsPerSecond);
    rows.push([String(l.concurrency), Math.round(l.requestsPerSecond).toLocaleString('en-US'), range(of, (n) => String(Math.round(n))), l.latencyMs.mean.toFixed(2), l.latencyMs.p50.toFixed(2), l.latencyMs.p99.toFixed(2), l.latencyMs.p999.toFixed(2)]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const errors = run.rounds.reduce((sum, r) => sum + r.errors, 0);
  return [
    `Autoscale profile: one replica serving ${model.label}, dynamic batching; load driver ${run.driver}`,
    '',
    `cold start, ${run.coldStarts.length} starts (median, range): port bound ${phase((c) => c.boundMs)}, listening ${phase((c) => c.listeningMs)}, health SERVING ${phase((c) => c.servingMs)}, first inference answered ${phase((c) => c.firstInferenceMs)}`,
    '',
    ...rows.map((r) => r.map((cell, i) => (i === 0 ? cell.padStart(widths[i]!) : cell.padStart(widths[i]!))).join('  ')),
    '',
    `slots ${run.slots} (the fewest in flight within 5% of the plateau, the median of the upper half of the levels), capacity ${Math.round(run.capacity).toLocaleString('en-US')} req/s per replica${errors > 0 ? `; ${errors} errors` : ''}`,
    `recorded: ${run.perSecond.length} s, ${Math.round(Math.min(...run.perSecond))}–${Math.round(Math.max(...run.perSecond))} answered per second (median ${Math.round(median(run.perSecond))}); written with its peak at ${peakReplicas} replicas' capacity, time × ${stretch}`,
  ];
}

/** Writes profile.json and recorded.json to `dir`; their paths. */
export async function writeAutoscaleFiles(dir: string, run: AutoscaleProfileRun, options: Pick<AutoscaleProfileOptions, 'peakReplicas' | 'stretch'>, machine: string, startedAt: string): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const files: Array<[string, object]> = [
    [join(dir, 'profile.json'), profileFile(run, machine, startedAt)],
    [join(dir, 'recorded.json'), recordedCurve(run, options.peakReplicas, options.stretch, startedAt)],
  ];
  // Arrays of numbers on one line each: a point per line, not a number per line.
  const compact = (content: object): string => JSON.stringify(content, null, 2).replace(/\[\s+(-?[\d.e+-]+(?:,\s+-?[\d.e+-]+)*)\s+\]/g, (_, inner: string) => `[${inner.split(/,\s+/).join(', ')}]`);
  for (const [file, content] of files) await writeFile(file, `${compact(content)}\n`);
  return files.map(([file]) => file);
}
