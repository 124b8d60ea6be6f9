/** The pure parts of `--cache` (cache.ts): the Zipf sampler, the windows and checks it records, the verdicts and the report. */
import type { Random } from '@modelserve/model-zoo';
import { median } from './sdk-compare.js';

/** The Zipf exponent of the issue's workload. */
export const ZIPF_EXPONENT = 1.1;
/** Targets: Zipf throughput on/off, all-distinct on/off, runs for 64 identical requests, shared hit ratio over a single replica's. */
export const cacheTargets = { zipf: 5, distinct: 0.97, coalescedRuns: 1, shared: 0.95 } as const;


/** Draws ranks 0..n-1 with P(k) ∝ 1/(k+1)^s, by binary search over the cumulative weights. */
export function zipfSampler(n: number, s: number, random: Random): () => number {
  const cumulative = new Float64Array(n);
  let total = 0;
  for (let k = 0; k < n; k++) cumulative[k] = total += 1 / Math.pow(k + 1, s);
  return () => {
    const u = random() * total;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cumulative[mid]! > u) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  };
}

/** One throughput window. */
export interface CacheWindow {
  round: number;
  workload: 'zipf' | 'distinct';
  cache: 'on' | 'off';
  requestsPerSecond: number;
  p99Ms: number;
  errors: number;
  /** Cache-on windows: the share of requests answered without a run of their own (cache hits and coalesced requests) over the window and its warm-up; undefined when the server does not count them. */
  hitRatio: number | undefined;
}

/** 64 identical requests at once on a new input. */
export interface CoalesceCheck {
  round: number;
  /** The change of the run count (execution_count, else batch_count). */
  runs: number | undefined;
  answers: number;
  /** Answers equal (within 1e-4) to slowMlp's reference `forward`. */
  correct: number;
}

/** The shared tier against one replica on the same workload. */
export interface SharedCheck {
  round: number;
  requests: number;
  singleHitRatio: number | undefined;
  pairHitRatio: number | undefined;
}

/** One line of the report: a measure's per-round values, their median and range, and its verdict. */
export interface CacheVerdict {
  key: 'zipf' | 'distinct' | 'coalesce' | 'shared';
  label: string;
  values: number[];
  median: number | undefined;
  min: number | undefined;
  max: number | undefined;
  target: string;
  /** undefined: not measured (the reason is in `note`). */
  pass: boolean | undefined;
  note: string;
}

/** Everything one `--cache` run measured. */
export interface CacheRun {
  windows: CacheWindow[];
  coalesce: CoalesceCheck[];
  shared: SharedCheck[];
  /** Why the shared tier was not measured, when it was not. */
  sharedSkipped: string | undefined;
}

function verdict(key: CacheVerdict['key'], label: string, values: number[], target: string, pass: (median: number) => boolean, note = ''): CacheVerdict {
  const mid = median(values);
  return { key, label, values, median: mid, min: values.length === 0 ? undefined : Math.min(...values), max: values.length === 0 ? undefined : Math.max(...values), target, pass: mid === undefined ? undefined : pass(mid), note };
}

/** The ratio of cache on to cache off for `workload` in each round (same round, so the same machine). */
export function pairedRatios(windows: readonly CacheWindow[], workload: CacheWindow['workload']): number[] {
  const rounds = [...new Set(windows.map((w) => w.round))];
  const rps = (round: number, cache: CacheWindow['cache']): number | undefined => windows.find((w) => w.round === round && w.workload === workload && w.cache === cache)?.requestsPerSecond;
  return rounds.flatMap((r) => {
    const on = rps(r, 'on');
    const off = rps(r, 'off');
    return on === undefined || off === undefined || off === 0 ? [] : [on / off];
  });
}

