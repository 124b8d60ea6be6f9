/**
 * The chart: throughput (x, req/s) against p99 latency (y, log scale) with one line per
 * configuration and method across the load sweep, one panel per model. Hand-written SVG.
 */
import { benchModels } from './payloads.js';
import { configShort } from './plan.js';
import { computeLimits } from './ratios.js';
import type { BenchResults, ConfigKey, Method, ModelKey, PointResult } from './types.js';

const PANEL_W = 560;
const PANEL_H = 400;
const MARGIN = { left: 64, right: 20, top: 44, bottom: 48 };
const LEGEND_H = 44;

/** One color per configuration. */
export const configColors: Readonly<Record<ConfigKey, string>> = {
  compute: '#7f7f7f',
  echo: '#1f77b4',
  naive: '#d62728',
  off: '#ff7f0e',
  on: '#2ca02c',
};

/** Escapes text for SVG. */
export function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);
}

/** Powers of ten around `values` (positive), for a log axis. */
export function logRange(values: readonly number[]): [number, number] {
  const min = 10 ** Math.floor(Math.log10(Math.min(...values)));
  const max = 10 ** Math.ceil(Math.log10(Math.max(...values) * 1.01));
  return [min, max > min ? max : min * 10];
}

/** 1-2-5 ticks covering [min, max] on a log scale. */
export function logTicks(min: number, max: number): number[] {
  const ticks: number[] = [];
  for (let e = Math.floor(Math.log10(min)); e <= Math.ceil(Math.log10(max)); e++) {
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** e;
      if (v >= min * 0.999 && v <= max * 1.001) ticks.push(Number(v.toPrecision(6)));
    }
  }
  return ticks;
}

/** The points of one line: same model, configuration and method, in load order. */
export function seriesOf(points: readonly PointResult[], model: ModelKey): Array<{ config: ConfigKey; method: Method; points: PointResult[] }> {
  const series = new Map<string, { config: ConfigKey; method: Method; points: PointResult[] }>();
  for (const p of points) {
    if ((p.model !== model && p.config !== 'echo') || !Number.isFinite(p.latency.p99)) continue;
    const key = `${p.config}/${p.method}`;
    let s = series.get(key);
    if (s === undefined) series.set(key, (s = { config: p.config, method: p.method, points: [] }));
    s.points.push(p);
  }
  for (const s of series.values()) s.points.sort((a, b) => a.concurrency + a.rate - (b.concurrency + b.rate));
  return [...series.values()];
}

