/**
 * `--observability`: what metrics, tracing and drift monitoring cost in throughput. Four modelserve
 * servers run side by side on the MLP (batching on, the default configuration), each with one
 * feature on: none (`--metrics-port 0`), metrics (the default endpoint), tracing (OTLP/HTTP to a
 * sink in this process, `--trace-ratio 0.001`, metrics off) and drift (config.yaml `drift:
 * sample_rate 0.1`, metrics off). Each round loads each server in turn for one window (h2load,
 * closed loop, `-c` in flight, default 64), the order rotating; a feature's cost is its req/s over
 * the plain server's in the same round, and the report gives the median and range over rounds.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findH2load, grpcFrame, h2loadArgs, parseH2loadLog } from './h2load.js';
import type { BenchOptions } from './options.js';
import { benchModels, encodedPayloads } from './payloads.js';
import { generateModels, writeRepository } from './repository.js';
import { median } from './sdk-compare.js';
import { startModelserve } from './servers-modelserve.js';
import type { RunningServer } from './servers-baseline.js';

/** The configurations, the first the baseline; each with its target ratio against it. */
export const observabilityConfigs = [
  { key: 'plain', label: 'nothing on (--metrics-port 0)', target: undefined },
  { key: 'metrics', label: 'metrics (/metrics on)', target: 0.97 },
  { key: 'tracing', label: 'tracing, ratio 0.001 (OTLP/HTTP)', target: 0.97 },
  { key: 'drift', label: 'drift, sample_rate 0.1', target: 0.95 },
] as const;

export type ObservabilityKey = (typeof observabilityConfigs)[number]['key'];

/** One window: a configuration's throughput in one round. */
export interface ObservabilityWindow {
  round: number;
  key: ObservabilityKey;
  requestsPerSecond: number;
  p99Us: number;
  errors: number;
}

/** A feature's ratios to the plain server, one per round, with their median and range. */
export interface ObservabilitySummary {
  key: ObservabilityKey;
  label: string;
  medianRequestsPerSecond: number;
  ratios: number[];
  median: number;
  min: number;
  max: number;
  target: number | undefined;
  pass: boolean | undefined;
}

/** The rounds' ratios of each feature to the plain server (same round, so the same machine). */
export function summarizeObservability(windows: readonly ObservabilityWindow[]): ObservabilitySummary[] {
  const rounds = [...new Set(windows.map((w) => w.round))];
  const rps = (round: number, key: ObservabilityKey): number | undefined => windows.find((w) => w.round === round && w.key === key)?.requestsPerSecond;
  return observabilityConfigs.map(({ key, label, target }) => {
    const ratios = rounds.map((r) => {
      const a = rps(r, key);
      const b = rps(r, 'plain');
      return a === undefined || b === undefined || b === 0 ? undefined : a / b;
    }).filter((x): x is number => x !== undefined);
    const mid = median(ratios) ?? 0;
    return {
      key,
      label,
      medianRequestsPerSecond: median(windows.filter((w) => w.key === key).map((w) => w.requestsPerSecond)) ?? 0,
      ratios,
      median: mid,
      min: ratios.length === 0 ? 0 : Math.min(...ratios),
      max: ratios.length === 0 ? 0 : Math.max(...ratios),
      target,
      pass: target === undefined || ratios.length === 0 ? undefined : mid >= target,
    };
  });
}

