/**
 * `--sdk`: what does @modelserve/client's client-side balancing cost? Three echo servers, one
 * client process (sdk-worker.ts), and in each round every SDK policy paired with a bare grpc-js
 * client (its own round_robin) run right before or after it, on the same closed-loop load and the
 * same MLP request. Pairs keep a burst of noise on a shared machine from landing on one side only;
 * the worker keeps each client connected and warm between its runs, so the default is many short
 * pairs (20 rounds of 1 s windows), each close enough in time to see the same machine.
 */
import type { ChildProcess } from 'node:child_process';
import { loadavg } from 'node:os';
import { forkChild, stopChild, waitForMessage } from './children.js';
import { formatLatency, formatRate } from './format.js';
import type { BenchOptions } from './options.js';
import type { Progress } from './progress.js';
import { pairOrder, sdkPolicies, summarizeSdk } from './sdk-compare.js';
import { startEchoServer, type RunningServer } from './servers-baseline.js';
import type { FromSdkWorker, SdkClientKind, SdkResult, SdkRun } from './types-sdk.js';

/** Echo servers the clients balance over. */
export const SDK_SERVERS = 3;

/** Steps of an `--sdk` run: grpc-js and every policy in the warm-up pass, a pair per policy each round. */
export function countSdkSteps(options: BenchOptions): number {
  return 1 + sdkPolicies.length + options.sdkRounds * sdkPolicies.length * 2;
}

async function startServers(): Promise<RunningServer[]> {
  const started = await Promise.allSettled(Array.from({ length: SDK_SERVERS }, () => startEchoServer()));
  const servers = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const failed = started.find((s) => s.status === 'rejected');
  if (failed !== undefined) {
    await Promise.all(servers.map((s) => s.stop()));
    throw failed.reason;
  }
  return servers;
}

async function measure(worker: ChildProcess, client: SdkClientKind, servers: readonly RunningServer[], options: BenchOptions, warmupMs: number, durationMs: number): Promise<SdkRun> {
  const job = { client, addresses: servers.map((s) => s.address), concurrency: options.sdkConcurrency, warmupMs, durationMs, deadlineMs: options.deadlineMs };
  const answer = waitForMessage(
    worker,
    (m) => {
      const message = m as FromSdkWorker;
      if (message.type === 'failed') throw new Error(`SDK worker (${client}): ${message.message}`);
      return message.type === 'result' ? message.result : undefined;
    },
    warmupMs + durationMs + 60_000,
  );
  worker.send({ type: 'job', job });
  const run = await answer;
  const gone = servers.map((s) => s.exitReason()).find((r) => r !== undefined);
  if (gone !== undefined) throw new Error(gone);
  return run;
}

/** Runs the rounds and summarizes them per policy. */
export async function runSdk(options: BenchOptions, progress: Progress): Promise<SdkResult> {
  let servers: RunningServer[] = [];
  let worker: ChildProcess | undefined;
  try {
    servers = await startServers();
    worker = forkChild('./sdk-worker.js');
    await waitForMessage(worker, (m) => ((m as FromSdkWorker).type === 'ready' ? true : undefined));
    const result: SdkResult = {
      servers: SDK_SERVERS,
      concurrency: options.sdkConcurrency,
      rounds: options.sdkRounds,
      warmupMs: options.warmupMs,
      durationMs: options.durationMs,
      loadAverage: [loadavg()[0]!, 0],
      pairs: {},
      summary: [],
    };
    const clients: SdkClientKind[] = ['grpc', ...sdkPolicies];
    const label = (client: SdkClientKind): string => `${client === 'grpc' ? 'grpc-js round_robin' : `SDK ${client}`}, ${options.sdkConcurrency} in flight`;
    // Fresh processes run cold (JIT, buffers) for seconds: one pass of every client, not counted.
    const warmupMs = Math.max(1000, 2 * options.warmupMs);
    for (const client of clients) {
      progress.step(`sdk: warm-up, ${label(client)}`, warmupMs);
      const run = await measure(worker, client, servers, options, warmupMs, 0);
      progress.finish(`${formatRate(run.requestsPerSecond)} req/s (not counted)`);
    }
    for (let round = 1; round <= options.sdkRounds; round++) {
      for (const policy of sdkPolicies) {
        const runs: Partial<Record<'grpc' | 'sdk', SdkRun>> = {};
        for (const side of pairOrder(round)) {
          const client = side === 'grpc' ? 'grpc' : policy;
          const pair = side === 'grpc' ? ` (pair of ${policy})` : '';
          progress.step(`sdk: round ${round}/${options.sdkRounds}, ${label(client)}${pair}`, options.warmupMs + options.durationMs);
          const run = await measure(worker, client, servers, options, options.warmupMs, options.durationMs);
          runs[side] = run;
          const errors = Object.values(run.errors).reduce((a, b) => a + b, 0);
          const cpu = run.cpuPerCallUs === undefined ? 'n/a' : `${run.cpuPerCallUs.toFixed(0)} µs`;
          progress.finish(`${formatRate(run.requestsPerSecond)} req/s, p50 ${formatLatency(run.latency.p50)}, p99 ${formatLatency(run.latency.p99)}, CPU/call ${cpu}, loop ${(run.eventLoopUtilization * 100).toFixed(0)}%${errors > 0 ? `, ${errors} errors` : ''}`);
        }
        (result.pairs[policy] ??= []).push({ round, first: pairOrder(round)[0], grpc: runs.grpc!, sdk: runs.sdk! });
      }
    }
    result.loadAverage[1] = loadavg()[0]!;
    result.summary = summarizeSdk(result.pairs);
    return result;
  } finally {
    if (worker !== undefined) await stopChild(worker);
    await Promise.all(servers.map((s) => s.stop()));
  }
}
