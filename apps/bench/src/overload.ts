/**
 * `--overload`: modelserve at `overloadFactor` times the load it can carry. Serves a compute-heavy
 * MLP (784→32768→10, several ms per run) on one instance with batching off and modelserve's default
 * limits (max_queue_size 1024), so that its capacity is a few hundred calls per second: the load
 * workers, on the same small machine, can then really offer ten times that (the demo models serve
 * thousands per second, more than Node load workers can multiply by ten on 2 cores). Measures
 * capacity (closed loop, 64 in flight), then drives an open loop at factor × capacity for `overloadSeconds`, each
 * call with `overloadDeadlineMs`. Meanwhile the benchmark's own process checks health every 100 ms
 * on its own connection and reads the server's RSS from /proc every 250 ms. The requirement: the
 * server keeps answering, excess calls get RESOURCE_EXHAUSTED quickly, accepted calls meet their
 * deadline or get DEADLINE_EXCEEDED, RSS stays under the bound, health checks keep answering.
 */
import { HealthProbe } from './admin.js';
import { alignColumns, formatBytes, formatLatency, formatRate } from './format.js';
import { newHistogram, NO_LATENCY, summarize } from './histogram.js';
import { LoadGenerator } from './load-generator.js';
import { readRequestCounts } from './observe.js';
import type { BenchOptions } from './options.js';
import { mlp } from '@modelserve/model-zoo';
import { encodedPayloads, type BenchModel } from './payloads.js';
import { procStatus, procStatusBytes } from './proc-status.js';
import type { Progress } from './progress.js';
import { temporaryDirectory } from './repository.js';
import { startServing } from './rss.js';
import { verdict, type TargetResult } from './targets.js';
import type { OverloadResult } from './types-stress.js';

const HEALTH_INTERVAL_MS = 100;
const HEALTH_DEADLINE_MS = 1000;
const RSS_INTERVAL_MS = 250;
/** "Quickly": the p99 of RESOURCE_EXHAUSTED answers must stay below this. */
export const REJECTION_P99_MS = 100;
/** OK calls may end this much past their deadline: the client's timers run late on a busy machine too. */
export const DEADLINE_SLACK_MS = 50;
/** The statuses an overloaded server may answer with ('OK': answered with outputs). */
const ALLOWED = ['OK', 'RESOURCE_EXHAUSTED', 'DEADLINE_EXCEEDED'];

/** The model overloaded: wide enough that one run takes milliseconds (its 100 MB of weights are read per run). */
export const overloadModel: BenchModel = {
  key: 'mlp',
  name: 'wide_mlp',
  label: 'MLP 784→32768→10',
  inputName: 'input',
  outputName: 'output',
  sampleDims: [784],
  outputSize: 10,
  generated: () => mlp({ seed: 7, hidden: 32768 }),
};

/**
 * The open loop's in-flight cap: twice the calls the offered rate keeps in flight when each runs to
 * its deadline, at least 10,000, so that the cap does not shed the load instead of the server.
 */
export function overloadInFlightCap(rate: number, deadlineMs: number): number {
  return Math.max(10_000, Math.ceil(rate * (deadlineMs / 1000) * 2));
}

/** Health checks every `HEALTH_INTERVAL_MS` until `stop()`, which waits for the checks in flight. */
class HealthWatch {
  private readonly histogram = newHistogram();
  private readonly failed: Record<string, number> = {};
  private readonly pending = new Set<Promise<void>>();
  private sent = 0;
  private serving = 0;
  private readonly timer: NodeJS.Timeout;

  private constructor(private readonly probe: HealthProbe) {
    this.timer = setInterval(() => this.check(), HEALTH_INTERVAL_MS);
  }

  /** Connects (one check, not counted) and starts checking. */
  static async start(address: string): Promise<HealthWatch> {
    const probe = new HealthProbe(address);
    await probe.check(HEALTH_DEADLINE_MS);
    return new HealthWatch(probe);
  }

  private check(): void {
    this.sent++;
    const done = this.probe.check(HEALTH_DEADLINE_MS).then((result) => {
      this.pending.delete(done);
      this.histogram.recordValue(Math.max(1, Math.round(result.ms * 1000)));
      if (result.answered && result.status === 'SERVING') this.serving++;
      else this.failed[result.status] = (this.failed[result.status] ?? 0) + 1;
    });
    this.pending.add(done);
  }