/** The report's lines: a table and a verdict per target. */
export function observabilityLines(summary: readonly ObservabilitySummary[], inFlight: number, rounds: number): string[] {
  const rows = [['configuration', 'req/s (median)', '/ plain (median)', 'range', 'target', 'verdict']];
  for (const s of summary) {
    rows.push([
      s.label,
      Math.round(s.medianRequestsPerSecond).toLocaleString('en-US'),
      s.key === 'plain' ? '1' : `${s.median.toFixed(3)}×`,
      s.key === 'plain' ? '' : `${s.min.toFixed(3)}–${s.max.toFixed(3)}×`,
      s.target === undefined ? '' : `≥ ${s.target}×`,
      s.pass === undefined ? '' : s.pass ? 'PASS' : 'FAIL',
    ]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return [
    `Observability overhead: MLP unary, ${inFlight} in flight, batching on, ${rounds} rounds (each: every configuration one window, order rotating); ratios to the plain server in the same round`,
    ...rows.map((row) => row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd()),
  ];
}

/** An HTTP server that takes OTLP/HTTP exports and drops them, counting the requests. */
async function otlpSink(): Promise<{ url: string; exports: () => number; close: () => Promise<void> }> {
  let count = 0;
  const server = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      count++;
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}/v1/traces`,
    exports: () => count,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

function run(binary: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => execFile(binary, args, { maxBuffer: 64 * 1024 * 1024 }, (error, stdout) => (error ? reject(error) : resolve(stdout))));
}

/** Runs the rounds; `onWindow` hears of each window as it ends. */
export async function runObservability(options: BenchOptions, rounds: number, onWindow: (w: ObservabilityWindow) => void = () => undefined): Promise<ObservabilityWindow[]> {
  const h2load = findH2load();
  if (h2load === undefined) throw new Error('--observability needs h2load (Debian package nghttp2-client)');
  const inFlight = options.concurrency.at(-1) ?? 64;
  const dir = await mkdtemp(join(tmpdir(), 'modelserve-observability-'));
  const sink = await otlpSink();
  const servers = new Map<ObservabilityKey, RunningServer>();
  try {
    const model = benchModels.mlp;
    const bytes = generateModels([model]);
    const repository = { batching: true, maxBatchSize: options.maxBatchSize, instances: options.instances, maxQueueDelayUs: options.maxQueueDelayUs, preferredBatchSizes: options.preferredBatchSizes };
    await writeRepository(join(dir, 'plain'), [model], bytes, repository);
    await writeRepository(join(dir, 'drift'), [model], bytes, repository);
    const config = join(dir, 'drift', model.name, 'config.yaml');
    await writeFile(config, `${await readFile(config, 'utf8')}drift:\n  sample_rate: 0.1\n`);
    const args: Record<ObservabilityKey, { repository: string; extra: string[] }> = {
      plain: { repository: join(dir, 'plain'), extra: ['--metrics-port', '0'] },
      metrics: { repository: join(dir, 'plain'), extra: [] },
      tracing: { repository: join(dir, 'plain'), extra: ['--metrics-port', '0', '--otlp-endpoint', sink.url, '--trace-ratio', '0.001'] },
      drift: { repository: join(dir, 'drift'), extra: ['--metrics-port', '0'] },
    };
    for (const { key } of observabilityConfigs) servers.set(key, await startModelserve(args[key].repository, () => undefined, { extraArgs: args[key].extra }));
    const dataFile = join(dir, 'body.bin');
    await writeFile(dataFile, grpcFrame(Buffer.from(encodedPayloads(model)[0]!, 'base64')));
    const windows: ObservabilityWindow[] = [];
    const keys = observabilityConfigs.map((c) => c.key);
    for (let round = 0; round < rounds; round++) {
      const order = [...keys.slice(round % keys.length), ...keys.slice(0, round % keys.length)];
      for (const key of order) {
        const server = servers.get(key)!;
        const logFile = join(dir, `log-${key}.txt`);
        await run(h2load, h2loadArgs({ url: `http://${server.address}/modelserve.v1.Predictor/Predict`, dataFile, logFile, inFlight, warmupMs: options.warmupMs, durationMs: options.durationMs, deadlineMs: 0 }));
        const log = parseH2loadLog(await readFile(logFile, 'utf8'));
        const durations = [...log.durationsUs].sort((a, b) => a - b);
        const seconds = (log.lastEndUs - log.firstStartUs) / 1e6;
        const window: ObservabilityWindow = {
          round,
          key,
          requestsPerSecond: seconds > 0 ? durations.length / seconds : 0,
          p99Us: durations[Math.min(durations.length - 1, Math.floor(durations.length * 0.99))] ?? 0,
          errors: Object.values(log.errors).reduce((a, b) => a + b, 0),
        };
        windows.push(window);
        onWindow(window);
      }
    }
    // The servers flush their spans as they stop (SIGTERM drains them).
    await Promise.all([...servers.values()].map((s) => s.stop()));
    servers.clear();
    if (sink.exports() === 0) throw new Error('the tracing server exported no spans: tracing was not measured');
    return windows;
  } finally {
    await Promise.all([...servers.values()].map((s) => s.stop()));
    await sink.close();
    await rm(dir, { recursive: true, force: true });
  }
}
