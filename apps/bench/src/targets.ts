/** The benchmark's targets, each evaluated from the run's own measurements. */
import { formatBytes, formatLatency, formatRate, formatRatio } from './format.js';
import { findPoint, ratio } from './ratios.js';
import type { BenchResults, ModelKey, PointResult } from './types.js';

/** PASS, FAIL, or not measured in this run (with why). */
export type Verdict = 'PASS' | 'FAIL' | 'NOT MEASURED';

/** One target's outcome. */
export interface TargetResult {
  target: string;
  verdict: Verdict;
  /** The numbers behind the verdict. */
  measured: string;
}

const notMeasured = (target: string, why: string): TargetResult => ({ target, verdict: 'NOT MEASURED', measured: why });
/** PASS when `ok`, else FAIL. */
export const verdict = (ok: boolean): Verdict => (ok ? 'PASS' : 'FAIL');

/** modelserve's point: batching on when measured, else batching off (said in `note`). */
function modelservePoint(points: readonly PointResult[], model: ModelKey, method: 'unary' | 'stream', concurrency: number): { point?: PointResult; note: string } {
  const on = findPoint(points, { config: 'on', model, method, concurrency });
  if (on !== undefined) return { point: on, note: '' };
  const off = findPoint(points, { config: 'off', model, method, concurrency });
  return { point: off, note: off === undefined ? '' : ' (batching off: batching on not measured)' };
}

function throughputTarget(points: readonly PointResult[], baseline: 'naive' | 'echo', min: number, directEcho = false): TargetResult {
  const target = `MLP unary, 64 in flight: modelserve ≥ ${min}× ${baseline === 'naive' ? 'the naive server' : 'the echo transport limit'}`;
  if (baseline === 'echo' && directEcho) return notMeasured(target, 'the transport limit is the bare grpc-js echo: run without --echo-transport direct');
  const { point, note } = modelservePoint(points, 'mlp', 'unary', 64);
  const base = findPoint(points, { config: baseline, model: 'mlp', method: 'unary', concurrency: 64 });
  const r = ratio(point?.requestsPerSecond, base?.requestsPerSecond);
  if (point === undefined || base === undefined || r === undefined) return notMeasured(target, `needs modelserve and ${baseline} at 64 in flight`);
  return { target, verdict: verdict(r >= min), measured: `${formatRate(point.requestsPerSecond)} / ${formatRate(base.requestsPerSecond)} req/s = ${formatRatio(r)}${note}` };
}

function batchingTargets(points: readonly PointResult[]): TargetResult[] {
  const target = 'CNN unary, 32 in flight: batching on ≥ 2× batching off, p99 no worse';
  const on = findPoint(points, { config: 'on', model: 'cnn', method: 'unary', concurrency: 32 });
  const off = findPoint(points, { config: 'off', model: 'cnn', method: 'unary', concurrency: 32 });
  const r = ratio(on?.requestsPerSecond, off?.requestsPerSecond);
  if (on === undefined || off === undefined || r === undefined) return [notMeasured(target, 'needs CNN with batching on and off at 32 in flight')];
  return [
    { target: 'CNN unary, 32 in flight: batching on ≥ 2× batching off', verdict: verdict(r >= 2), measured: `${formatRate(on.requestsPerSecond)} / ${formatRate(off.requestsPerSecond)} req/s = ${formatRatio(r)}` },
    { target: 'CNN unary, 32 in flight: batching on p99 no worse than off', verdict: verdict(on.latency.p99 <= off.latency.p99), measured: `p99 ${formatLatency(on.latency.p99)} on, ${formatLatency(off.latency.p99)} off` },
  ];
}

function idleTarget(points: readonly PointResult[], model: ModelKey): TargetResult {
  const target = `${model.toUpperCase()} unary, 1 in flight: batching on p50 within 10% of batching off`;
  const on = findPoint(points, { config: 'on', model, method: 'unary', concurrency: 1 });
  const off = findPoint(points, { config: 'off', model, method: 'unary', concurrency: 1 });
  const r = ratio(on?.latency.p50, off?.latency.p50);
  if (on === undefined || off === undefined || r === undefined) return notMeasured(target, 'needs batching on and off at 1 in flight');
  return { target, verdict: verdict(r <= 1.1), measured: `p50 ${formatLatency(on.latency.p50)} on, ${formatLatency(off.latency.p50)} off = ${formatRatio(r)}` };
}

function streamTarget(points: readonly PointResult[], model: ModelKey): TargetResult {
  const target = `${model.toUpperCase()}: PredictStream 64 in flight on 8 streams ≥ 1.5× unary at 64 in flight`;
  const stream = modelservePoint(points, model, 'stream', 64);
  const unary = findPoint(points, { config: stream.point?.config ?? 'on', model, method: 'unary', concurrency: 64 });
  const r = ratio(stream.point?.requestsPerSecond, unary?.requestsPerSecond);
  if (stream.point === undefined || unary === undefined || r === undefined) return notMeasured(target, 'needs modelserve stream and unary at 64 in flight');
  const streams = stream.point.streams === 8 ? '' : ` (on ${stream.point.streams} streams)`;
  return { target, verdict: verdict(r >= 1.5), measured: `${formatRate(stream.point.requestsPerSecond)} / ${formatRate(unary.requestsPerSecond)} req/s = ${formatRatio(r)}${streams}${stream.note}` };
}