  async stop(): Promise<OverloadResult['health']> {
    clearInterval(this.timer);
    await Promise.all(this.pending);
    this.probe.close();
    const latency = summarize(this.histogram);
    this.histogram.destroy();
    return { intervalMs: HEALTH_INTERVAL_MS, deadlineMs: HEALTH_DEADLINE_MS, sent: this.sent, serving: this.serving, failed: this.failed, latency };
  }
}

/** Runs the overload. */
export async function runOverload(options: BenchOptions, progress: Progress): Promise<OverloadResult> {
  const temporary = await temporaryDirectory('modelserve-bench-overload-');
  let generator: LoadGenerator | undefined;
  let serving: Awaited<ReturnType<typeof startServing>> | undefined;
  let rssTimer: NodeJS.Timeout | undefined;
  try {
    serving = await startServing({ ...options, instances: 1 }, temporary.path, progress, overloadModel, [false]);
    const { address, pid } = serving.server;
    const idleBytes = procStatusBytes(procStatus(pid), 'VmRSS');
    generator = await LoadGenerator.start(options.workers);
    const base = { address, method: 'unary' as const, payloads: encodedPayloads(overloadModel), streams: 0, channels: options.overloadChannels };
    progress.step('overload: capacity (closed loop, 64 in flight, 5 s)', 6000);
    const capacity = await generator.run({ ...base, concurrency: 64, rate: 0, warmupMs: 1000, durationMs: 5000, deadlineMs: options.deadlineMs });
    const offeredRate = Math.max(1, Math.round(capacity.requestsPerSecond * options.overloadFactor));
    const deadlineMs = options.overloadDeadlineMs;
    const maxInFlight = overloadInFlightCap(offeredRate, deadlineMs);
    progress.finish(`${formatRate(capacity.requestsPerSecond)} req/s; overloading at ${formatRate(offeredRate)} req/s`);

    const model = overloadModel.name;
    const countsBefore = await readRequestCounts(serving.admin, model);
    const statsReset = await serving.admin.serverStats(true).catch(() => undefined);
    const health = await HealthWatch.start(address);
    const samples: Array<number | undefined> = [];
    rssTimer = setInterval(() => samples.push(procStatusBytes(procStatus(pid), 'VmRSS')), RSS_INTERVAL_MS);
    progress.step(`overload: ${formatRate(offeredRate)} req/s (${options.overloadFactor}× capacity) for ${options.overloadSeconds} s, deadline ${deadlineMs} ms`, options.overloadSeconds * 1000 + deadlineMs + 1000);
    const outcome = await generator.run(
      { ...base, concurrency: 0, rate: offeredRate, warmupMs: 0, durationMs: options.overloadSeconds * 1000, deadlineMs, maxInFlight, countDrained: true },
      (completed) => progress.note(`${completed.toLocaleString('en-US')} OK`),
    );
    clearInterval(rssTimer);
    const healthResult = await health.stop();
    const hwmBytes = procStatusBytes(procStatus(pid), 'VmHWM');
    const countsAfter = await readRequestCounts(serving.admin, model);
    const stats = statsReset === undefined ? undefined : await serving.admin.serverStats(false).catch(() => undefined);

    const statuses: OverloadResult['statuses'] = { OK: { count: outcome.completed, latency: outcome.latency } };
    for (const [name, count] of Object.entries(outcome.errors)) statuses[name] = { count, latency: outcome.errorLatency[name] ?? NO_LATENCY };
    const unanswered = outcome.unanswered ?? 0;
    const sampled = samples.filter((b): b is number => b !== undefined);
    const result: OverloadResult = {
      factor: options.overloadFactor,
      capacity: capacity.requestsPerSecond,
      offeredRate,
      okRate: outcome.requestsPerSecond,
      seconds: options.overloadSeconds,
      deadlineMs,
      maxInFlight,
      calls: Object.values(statuses).reduce((sum, s) => sum + s.count, 0) + outcome.dropped + unanswered,
      statuses,
      dropped: outcome.dropped,
      unanswered,
      okWithinDeadline: outcome.withinDeadline ?? 0,
      sendLag: outcome.sendLag ?? NO_LATENCY,
      server: countsBefore === undefined || countsAfter === undefined ? undefined : { requests: countsAfter.requests - countsBefore.requests, failures: countsAfter.failures - countsBefore.failures },
      eventLoopDelayMs: stats === undefined ? undefined : { p50: stats.event_loop_delay_p50_ms, p99: stats.event_loop_delay_p99_ms, max: stats.event_loop_delay_max_ms },
      health: healthResult,
      rss: {
        idleBytes,
        peakBytes: sampled.length === 0 ? undefined : Math.max(...sampled),
        hwmBytes,
        boundBytes: (idleBytes ?? 0) + options.overloadRssGrowthMib * 1024 * 1024,
        intervalMs: RSS_INTERVAL_MS,
        samples,
      },
      exitReason: serving.server.exitReason(),
    };
    const count = (name: string): string => (result.statuses[name]?.count ?? 0).toLocaleString('en-US');
    progress.finish(`${count('OK')} OK, ${count('RESOURCE_EXHAUSTED')} RESOURCE_EXHAUSTED, ${count('DEADLINE_EXCEEDED')} DEADLINE_EXCEEDED; health ${healthResult.serving}/${healthResult.sent} SERVING; peak RSS ${formatBytes(result.rss.peakBytes)}`);
    return result;
  } finally {
    clearInterval(rssTimer);
    await generator?.close();
    serving?.admin.close();
    await serving?.server.stop();
    temporary.remove();
  }
}

