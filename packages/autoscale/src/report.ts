/** The simulation's result as text: the figures, the scaling events and the series, for a terminal. */
import type { SimulationResult, WindowPoint } from './simulate.js';

const count = (n: number): string => Math.round(n).toLocaleString('en-US');
const oneDecimal = (n: number): string => n.toLocaleString('en-US', { minimumFractionDigits: 1, maximumFractionDigits: 1 });
/** Milliseconds for people: 0.84 ms, 12.3 ms, 1,250 ms. */
export function formatMs(ms: number | null): string {
  if (ms === null) return 'n/a';
  return ms < 10 ? `${ms.toFixed(2)} ms` : ms < 100 ? `${ms.toFixed(1)} ms` : `${count(ms)} ms`;
}
/** A time in the curve: m:ss, or h:mm:ss past an hour. */
export function clock(ms: number): string {
  const s = Math.round(ms / 1000);
  const [h, m, sec] = [Math.floor(s / 3600), Math.floor((s % 3600) / 60), s % 60];
  const two = (n: number): string => String(n).padStart(2, '0');
  return h > 0 ? `${h}:${two(m)}:${two(sec)}` : `${m}:${two(sec)}`;
}
const seconds = (ms: number): string => `${Number((ms / 1000).toFixed(1))} s`;

/** How long the surge took to absorb, as the summary says it. */
export function absorbedText(result: SimulationResult): string {
  const surge = result.surge;
  if (surge === null) return 'n/a (the curve names no surge)';
  if (surge.absorbedMs === null) return `not absorbed: p99 over the SLO from the surge at ${clock(surge.startMs)} to the end`;
  if (surge.absorbedMs === 0) return `p99 within the SLO throughout (surge ${clock(surge.startMs)}–${clock(surge.endMs)})`;
  return `${seconds(surge.absorbedMs)} after the surge started at ${clock(surge.startMs)} (first window with p99 within the SLO again)`;
}

/** The longest run of windows with p99 over the SLO, as the summary says it. */
export function overSloText(result: SimulationResult): string {
  const run = result.longestOverSlo;
  return run === null ? 'p99 within the SLO in every window' : `p99 over the SLO longest ${clock(run.startMs)}–${clock(run.endMs)} (${seconds(run.endMs - run.startMs)})`;
}

function table(rows: string[][], right: ReadonlySet<number>): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((row) => row.map((cell, i) => (right.has(i) ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join('  ').trimEnd());
}

/** Windows merged `per` at a time: mean load and replicas, worst p99. */
function merged(series: readonly WindowPoint[], per: number): Array<{ startMs: number; curveRps: number; offeredRps: number; ready: number; replicas: number; p99Ms: number | null; overSlo: number; panic: boolean }> {
  const rows = [];
  for (let i = 0; i < series.length; i += per) {
    const part = series.slice(i, i + per);
    const ms = part.reduce((sum, w) => sum + (w.endMs - w.startMs), 0);
    const mean = (f: (w: WindowPoint) => number): number => part.reduce((sum, w) => sum + f(w) * (w.endMs - w.startMs), 0) / ms;
    const p99s = part.map((w) => w.p99Ms).filter((p): p is number => p !== null);
    rows.push({
      startMs: part[0]!.startMs,
      curveRps: mean((w) => w.curveRps),
      offeredRps: mean((w) => w.offeredRps),
      ready: mean((w) => w.ready),
      replicas: mean((w) => w.replicas),
      p99Ms: p99s.length === 0 ? null : Math.max(...p99s),
      overSlo: part.reduce((sum, w) => sum + w.overSlo, 0),
      panic: part.some((w) => w.panic),
    });
  }
  return rows;
}

/** The report `modelserve autoscale simulate` prints; the series in at most `rows` rows. */
export function simulationLines(result: SimulationResult, rows = 40): string[] {
  const p = result.policy;
  const panics = result.scalingEvents.filter((e) => e.panic).length;
  const lines = [
    `Curve ${result.curve.name} (${clock(result.curve.durationMs)}): ${result.curve.description}`,
    `Replica: ${result.profile.slots} requests in service at once, ${count(result.profile.capacity)} req/s at capacity, ${count(result.profile.perReplicaAtTarget)} req/s at the target load; cold start ${seconds(result.profile.coldStartMs.median)} median (${seconds(result.profile.coldStartMs.min)}–${seconds(result.profile.coldStartMs.max)})`,
    `Policy: target ${p.targetPerReplica} per replica, stable window ${seconds(p.stableWindowMs)}, panic window ${seconds(p.panicWindowMs)} at ${p.panicThreshold}×, delays up ${seconds(p.scaleUpDelayMs)} down ${seconds(p.scaleDownDelayMs)}, steps +${p.maxStepUp}/${seconds(p.stepUpPeriodMs)} −${p.maxStepDown}/${seconds(p.stepDownPeriodMs)}, ${p.minReplicas}–${p.maxReplicas} replicas; tick ${seconds(result.tickMs)}, seed ${result.seed}, ${result.initialReplicas} READY at 0:00`,
    '',
    ...table(
      [
        ['requests', count(result.requests)],
        [`over the SLO (${formatMs(result.sloMs)})`, `${count(result.overSlo)} (${(result.overSloShare * 100).toFixed(3)}%)`],
        ['latency', `p50 ${formatMs(result.latencyMs.p50)}, p99 ${formatMs(result.latencyMs.p99)}, max ${formatMs(result.latencyMs.max)}`],
        ['replica-minutes', `${oneDecimal(result.replicaMinutes)} (peak ${result.peakReplicas} replicas)`],
        ['scaling events', `${result.scalingEvents.length} (${panics} in panic; panic for ${result.panicTicks} ticks)`],
        ['surge absorbed', absorbedText(result)],
        ['longest over the SLO', overSloText(result)],
      ],
      new Set(),
    ),
    '',
    'Scaling events',
  ];
  if (result.scalingEvents.length === 0) lines.push('  none');
  else {
    const eventRows = [['time', 'from', 'to', 'ready', 'panic', 'limited by']];
    for (const e of result.scalingEvents) eventRows.push([clock(e.atMs), String(e.from), String(e.to), String(e.ready), e.panic ? 'yes' : '', e.limitedBy ?? '']);
    lines.push(...table(eventRows, new Set([1, 2, 3])).map((l) => `  ${l}`));
  }
  // Rows of a round duration (5 s … 1 h) that holds whole windows, at most `rows` of them.
  const round = [5, 10, 15, 20, 30, 60, 120, 300, 600, 900, 1800, 3600].map((s) => s * 1000).filter((ms) => ms % result.windowMs === 0);
  const fewest = Math.ceil(result.series.length / rows);
  const per = Math.max(1, (round.find((ms) => ms / result.windowMs >= fewest) ?? fewest * result.windowMs) / result.windowMs);
  lines.push('', `Series (every ${seconds(per * result.windowMs)}; worst p99 of its windows)`);
  const seriesRows = [['time', 'curve req/s', 'offered req/s', 'ready', 'replicas', 'p99', 'over SLO', 'panic']];
  for (const w of merged(result.series, per)) {
    seriesRows.push([clock(w.startMs), count(w.curveRps), count(w.offeredRps), oneDecimal(w.ready), oneDecimal(w.replicas), formatMs(w.p99Ms), count(w.overSlo), w.panic ? 'yes' : '']);
  }
  lines.push(...table(seriesRows, new Set([1, 2, 3, 4, 5, 6])).map((l) => `  ${l}`));
  return lines;
}