function saturationTargets(points: readonly PointResult[], directEcho: boolean): TargetResult[] {
  const loopTarget = 'CNN saturating modelserve: event-loop delay p99 < 5 ms';
  const healthTarget = 'CNN saturating modelserve: a health check answers';
  const candidates = points.filter((p) => p.model === 'cnn' && p.method === 'unary' && (p.config === 'on' || p.config === 'off'));
  const on = candidates.filter((p) => p.config === 'on');
  const pool = on.length > 0 ? on : candidates;
  const point = pool.sort((a, b) => b.concurrency + b.rate - (a.concurrency + a.rate))[0];
  if (point === undefined) return [notMeasured(loopTarget, 'needs CNN on modelserve'), notMeasured(healthTarget, 'needs CNN on modelserve')];
  const where = `(batching ${point.config}, ${point.concurrency > 0 ? `${point.concurrency} in flight` : `${point.rate}/s`}, ${formatRate(point.requestsPerSecond)} req/s)`;
  const lag = point.server?.eventLoopDelayP99Ms;
  const health = point.server;
  // The transport's own floor: an echo server's event loop under the same load.
  const echo = findPoint(points, { config: 'echo', model: point.model, method: 'unary', concurrency: point.concurrency });
  const echoLag = echo?.server?.eventLoopDelayP99Ms;
  const which = directEcho ? "echo server's (modelserve's transport)" : "echo server's";
  const floor = echoLag === undefined ? '' : `; the ${which} own p99 at ${point.concurrency} in flight: ${formatLatency(echoLag)}`;
  return [
    lag === undefined
      ? notMeasured(loopTarget, `n/a: GetServerStats not served ${where}`)
      : {
          target: loopTarget,
          verdict: verdict(lag < 5),
          measured: `p99 ${formatLatency(lag)}, p50 ${formatLatency(point.server?.eventLoopDelayP50Ms)}, max ${formatLatency(point.server?.eventLoopDelayMaxMs)} ${where}${floor}`,
        },
    health?.healthStatus === undefined
      ? notMeasured(healthTarget, `n/a: no health check answer ${where}`)
      : { target: healthTarget, verdict: verdict(health.healthStatus === 'SERVING'), measured: `${health.healthStatus} in ${formatLatency(health.healthCheckMs)} ${where}` },
  ];
}

/** The RSS target alone (the only one `--rss` measures). */
export function rssTarget(results: BenchResults): TargetResult {
  const target = 'Server RSS after 1,000,000 MLP requests within 10% of RSS after 100,000';
  const rss = results.rss;
  if (rss === undefined) return notMeasured(target, 'run with --rss');
  const first = rss.checkpoints[0];
  const last = rss.checkpoints.at(-1);
  if (rss.ratio === undefined || first === undefined || last === undefined) return notMeasured(target, 'n/a: GetServerStats not served');
  const counts = last.requests === 1_000_000 && first.requests === 100_000 ? '' : ` (after ${first.requests.toLocaleString('en-US')} and ${last.requests.toLocaleString('en-US')})`;
  return { target, verdict: verdict(rss.ratio <= 1.1), measured: `${formatBytes(first.rssBytes)} → ${formatBytes(last.rssBytes)} = ${formatRatio(rss.ratio)}${counts}` };
}

/** Every target, PASS/FAIL with the measured ratio, or NOT MEASURED with why. */
export function evaluateTargets(results: BenchResults): TargetResult[] {
  const points = results.points;
  const directEcho = results.options['echoTransport'] === 'direct';
  return [
    throughputTarget(points, 'naive', 1.3),
    throughputTarget(points, 'echo', 0.8, directEcho),
    ...batchingTargets(points),
    idleTarget(points, 'mlp'),
    idleTarget(points, 'cnn'),
    streamTarget(points, 'mlp'),
    streamTarget(points, 'cnn'),
    ...saturationTargets(points, directEcho),
    rssTarget(results),
  ];
}

/** The title of the sweep's targets (`evaluateTargets`), saying what they judge. */
export const sweepTargetsTitle = 'Targets (throughput and latency against the baselines; event loop, health and RSS under load)';
/** The title of `--rss`'s one target. */
export const rssTargetsTitle = 'Targets (server RSS growth)';

/** The Targets block as lines. */
export function targetLines(targets: readonly TargetResult[], title = sweepTargetsTitle): string[] {
  const width = Math.max(...targets.map((t) => t.target.length));
  return [title, ...targets.map((t) => `  ${t.verdict.padEnd(12)} ${t.target.padEnd(width)}  ${t.measured}`)];
}