function panel(results: BenchResults, model: ModelKey, offsetX: number): string {
  const series = seriesOf(results.points, model);
  const all = series.flatMap((s) => s.points);
  const out: string[] = [`<g transform="translate(${offsetX},0)">`];
  out.push(`<text x="${PANEL_W / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${escapeXml(benchModels[model].label)}: throughput vs p99</text>`);
  if (all.length === 0) {
    out.push(`<text x="${PANEL_W / 2}" y="${PANEL_H / 2}" text-anchor="middle">no points</text></g>`);
    return out.join('\n');
  }
  const limit = computeLimits(results.compute, model).batch1?.samplesPerSecond;
  const rates = all.map((p) => Math.max(1, p.requestsPerSecond));
  const [xMin, xMax] = logRange(limit === undefined ? rates : [...rates, limit]);
  const [yMin, yMax] = logRange(all.map((p) => p.latency.p99));
  const plotW = PANEL_W - MARGIN.left - MARGIN.right;
  const plotH = PANEL_H - MARGIN.top - MARGIN.bottom;
  const scale = (v: number, min: number, max: number): number => (Math.log10(v) - Math.log10(min)) / (Math.log10(max) - Math.log10(min));
  const x = (v: number): number => MARGIN.left + scale(Math.max(1, v), xMin, xMax) * plotW;
  const y = (v: number): number => MARGIN.top + plotH - scale(v, yMin, yMax) * plotH;
  const f = (v: number): string => v.toFixed(1);

  out.push(`<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#888"/>`);
  for (const t of logTicks(xMin, xMax)) {
    out.push(`<line x1="${f(x(t))}" y1="${MARGIN.top}" x2="${f(x(t))}" y2="${MARGIN.top + plotH}" stroke="#eee"/>`);
    out.push(`<text x="${f(x(t))}" y="${MARGIN.top + plotH + 16}" text-anchor="middle" font-size="11">${t >= 1000 ? `${t / 1000}k` : t}</text>`);
  }
  for (const t of logTicks(yMin, yMax)) {
    out.push(`<line x1="${MARGIN.left}" y1="${f(y(t))}" x2="${MARGIN.left + plotW}" y2="${f(y(t))}" stroke="#eee"/>`);
    out.push(`<text x="${MARGIN.left - 6}" y="${f(y(t) + 4)}" text-anchor="end" font-size="11">${t}</text>`);
  }
  out.push(`<text x="${MARGIN.left + plotW / 2}" y="${PANEL_H - 10}" text-anchor="middle" font-size="12">throughput (requests/s = samples/s, log)</text>`);
  out.push(`<text transform="translate(16,${MARGIN.top + plotH / 2}) rotate(-90)" text-anchor="middle" font-size="12">p99 latency (ms, log)</text>`);
  if (limit !== undefined) {
    out.push(`<line x1="${f(x(limit))}" y1="${MARGIN.top}" x2="${f(x(limit))}" y2="${MARGIN.top + plotH}" stroke="${configColors.compute}" stroke-dasharray="2 3"/>`);
    out.push(`<text x="${f(x(limit) - 4)}" y="${MARGIN.top + 12}" text-anchor="end" font-size="10" fill="${configColors.compute}">compute limit, batch 1</text>`);
  }
  for (const s of series) {
    const color = configColors[s.config];
    const dash = s.method === 'stream' ? ' stroke-dasharray="6 4"' : '';
    const coords = s.points.map((p) => `${f(x(p.requestsPerSecond))},${f(y(p.latency.p99))}`).join(' ');
    out.push(`<polyline points="${coords}" fill="none" stroke="${color}" stroke-width="2"${dash}/>`);
    for (const p of s.points) {
      const label = p.rate > 0 ? `${p.rate}/s` : String(p.concurrency);
      out.push(`<circle cx="${f(x(p.requestsPerSecond))}" cy="${f(y(p.latency.p99))}" r="3.5" fill="${color}"><title>${escapeXml(`${configShort[p.config]} ${p.method} ${label}: ${Math.round(p.requestsPerSecond)} req/s, p99 ${p.latency.p99.toFixed(3)} ms`)}</title></circle>`);
      out.push(`<text x="${f(x(p.requestsPerSecond) + 5)}" y="${f(y(p.latency.p99) - 5)}" font-size="9" fill="${color}">${escapeXml(label)}</text>`);
    }
  }
  out.push('</g>');
  return out.join('\n');
}

function legend(results: BenchResults, width: number, top: number): string {
  const keys = [...new Set(results.points.map((p) => `${p.config}/${p.method}`))];
  const items = keys.map((key, i) => {
    const [config, method] = key.split('/') as [ConfigKey, Method];
    const lx = 20 + i * 140;
    const dash = method === 'stream' ? ' stroke-dasharray="6 4"' : '';
    return `<line x1="${lx}" y1="${top + 10}" x2="${lx + 24}" y2="${top + 10}" stroke="${configColors[config]}" stroke-width="2"${dash}/><text x="${lx + 30}" y="${top + 14}" font-size="11">${escapeXml(`${configShort[config]} ${method}`)}</text>`;
  });
  return `<g>${items.join('')}<text x="20" y="${top + 34}" font-size="10" fill="#666">point labels: requests in flight (or per second); dashed: PredictStream; echo is measured once, both models send 784 FP32</text></g>`;
}

/** The chart of a run as an SVG document. */
export function renderSvg(results: BenchResults): string {
  const models = [...new Set(results.points.map((p) => p.model))].filter((m) => m !== undefined);
  const panels = models.length === 0 ? (['mlp'] as ModelKey[]) : models;
  const width = PANEL_W * panels.length;
  const height = PANEL_H + LEGEND_H + 10;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    ...panels.map((model, i) => panel(results, model, i * PANEL_W)),
    legend(results, width, PANEL_H),
    '</svg>',
    '',
  ].join('\n');
}