const percent = (part: number, whole: number): string => (whole > 0 ? `${((part / whole) * 100).toFixed(1)}%` : 'n/a');

/** PASS/FAIL for each part of the requirement. */
export function overloadVerdicts(result: OverloadResult): TargetResult[] {
  const others = Object.entries(result.statuses).filter(([name, s]) => !ALLOWED.includes(name) && s.count > 0);
  const ok = result.statuses['OK'];
  const rejected = result.statuses['RESOURCE_EXHAUSTED'];
  const healthFailures = Object.entries(result.health.failed).map(([name, n]) => `${n} ${name}`);
  const peak = result.rss.hwmBytes ?? result.rss.peakBytes;
  const dropped = result.dropped > 0 ? `; ${result.dropped.toLocaleString('en-US')} not sent (client in-flight cap)` : '';
  const rssTarget = `peak server RSS ≤ idle + ${formatBytes(result.rss.boundBytes - (result.rss.idleBytes ?? 0))} = ${formatBytes(result.rss.boundBytes)}`;
  return [
    { target: 'the server kept running', verdict: verdict(result.exitReason === undefined), measured: result.exitReason ?? 'no exit' },
    {
      target: 'every call answered OK, RESOURCE_EXHAUSTED or DEADLINE_EXCEEDED',
      verdict: verdict(others.length === 0 && result.unanswered === 0 && (ok?.count ?? 0) > 0),
      measured: `${others.length === 0 ? 'no other status' : others.map(([name, s]) => `${s.count.toLocaleString('en-US')} ${name}`).join(', ')}, ${result.unanswered.toLocaleString('en-US')} unanswered, ${(ok?.count ?? 0).toLocaleString('en-US')} OK${dropped}`,
    },
    rejected === undefined || rejected.count === 0
      ? { target: `RESOURCE_EXHAUSTED p99 < ${REJECTION_P99_MS} ms`, verdict: 'FAIL', measured: 'no RESOURCE_EXHAUSTED: excess calls were not rejected' }
      : { target: `RESOURCE_EXHAUSTED p99 < ${REJECTION_P99_MS} ms`, verdict: verdict(rejected.latency.p99 < REJECTION_P99_MS), measured: `p99 ${formatLatency(rejected.latency.p99)}, max ${formatLatency(rejected.latency.max)} (${rejected.count.toLocaleString('en-US')} calls)` },
    ok === undefined || ok.count === 0
      ? { target: `OK calls within the deadline + ${DEADLINE_SLACK_MS} ms`, verdict: 'FAIL', measured: 'no OK calls' }
      : {
          target: `OK calls within the deadline + ${DEADLINE_SLACK_MS} ms`,
          verdict: verdict(ok.latency.max <= result.deadlineMs + DEADLINE_SLACK_MS),
          measured: `max ${formatLatency(ok.latency.max)} against ${result.deadlineMs} + ${DEADLINE_SLACK_MS} ms; ${percent(result.okWithinDeadline, ok.count)} within ${result.deadlineMs} ms`,
        },
    {
      target: 'every health check answered SERVING',
      verdict: verdict(result.health.sent > 0 && result.health.serving === result.health.sent),
      measured: `${result.health.serving}/${result.health.sent} SERVING${healthFailures.length === 0 ? '' : ` (${healthFailures.join(', ')})`}, p99 ${formatLatency(result.health.latency.p99)}, max ${formatLatency(result.health.latency.max)}`,
    },
    peak === undefined
      ? { target: rssTarget, verdict: 'NOT MEASURED', measured: `n/a: /proc/<pid>/status not readable` }
      : { target: rssTarget, verdict: verdict(peak <= result.rss.boundBytes), measured: `${formatBytes(peak)} (${result.rss.hwmBytes === undefined ? 'highest VmRSS sampled' : 'VmHWM'})` },
  ];
}

