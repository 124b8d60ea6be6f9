/** The terminal report: the compute limit, one table per model, the ratios and what could not run. */
import { alignColumns, formatBytes, formatLatency, formatRate } from './format.js';
import { benchModels } from './payloads.js';
import { driverLine } from './driver.js';
import { configLabel, configShort, loadLabel } from './plan.js';
import { ratioTable } from './ratios.js';
import { sdkTable } from './sdk-compare.js';
import type { BenchResults, ComputeResult, ConfigKey, ModelKey, PointResult } from './types.js';

function computeTable(compute: readonly ComputeResult[]): string[] {
  if (compute.length === 0) return [];
  const threads = compute[0]!.threads;
  const rows = compute.map((c) => [
    c.model,
    String(c.batchSize),
    formatRate(c.samplesPerSecond),
    formatRate(c.runsPerSecond),
    formatLatency(c.latency.p50),
    formatLatency(c.latency.p99),
  ]);
  return [
    `Compute limit: onnxruntime in-process, ${threads} worker thread${threads === 1 ? '' : 's'} × 1 session, intraOpNumThreads 1, no gRPC`,
    ...alignColumns([['model', 'batch', 'samples/s', 'runs/s', 'run p50', 'run p99'], ...rows]),
  ];
}

function errorText(point: PointResult): string {
  const entries = Object.entries(point.errors);
  const text = entries.map(([name, count]) => `${count} ${name}`).join(', ');
  const dropped = point.dropped > 0 ? `${point.dropped} dropped` : '';
  return [text, dropped].filter((s) => s !== '').join(', ') || '0';
}

function serverCell(point: PointResult, pick: (p: PointResult) => string | undefined): string {
  // Baselines report their event loop (and RSS) too, but have no statistics or health service.
  const value = pick(point);
  if (point.config !== 'on' && point.config !== 'off') return value ?? '';
  return value ?? 'n/a';
}

/** Rows of one model's table. */
export function pointRows(points: readonly PointResult[]): string[][] {
  return points.map((p) => [
    configShort[p.config],
    p.method,
    loadLabel(p),
    formatRate(p.requestsPerSecond),
    formatLatency(p.latency.p50),
    formatLatency(p.latency.p90),
    formatLatency(p.latency.p99),
    formatLatency(p.latency.p999),
    errorText(p),
    serverCell(p, (q) => q.meanBatchSize?.toFixed(2)),
    serverCell(p, (q) => (q.server?.eventLoopDelayP99Ms === undefined ? undefined : formatLatency(q.server.eventLoopDelayP99Ms))),
    serverCell(p, (q) => (q.server?.healthCheckMs === undefined ? undefined : Number.isFinite(q.server.healthCheckMs) ? formatLatency(q.server.healthCheckMs) : (q.server.healthStatus ?? 'failed'))),
    serverCell(p, (q) => (q.server?.rssBytes === undefined ? undefined : formatBytes(q.server.rssBytes))),
  ]);
}

const HEADER = ['config', 'method', 'in flight', 'req/s', 'p50', 'p90', 'p99', 'p99.9', 'errors', 'batch', 'loop p99', 'health', 'rss'];

function modelTable(model: ModelKey, points: readonly PointResult[]): string[] {
  const mine = points.filter((p) => p.model === model || p.config === 'echo');
  if (mine.length === 0) return [];
  const streamCalls = mine.filter((p) => p.perStream !== undefined).map((p) => `${configShort[p.config]} ${loadLabel(p)}: ${p.messagesPerStream} message${p.messagesPerStream === 1 ? '' : 's'} per call, call p50 ${formatLatency(p.perStream!.p50)}, p99 ${formatLatency(p.perStream!.p99)}`);
  return [
    `${benchModels[model].label} (${benchModels[model].name}), batch 1 per request: req/s = samples/s`,
    ...alignColumns([HEADER, ...pointRows(mine)]),
    ...(streamCalls.length === 0 ? [] : [`PredictStream calls timed by h2load (message latency n/a): ${streamCalls.join('; ')}`]),
  ];
}

/** Legend lines about the driver. */
function driverLegend(results: BenchResults): string[] {
  if (results.driver?.name !== 'h2load') return [];
  return [
    'h2load: HTTP 200 counts as answered even when the grpc-status trailer is an error; for modelserve the errors column adds the',
    'failures GetModelStatistics counted in the window (and JSON serverRequests cross-checks the count); for echo and naive only one',
    'decoded call per model is verified before measuring, gRPC-level errors during the load are not counted.',
    `stream rows (h2load): each PredictStream call carries ${results.options['streamMessages'] ? `${String(results.options['streamMessages'])}` : 'K/S'} messages sent at once, S calls at a time; message p50…p99.9 are n/a (h2load times whole calls).`,
  ];
}

/** The whole report as lines. */
export function reportLines(results: BenchResults): string[] {
  const sections: string[][] = [results.driver === undefined ? [] : [driverLine(results.driver)], computeTable(results.compute)];
  const models = [...new Set([...results.points.map((p) => p.model)])];
  for (const model of models) sections.push(modelTable(model, results.points));
  sections.push(ratioTable(results.points, results.compute));
  if (results.points.length > 0) sections.push([
    'Legend: ' + Object.entries(configShort).map(([key, short]) => `${short} = ${configLabel(key as ConfigKey, results)}`).join('; ') + '.',
    'batch = mean samples per model run during the point (GetModelStatistics); loop p99 = the server\'s event-loop delay p99 in the window (every server, baselines too);',
    'health = time of a grpc.health.v1 Check mid-window; rss = server RSS at the end of the window (GetServerStats). n/a: not served.',
    'echo is measured once and shown with each model: both models take 784 FP32 and answer 10 FP32.',
    ...driverLegend(results),
  ]);
  if (results.rss !== undefined) {
    const rows = results.rss.checkpoints.map((c) => [c.requests.toLocaleString('en-US'), formatBytes(c.rssBytes)]);
    sections.push(['Server RSS (modelserve, MLP unary, GetServerStats)', ...alignColumns([['requests', 'rss'], ...rows])]);
  }
  if (results.sdk !== undefined) sections.push(sdkTable(results.sdk));
  if (results.problems.length > 0) {
    sections.push(['Problems during the run:', ...results.problems.map((p) => `  ${configLabel(p.config, results)}${p.model === undefined ? '' : ` (${p.model})`}: ${p.message}`)]);
  }
  return sections.filter((s) => s.length > 0).flatMap((s) => [...s, '']);
}
