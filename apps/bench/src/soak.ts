/**
 * `--soak`: modelserve under steady load for a long time. Measures capacity (closed loop, 64 in
 * flight), then drives an open loop at `soakLoad` of it (default 70%) in windows of
 * `soakWindowSeconds`, reading p99, errors and the server's RSS after each: drift shows as p99 or
 * RSS that keeps rising.
 */
import { formatBytes, formatLatency, formatRate } from './format.js';
import { LoadGenerator } from './load-generator.js';
import type { BenchOptions } from './options.js';
import { benchModels, encodedPayloads } from './payloads.js';
import type { Progress } from './progress.js';
import { temporaryDirectory } from './repository.js';
import { startServing } from './rss.js';
import type { SoakResult } from './types-stress.js';

/** Later windows against the first: p99 and RSS ratios, and the errors of every window. */
export function soakSummary(windows: SoakResult['windows']): Pick<SoakResult, 'p99Drift' | 'rssGrowth' | 'errors'> {
  const first = windows[0];
  const last = windows.at(-1);
  const ratio = (a: number | undefined, b: number | undefined): number | undefined => (a !== undefined && b !== undefined && b > 0 ? a / b : undefined);
  return {
    p99Drift: ratio(last?.p99Ms, first?.p99Ms),
    rssGrowth: ratio(last?.rssBytes, first?.rssBytes),
    errors: windows.reduce((sum, w) => sum + w.errors, 0),
  };
}

/** Runs the soak. */
export async function runSoak(options: BenchOptions, progress: Progress): Promise<SoakResult> {
  const temporary = await temporaryDirectory('modelserve-bench-soak-');
  let generator: LoadGenerator | undefined;
  let serving: Awaited<ReturnType<typeof startServing>> | undefined;
  try {
    serving = await startServing(options, temporary.path, progress);
    generator = await LoadGenerator.start(options.workers);
    const payloads = encodedPayloads(benchModels.mlp);
    const base = { address: serving.server.address, method: 'unary' as const, payloads, streams: 0, warmupMs: 1000, deadlineMs: options.deadlineMs, channels: options.channels };
    progress.step('soak: capacity (closed loop, 64 in flight, 5 s)', 6000);
    const capacity = await generator.run({ ...base, concurrency: 64, rate: 0, durationMs: 5000 });
    const rate = Math.max(1, Math.round(capacity.requestsPerSecond * options.soakLoad));
    progress.finish(`${formatRate(capacity.requestsPerSecond)} req/s; soaking at ${formatRate(rate)} req/s`);
    const windows: SoakResult['windows'] = [];
    const count = Math.max(1, Math.round((options.soakMinutes * 60) / options.soakWindowSeconds));
    for (let i = 0; i < count; i++) {
      progress.step(`soak: window ${i + 1}/${count} at ${formatRate(rate)} req/s`, options.soakWindowSeconds * 1000);
      const outcome = await generator.run({ ...base, concurrency: 0, rate, warmupMs: 0, durationMs: options.soakWindowSeconds * 1000, maxInFlight: options.maxInFlight });
      const gone = serving.server.exitReason();
      if (gone !== undefined) throw new Error(`${gone} (in soak window ${i + 1})`);
      const stats = await serving.admin.serverStats(false).catch(() => undefined);
      const window = {
        index: i + 1,
        requestsPerSecond: outcome.requestsPerSecond,
        p50Ms: outcome.latency.p50,
        p99Ms: outcome.latency.p99,
        errors: Object.values(outcome.errors).reduce((a, b) => a + b, 0) + outcome.dropped,
        rssBytes: stats === undefined ? undefined : Number(stats.rss_bytes),
      };
      windows.push(window);
      progress.finish(`${formatRate(window.requestsPerSecond)} req/s, p99 ${formatLatency(window.p99Ms)}, errors ${window.errors}, RSS ${formatBytes(window.rssBytes)}`);
    }
    return { capacity: capacity.requestsPerSecond, rate, windowSeconds: options.soakWindowSeconds, windows, ...soakSummary(windows) };
  } finally {
    await generator?.close();
    serving?.admin.close();
    await serving?.server.stop();
    temporary.remove();
  }
}

/** The soak's table and summary lines. */
export function soakLines(result: SoakResult): string[] {
  const lines = [
    `Soak: MLP unary, open loop at ${formatRate(result.rate)} req/s (${Math.round((result.rate / result.capacity) * 100)}% of the ${formatRate(result.capacity)} req/s measured closed-loop), ${result.windows.length} windows of ${result.windowSeconds} s`,
    'window  req/s     p50        p99        errors  rss',
  ];
  for (const w of result.windows) {
    lines.push(`${String(w.index).padStart(6)}  ${formatRate(w.requestsPerSecond).padStart(8)}  ${formatLatency(w.p50Ms).padStart(9)}  ${formatLatency(w.p99Ms).padStart(9)}  ${String(w.errors).padStart(6)}  ${formatBytes(w.rssBytes)}`);
  }
  const ratio = (r: number | undefined) => (r === undefined ? 'n/a' : `×${r.toFixed(2)}`);
  lines.push(`p99 last/first window ${ratio(result.p99Drift)}, RSS last/first ${ratio(result.rssGrowth)}, errors ${result.errors}`);
  return lines;
}
