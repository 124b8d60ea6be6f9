/**
 * The simulation as a chart: three panels over the curve's time (load, replicas, p99 latency),
 * windows where the policy panicked shaded. Hand-written SVG, no dependency.
 */
import { absorbedText, overSloText } from './report.js';
import type { SimulationResult, WindowPoint } from './simulate.js';

const WIDTH = 960;
const PANEL_H = 190;
const GAP = 34;
const MARGIN = { left: 72, right: 24, top: 90, bottom: 46 };
const COLORS = { curve: '#7f7f7f', offered: '#1f77b4', capacity: '#2ca02c', ready: '#1f77b4', replicas: '#ff7f0e', p99: '#9467bd', slo: '#d62728', panic: '#d62728' };

/** Escapes text for SVG. */
export function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);
}

/** 1-2-5 steps covering [0, max], about `count` of them. */
export function linearTicks(max: number, count = 5): number[] {
  if (!(max > 0)) return [0];
  const raw = max / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw)!;
  const ticks: number[] = [];
  for (let v = 0; v <= max * 1.0001; v += step) ticks.push(Number(v.toPrecision(6)));
  return ticks;
}

/** 1-2-5 ticks covering [min, max] on a log scale. */
function logTicks(min: number, max: number): number[] {
  const ticks: number[] = [];
  for (let e = Math.floor(Math.log10(min)); e <= Math.ceil(Math.log10(max)); e++) {
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** e;
      if (v >= min * 0.999 && v <= max * 1.001) ticks.push(Number(v.toPrecision(6)));
    }
  }
  return ticks;
}

const f = (v: number): string => v.toFixed(1);
const label = (v: number): string => (v >= 10_000 ? `${Number((v / 1000).toPrecision(3))}k` : String(Number(v.toPrecision(4))));