/** The overload's table and summary lines. */
export function overloadLines(result: OverloadResult): string[] {
  const order = (name: string): number => (ALLOWED.includes(name) ? ALLOWED.indexOf(name) : ALLOWED.length);
  const names = Object.keys(result.statuses).sort((a, b) => order(a) - order(b) || a.localeCompare(b));
  const rows = [['status', 'calls', 'share', 'p50', 'p99', 'max']];
  for (const name of names) {
    const s = result.statuses[name]!;
    rows.push([name, s.count.toLocaleString('en-US'), percent(s.count, result.calls), formatLatency(s.latency.p50), formatLatency(s.latency.p99), formatLatency(s.latency.max)]);
  }
  rows.push(['not sent (client cap)', result.dropped.toLocaleString('en-US'), percent(result.dropped, result.calls), '', '', '']);
  rows.push(['unanswered', result.unanswered.toLocaleString('en-US'), percent(result.unanswered, result.calls), '', '', '']);
  const ok = result.statuses['OK'];
  const health = result.health;
  const rss = result.rss;
  const loop = result.eventLoopDelayMs;
  return [
    `Overload: ${overloadModel.label} unary, 1 instance, batching off, default queue limits; open loop at ${formatRate(result.offeredRate)} req/s = ${result.factor}× the ${formatRate(result.capacity)} req/s measured closed-loop (64 in flight), ${result.seconds} s, deadline ${result.deadlineMs} ms, in-flight cap ${formatRate(result.maxInFlight)}`,
    'Latency from each call\'s scheduled time:',
    ...alignColumns(rows),
    `OK: ${formatRate(result.okRate)} req/s (${percent(result.okRate, result.capacity)} of capacity); ${result.okWithinDeadline.toLocaleString('en-US')} of ${(ok?.count ?? 0).toLocaleString('en-US')} (${percent(result.okWithinDeadline, ok?.count ?? 0)}) within the ${result.deadlineMs} ms deadline`,
    `Server's own view of the window: ${result.server === undefined ? 'n/a' : `${result.server.requests.toLocaleString('en-US')} answered with outputs (${formatRate(result.server.requests / result.seconds)}/s), ${result.server.failures.toLocaleString('en-US')} accepted and then failed`}; event-loop delay ${loop === undefined ? 'n/a' : `p50 ${formatLatency(loop.p50)}, p99 ${formatLatency(loop.p99)}, max ${formatLatency(loop.max)}`}`,
    `Client send lag (scheduled → sent, included in every latency above): p50 ${formatLatency(result.sendLag.p50)}, p99 ${formatLatency(result.sendLag.p99)}, max ${formatLatency(result.sendLag.max)}`,
    `Health checks (every ${health.intervalMs} ms, ${health.deadlineMs} ms deadline, own connection): ${health.sent} sent, ${health.serving} SERVING, ${health.sent - health.serving} not; p50 ${formatLatency(health.latency.p50)}, p99 ${formatLatency(health.latency.p99)}, max ${formatLatency(health.latency.max)}`,
    `Server RSS (/proc/<pid>/status): idle ${formatBytes(rss.idleBytes)}, peak sampled every ${rss.intervalMs} ms ${formatBytes(rss.peakBytes)}, VmHWM ${formatBytes(rss.hwmBytes)}; bound ${formatBytes(rss.boundBytes)}`,
    ...(result.exitReason === undefined ? [] : [`Server exited: ${result.exitReason}`]),
  ];
}
