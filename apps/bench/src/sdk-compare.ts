/**
 * `--sdk`, the arithmetic: each round measures every SDK policy back to back with a grpc-js run of
 * its own (a pair), so a policy is judged by the median over rounds of its req/s over its pair's
 * grpc-js req/s (noise on a shared machine moves both). Pure functions, for the report and the tests.
 */
import { availableParallelism } from 'node:os';
import { alignColumns, formatRate } from './format.js';
import { ratio } from './ratios.js';
import type { TargetResult } from './targets.js';
import type { SdkPair, SdkPolicy, SdkPolicySummary, SdkResult, SdkRun } from './types-sdk.js';

/** The SDK's built-in policies, in the order they are measured. */
export const sdkPolicies: readonly SdkPolicy[] = ['round_robin', 'weighted_round_robin', 'least_request', 'peak_ewma', 'random'];

/** The SDK/grpc-js throughput ratio a policy must reach: its balancing costs under 5%. */
export const SDK_MIN_RATIO = 0.95;

/** The median of the defined values, or undefined when there is none. */
export function median(values: readonly (number | undefined)[]): number | undefined {
  const sorted = values.filter((v): v is number => v !== undefined && Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return undefined;
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const errorCount = (runs: readonly SdkRun[]): number => runs.reduce((sum, r) => sum + Object.values(r.errors).reduce((a, b) => a + b, 0), 0);

/** Which client runs first in a round's pairs: grpc-js in odd rounds, the SDK in even ones (ABBA). */
export function pairOrder(round: number): ['grpc', 'sdk'] | ['sdk', 'grpc'] {
  return round % 2 === 1 ? ['grpc', 'sdk'] : ['sdk', 'grpc'];
}

/** A policy's summary from its pairs, one per round. */
export function summarizePolicy(policy: SdkPolicy, pairs: readonly SdkPair[]): SdkPolicySummary {
  const grpc = pairs.map((p) => p.grpc);
  const sdk = pairs.map((p) => p.sdk);
  const ratios = pairs.map((p) => ratio(p.sdk.requestsPerSecond, p.grpc.requestsPerSecond));
  return {
    policy,
    grpcRequestsPerSecond: median(grpc.map((r) => r.requestsPerSecond)),
    sdkRequestsPerSecond: median(sdk.map((r) => r.requestsPerSecond)),
    ratio: median(ratios),
    ratios,
    grpcCpuPerCallUs: median(grpc.map((r) => r.cpuPerCallUs)),
    sdkCpuPerCallUs: median(sdk.map((r) => r.cpuPerCallUs)),
    cpuRatio: median(pairs.map((p) => ratio(p.sdk.cpuPerCallUs, p.grpc.cpuPerCallUs))),
    grpcErrors: errorCount(grpc),
    sdkErrors: errorCount(sdk),
  };
}

/** Summaries of every policy measured, in the order of `sdkPolicies`. */
export function summarizeSdk(pairs: SdkResult['pairs']): SdkPolicySummary[] {
  return sdkPolicies.filter((p) => pairs[p] !== undefined).map((p) => summarizePolicy(p, pairs[p]!));
}

/** A ratio with 3 decimals, e.g. "0.968×" (the threshold is 0.95, so 2 would round across it). */
export function formatSdkRatio(value: number | undefined): string {
  return value === undefined || !Number.isFinite(value) ? 'n/a' : `${value.toFixed(3)}×`;
}

/** PASS when the median ratio is ≥ 0.95 and the SDK had no errors; NOT MEASURED without a ratio. */
export function sdkTargets(result: SdkResult): TargetResult[] {
  return result.summary.map((s) => {
    const target = `SDK ${s.policy}: balancing costs under 5% of throughput (SDK/grpc-js ≥ ${SDK_MIN_RATIO})`;
    if (s.ratio === undefined) return { target, verdict: 'NOT MEASURED', measured: 'no grpc-js or SDK throughput' };
    const errors = s.sdkErrors > 0 ? `, ${s.sdkErrors} SDK errors` : '';
    return {
      target,
      verdict: s.ratio >= SDK_MIN_RATIO && s.sdkErrors === 0 ? 'PASS' : 'FAIL',
      measured: `${formatSdkRatio(s.ratio)} (median of ${s.ratios.length} round${s.ratios.length === 1 ? '' : 's'})${errors}`,
    };
  });
}

const micros = (us: number | undefined): string => (us === undefined || !Number.isFinite(us) ? 'n/a' : `${us.toFixed(0)} µs`);

/** Table rows: policy, medians of grpc-js and SDK req/s, median ratio, each round's ratio, CPU per call, errors. */
export function sdkRows(summary: readonly SdkPolicySummary[]): string[][] {
  return summary.map((s) => [
    s.policy,
    formatRate(s.grpcRequestsPerSecond),
    formatRate(s.sdkRequestsPerSecond),
    formatSdkRatio(s.ratio),
    s.ratios.map((r) => (r === undefined ? 'n/a' : r.toFixed(3))).join(' '),
    `${micros(s.grpcCpuPerCallUs)} / ${micros(s.sdkCpuPerCallUs)}`,
    formatSdkRatio(s.cpuRatio),
    `${s.grpcErrors}/${s.sdkErrors}`,
  ]);
}

/** The `--sdk` table as text lines. */
export function sdkTable(result: SdkResult, cores = availableParallelism()): string[] {
  const window = `${result.rounds} round${result.rounds === 1 ? '' : 's'} of ${result.durationMs / 1000} s windows after ${result.warmupMs / 1000} s warm-up`;
  return [
    `SDK balancing cost: @modelserve/client vs a bare grpc-js client (its round_robin over the same ${result.servers} echo servers),`,
    `MLP unary (784 FP32 raw), ${result.concurrency} in flight, one client process; ${window}; medians over rounds.`,
    `Machine load (1-minute average, ${cores} cores): ${result.loadAverage[0].toFixed(2)} before the run, ${result.loadAverage[1].toFixed(2)} after it (counting the run's own 4 busy processes).`,
    ...alignColumns([['policy', 'grpc-js req/s', 'SDK req/s', 'SDK/grpc-js', 'per round', 'client CPU/call grpc-js / SDK', 'CPU SDK/grpc-js', 'errors grpc-js/SDK'], ...sdkRows(result.summary)]),
    'SDK/grpc-js = median over rounds of SDK req/s ÷ req/s of the grpc-js run paired with it (back to back, order alternating by round);',
    'client CPU/call = CPU time of the client process per answered call (median), less sensitive than req/s to other load on the machine.',
  ];
}