export function simulationSvg(result: SimulationResult): string {
  const series = result.series;
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const height = MARGIN.top + 3 * PANEL_H + 2 * GAP + MARGIN.bottom;
  const endMs = Math.max(1, result.curve.durationMs);
  const minutes = endMs / 60_000;
  const x = (ms: number): number => MARGIN.left + (ms / endMs) * plotW;
  const top = (panel: number): number => MARGIN.top + panel * (PANEL_H + GAP);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif">`,
    `<rect width="${WIDTH}" height="${height}" fill="#fff"/>`,
    `<text x="${WIDTH / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${escapeXml(`autoscale simulate: ${result.curve.name}`)}</text>`,
    `<text x="${WIDTH / 2}" y="40" text-anchor="middle" font-size="11">${escapeXml(
      `${result.requests.toLocaleString('en-US')} requests, ${result.overSlo.toLocaleString('en-US')} over the ${result.sloMs} ms SLO (${(result.overSloShare * 100).toFixed(3)}%), ${result.replicaMinutes.toFixed(1)} replica-minutes, ${result.scalingEvents.length} scaling events`,
    )}</text>`,
    `<text x="${WIDTH / 2}" y="55" text-anchor="middle" font-size="11">${escapeXml(result.surge === null ? overSloText(result) : `surge: ${absorbedText(result)}`)}</text>`,
  ];

  /** A panel's legend, after its title: [text, color, dash]; a dash of 'area' is a shaded box. */
  const legend = (panel: number, from: number, items: Array<[string, string, string]>): void => {
    let lx = from;
    const y = top(panel) - 10;
    for (const [text, color, dash] of items) {
      if (dash === 'area') out.push(`<rect x="${lx}" y="${y - 5}" width="22" height="10" fill="${color}" fill-opacity="0.12"/>`);
      else out.push(`<line x1="${lx}" y1="${y}" x2="${lx + 22}" y2="${y}" stroke="${color}" stroke-width="2"${dash === '' ? '' : ` stroke-dasharray="${dash}"`}/>`);
      out.push(`<text x="${lx + 26}" y="${y + 4}" font-size="10">${escapeXml(text)}</text>`);
      lx += 40 + text.length * 5.2;
    }
  };

  const items: Array<Array<[string, string, string]>> = [
    [
      ['curve req/s', COLORS.curve, '5 3'],
      ['offered req/s', COLORS.offered, ''],
      ['capacity of the READY replicas', COLORS.capacity, '2 3'],
      ['policy in panic', COLORS.panic, 'area'],
    ],
    [
      ['READY replicas', COLORS.ready, ''],
      ['all replicas (starting, READY, draining)', COLORS.replicas, '6 3'],
    ],
    [
      ['p99', COLORS.p99, ''],
      ['SLO', COLORS.slo, '4 4'],
    ],
  ];
  const frame = (panel: number, title: string, yLabel: string): void => {
    const y0 = top(panel);
    for (const w of series) if (w.panic) out.push(`<rect x="${f(x(w.startMs))}" y="${y0}" width="${f(Math.max(0.5, x(w.endMs) - x(w.startMs)))}" height="${PANEL_H}" fill="${COLORS.panic}" fill-opacity="0.12"/>`);
    out.push(`<rect x="${MARGIN.left}" y="${y0}" width="${plotW}" height="${PANEL_H}" fill="none" stroke="#888"/>`);
    out.push(`<text x="${MARGIN.left}" y="${y0 - 6}" font-size="12" font-weight="bold">${escapeXml(title)}</text>`);
    legend(panel, MARGIN.left + 24 + title.length * 7, items[panel]!);
    out.push(`<text transform="translate(16,${y0 + PANEL_H / 2}) rotate(-90)" text-anchor="middle" font-size="11">${escapeXml(yLabel)}</text>`);
    for (const t of linearTicks(minutes, 10)) {
      out.push(`<line x1="${f(x(t * 60_000))}" y1="${y0}" x2="${f(x(t * 60_000))}" y2="${y0 + PANEL_H}" stroke="#eee"/>`);
      out.push(`<text x="${f(x(t * 60_000))}" y="${y0 + PANEL_H + 14}" text-anchor="middle" font-size="10">${label(t)}</text>`);
    }
  };
  const linear = (panel: number, max: number): ((v: number) => number) => {
    const y0 = top(panel);
    const scale = (v: number): number => y0 + PANEL_H - (v / max) * PANEL_H;
    for (const t of linearTicks(max)) {
      out.push(`<line x1="${MARGIN.left}" y1="${f(scale(t))}" x2="${MARGIN.left + plotW}" y2="${f(scale(t))}" stroke="#eee"/>`);
      out.push(`<text x="${MARGIN.left - 6}" y="${f(scale(t) + 4)}" text-anchor="end" font-size="10">${label(t)}</text>`);
    }
    return scale;
  };
  /** A line through the windows' middles; null values break it. */
  const line = (value: (w: WindowPoint) => number | null, y: (v: number) => number, color: string, dash = '', step = false): void => {
    let points: string[] = [];
    const flush = (): void => {
      if (points.length > 0) out.push(`<polyline points="${points.join(' ')}" fill="none" stroke="${color}" stroke-width="1.6"${dash === '' ? '' : ` stroke-dasharray="${dash}"`}/>`);
      points = [];
    };
    for (const w of series) {
      const v = value(w);
      if (v === null) {
        flush();
        continue;
      }
      if (step) points.push(`${f(x(w.startMs))},${f(y(v))}`, `${f(x(w.endMs))},${f(y(v))}`);
      else points.push(`${f(x((w.startMs + w.endMs) / 2))},${f(y(v))}`);
    }
    flush();
  };

  // 1. Load.
  frame(0, 'Load', 'requests/s');
  const loadMax = Math.max(1, ...series.map((w) => Math.max(w.curveRps, w.offeredRps, w.ready * result.profile.capacity))) * 1.05;
  const yLoad = linear(0, loadMax);
  line((w) => w.ready * result.profile.capacity, yLoad, COLORS.capacity, '2 3', true);
  line((w) => w.curveRps, yLoad, COLORS.curve, '5 3');
  line((w) => w.offeredRps, yLoad, COLORS.offered);

  // 2. Replicas.
  frame(1, 'Replicas', 'replicas');
  const yReplicas = linear(1, Math.max(2, result.peakReplicas, result.policy.maxReplicas) * 1.1);
  line((w) => w.replicas, yReplicas, COLORS.replicas, '6 3', true);
  line((w) => w.ready, yReplicas, COLORS.ready, '', true);

  // 3. p99, log scale.
  frame(2, 'p99 latency of the requests answered in each window', 'ms (log)');
  const p99s = series.map((w) => w.p99Ms).filter((v): v is number => v !== null && v > 0);
  const lo = 10 ** Math.floor(Math.log10(Math.min(result.sloMs, ...p99s)));
  const hi = 10 ** Math.ceil(Math.log10(Math.max(result.sloMs, ...p99s) * 1.01));
  const y0 = top(2);
  const yP99 = (v: number): number => y0 + PANEL_H - ((Math.log10(Math.max(v, lo)) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * PANEL_H;
  for (const t of logTicks(lo, hi)) {
    out.push(`<line x1="${MARGIN.left}" y1="${f(yP99(t))}" x2="${MARGIN.left + plotW}" y2="${f(yP99(t))}" stroke="#eee"/>`);
    out.push(`<text x="${MARGIN.left - 6}" y="${f(yP99(t) + 4)}" text-anchor="end" font-size="10">${label(t)}</text>`);
  }
  out.push(`<line x1="${MARGIN.left}" y1="${f(yP99(result.sloMs))}" x2="${MARGIN.left + plotW}" y2="${f(yP99(result.sloMs))}" stroke="${COLORS.slo}" stroke-dasharray="4 4"/>`);
  out.push(`<text x="${MARGIN.left + plotW - 4}" y="${f(yP99(result.sloMs) - 4)}" text-anchor="end" font-size="10" fill="${COLORS.slo}">SLO ${result.sloMs} ms</text>`);
  line((w) => (w.p99Ms !== null && w.p99Ms > 0 ? w.p99Ms : null), yP99, COLORS.p99);

  out.push(`<text x="${MARGIN.left + plotW / 2}" y="${height - 10}" text-anchor="middle" font-size="11">time (minutes of virtual time)</text>`);
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
