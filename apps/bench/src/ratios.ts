/** Ratios between configurations measured in the same run, at the same load and on the same payloads. */
import { alignColumns, formatRatio } from './format.js';
import { loadLabel } from './plan.js';
import type { ComputeResult, ConfigKey, Method, ModelKey, PointResult } from './types.js';

/** What identifies a point across configurations. */
export interface PointKey {
  config: ConfigKey;
  model: ModelKey;
  method: Method;
  /** Requests in flight (closed loop). */
  concurrency?: number;
  /** Requests per second (open loop). */
  rate?: number;
}

/** The measured point matching `key`; the echo server's points match any model (same payload size). */
export function findPoint(points: readonly PointResult[], key: PointKey): PointResult | undefined {
  return points.find(
    (p) =>
      p.config === key.config &&
      (p.model === key.model || p.config === 'echo') &&
      p.method === key.method &&
      (key.concurrency === undefined || p.concurrency === key.concurrency) &&
      (key.rate === undefined || p.rate === key.rate),
  );
}

/** a / b, or undefined when either is missing or b is 0. */
export function ratio(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined || b === undefined || b === 0 ? undefined : a / b;
}

/** The compute limit's best samples/s for `model` at batch 1 and at its largest batch. */
export function computeLimits(compute: readonly ComputeResult[], model: ModelKey): { batch1?: ComputeResult; largest?: ComputeResult } {
  const mine = compute.filter((c) => c.model === model).sort((a, b) => a.batchSize - b.batchSize);
  return { batch1: mine.find((c) => c.batchSize === 1), largest: mine.at(-1) };
}

const RATIO_HEADER = ['model', 'unary load', 'on/naive', 'on/echo', 'on/off', 'off/naive', 'stream/unary (on)', 'on/compute b1', 'on/compute max'];

/** One row per model and unary load: the ratios of req/s (samples/s against the compute limit). */
export function ratioRows(points: readonly PointResult[], compute: readonly ComputeResult[]): string[][] {
  const rows: string[][] = [];
  const unary = points.filter((p) => p.method === 'unary' && (p.config === 'on' || p.config === 'off'));
  const seen = new Set<string>();
  for (const p of unary) {
    const key = `${p.model}/${p.concurrency}/${p.rate}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const at = { model: p.model, concurrency: p.concurrency, rate: p.rate };
    const rps = (config: ConfigKey, method: Method = 'unary'): number | undefined => findPoint(points, { ...at, config, method })?.requestsPerSecond;
    const limits = computeLimits(compute, p.model);
    rows.push([
      p.model,
      loadLabel(p),
      formatRatio(ratio(rps('on'), rps('naive'))),
      formatRatio(ratio(rps('on'), rps('echo'))),
      formatRatio(ratio(rps('on'), rps('off'))),
      formatRatio(ratio(rps('off'), rps('naive'))),
      formatRatio(ratio(rps('on', 'stream'), rps('on'))),
      formatRatio(ratio(rps('on'), limits.batch1?.samplesPerSecond)),
      formatRatio(ratio(rps('on'), limits.largest?.samplesPerSecond)),
    ]);
  }
  return rows;
}

/** The ratio table as text lines (empty when no modelserve point was measured). */
export function ratioTable(points: readonly PointResult[], compute: readonly ComputeResult[]): string[] {
  const rows = ratioRows(points, compute);
  if (rows.length === 0) return [];
  return ['Ratios (throughput, same run, same load; "on" = modelserve with batching, "off" = without)', ...alignColumns([RATIO_HEADER, ...rows])];
}