/** The verdict of each target. Coalescing passes only when every round ran once and answered all 64 correctly. */
export function summarizeCache(run: CacheRun): CacheVerdict[] {
  const coalesceRuns = run.coalesce.flatMap((c) => (c.runs === undefined ? [] : [c.runs]));
  const allCorrect = run.coalesce.every((c) => c.correct === c.answers && c.answers === 64);
  const sharedRatios = run.shared.flatMap((s) => (s.pairHitRatio === undefined || s.singleHitRatio === undefined || s.singleHitRatio === 0 ? [] : [s.pairHitRatio / s.singleHitRatio]));
  const wrong = run.coalesce.filter((c) => c.correct !== c.answers).length;
  return [
    verdict('zipf', `Zipf(${ZIPF_EXPONENT}) throughput, cache on / off`, pairedRatios(run.windows, 'zipf'), `≥ ${cacheTargets.zipf}×`, (m) => m >= cacheTargets.zipf),
    verdict('distinct', 'all inputs distinct, cache on / off', pairedRatios(run.windows, 'distinct'), `≥ ${cacheTargets.distinct}×`, (m) => m >= cacheTargets.distinct),
    {
      ...verdict('coalesce', '64 identical at once: runs', coalesceRuns, `${cacheTargets.coalescedRuns} run, 64 correct`, () => coalesceRuns.length === run.coalesce.length && coalesceRuns.every((r) => r === cacheTargets.coalescedRuns) && allCorrect),
      note: run.coalesce.length === 0 ? '' : `${run.coalesce.map((c) => c.correct).join('/')} of 64 correct per round${wrong > 0 ? ` (${wrong} rounds wrong)` : ''}`,
    },
    run.sharedSkipped !== undefined
      ? { key: 'shared', label: 'shared tier, 2 replicas: hit ratio / 1 replica', values: [], median: undefined, min: undefined, max: undefined, target: `≥ ${cacheTargets.shared}×`, pass: undefined, note: `not measured: ${run.sharedSkipped}` }
      : verdict('shared', 'shared tier, 2 replicas: hit ratio / 1 replica', sharedRatios, `≥ ${cacheTargets.shared}×`, (m) => m >= cacheTargets.shared, sharedRatios.length === 0 ? 'no cache_hits/cache_misses in GetModelStatistics' : ''),
  ];
}

export const fixed = (v: number | undefined, digits: number): string => (v === undefined ? 'n/a' : v.toFixed(digits));

/** The report's lines: the windows' medians, then a table with a verdict per target. */
export function cacheLines(run: CacheRun, verdicts: readonly CacheVerdict[], inFlight: number, rounds: number, inputs: number): string[] {
  const rps = (workload: CacheWindow['workload'], cache: CacheWindow['cache']): string => Math.round(median(run.windows.filter((w) => w.workload === workload && w.cache === cache).map((w) => w.requestsPerSecond)) ?? 0).toLocaleString('en-US');
  const hits = median(run.windows.filter((w) => w.workload === 'zipf' && w.cache === 'on').map((w) => w.hitRatio));
  const rows = [['measure', 'median', 'range', 'target', 'verdict', '']];
  for (const v of verdicts) {
    const digits = v.key === 'coalesce' ? 0 : 3;
    const unit = v.key === 'coalesce' ? '' : '×';
    rows.push([v.label, v.median === undefined ? 'n/a' : `${fixed(v.median, digits)}${unit}`, v.min === undefined ? '' : `${fixed(v.min, digits)}–${fixed(v.max, digits)}${unit}`, v.target, v.pass === undefined ? 'n/a' : v.pass ? 'PASS' : 'FAIL', v.note]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const shared = run.shared.map((s) => `${fixed(s.pairHitRatio, 3)} vs ${fixed(s.singleHitRatio, 3)}`).join(', ');
  return [
    `Response cache: slowMlp (64→512×150→10), batching off, ${inFlight} in flight, ${rounds} rounds (each: Zipf and distinct windows on and off, order rotating; 64 identical at once; shared tier vs 1 replica); ratios within a round`,
    `  Zipf(${ZIPF_EXPONENT}) over ${inputs.toLocaleString('en-US')} inputs: ${rps('zipf', 'on')} req/s on (hit ratio ${fixed(hits, 3)}), ${rps('zipf', 'off')} off; all distinct: ${rps('distinct', 'on')} on, ${rps('distinct', 'off')} off (medians)`,
    ...(run.shared.length > 0 ? [`  shared tier hit ratios, 2 replicas vs 1, per round: ${shared}`] : []),
    ...rows.map((row) => row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd()),
  ];
}
