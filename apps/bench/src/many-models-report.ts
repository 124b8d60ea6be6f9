/** `--many-models`, the arithmetic and the table: pure functions of what was measured. */
import { alignColumns, formatBytes, formatLatency, formatRate, formatRatio } from './format.js';
import { ratio } from './ratios.js';
import { median } from './sdk-compare.js';
import type { ManyModelsLoad, ManyModelsResult, ManyModelsRound, ManyModelsServer, ManyModelsWindow, RatioSummary } from './types-many.js';

/** The loads of round `round` (1-based) in the order they run: each load takes each place in turn, so drift on a shared machine falls on all of them alike. */
export function roundOrder(round: number): ManyModelsLoad[] {
  const loads: ManyModelsLoad[] = ['alone', 'hot', 'spread'];
  const shift = (round - 1) % loads.length;
  return [...loads.slice(shift), ...loads.slice(0, shift)];
}

/** A round from its windows: each ratio against the same round's `alone`. */
export function roundOf(round: number, windows: Record<ManyModelsLoad, ManyModelsWindow>): ManyModelsRound {
  const alone = windows.alone.requestsPerSecond;
  return { round, order: roundOrder(round), windows, spreadRatio: ratio(windows.spread.requestsPerSecond, alone), hotRatio: ratio(windows.hot.requestsPerSecond, alone) };
}

/** Median and range of the defined values. */
export function ratioSummary(values: readonly (number | undefined)[]): RatioSummary {
  const defined = values.filter((v): v is number => v !== undefined && Number.isFinite(v));
  return { median: median(defined), min: defined.length === 0 ? undefined : Math.min(...defined), max: defined.length === 0 ? undefined : Math.max(...defined) };
}

/** The summary fields of a result from its servers and rounds. */
export function summarizeMany(one: ManyModelsServer | undefined, many: ManyModelsServer | undefined, rounds: readonly ManyModelsRound[]): Pick<ManyModelsResult, 'marginalRssBytes' | 'spread' | 'hot' | 'requestsPerSecond'> {
  const oneRss = one?.rssBytes;
  const manyRss = many?.rssBytes;
  const rps = (load: ManyModelsLoad): number | undefined => median(rounds.map((r) => r.windows[load].requestsPerSecond));
  return {
    marginalRssBytes: oneRss === undefined || manyRss === undefined || many === undefined || many.models < 2 ? undefined : (manyRss - oneRss) / (many.models - 1),
    spread: ratioSummary(rounds.map((r) => r.spreadRatio)),
    hot: ratioSummary(rounds.map((r) => r.hotRatio)),
    requestsPerSecond: { alone: rps('alone'), hot: rps('hot'), spread: rps('spread') },
  };
}

const seconds = (s: number | undefined): string => (s === undefined ? 'n/a' : s.toFixed(1));
const count = (n: number | undefined): string => (n === undefined ? 'n/a' : n.toLocaleString('en-US'));

function serverRow(label: string, server: ManyModelsServer | undefined): string[] {
  if (server === undefined) return [label, 'n/a', '', '', '', '', ''];
  return [label, count(server.models), count(server.ready), count(server.failed), seconds(server.readySeconds), formatBytes(server.rssBytes), count(server.threads)];
}

const range = (s: RatioSummary): string => (s.min === undefined || s.max === undefined ? '' : `${formatRatio(s.min)}–${formatRatio(s.max)}`);

function loadRows(result: ManyModelsResult): string[][] {
  const errors = (load: ManyModelsLoad): string => count(result.rounds.reduce((sum, r) => sum + r.windows[load].errors, 0));
  const p99 = (load: ManyModelsLoad): string => formatLatency(median(result.rounds.map((r) => r.windows[load].p99Ms)));
  const perRound = (pick: (r: ManyModelsRound) => number | undefined): string => result.rounds.map((r) => formatRatio(pick(r))).join(' ');
  return [
    ['load', 'req/s', 'p99', 'errors', 'ratio to alone', 'range', 'per round'],
    ['alone: the first model, 1-model repository', formatRate(result.requestsPerSecond.alone), p99('alone'), errors('alone'), '', '', ''],
    [`hot: the same model, ${count(result.count)}-model repository, the others idle`, formatRate(result.requestsPerSecond.hot), p99('hot'), errors('hot'), formatRatio(result.hot.median), range(result.hot), perRound((r) => r.hotRatio)],
    [`spread: ${count(result.spreadModels)} models, equal traffic`, formatRate(result.requestsPerSecond.spread), p99('spread'), errors('spread'), formatRatio(result.spread.median), range(result.spread), perRound((r) => r.spreadRatio)],
  ];
}

/** The mode's report lines. */
export function manyModelsLines(result: ManyModelsResult): string[] {
  const lines = [
    `Many models: ${count(result.count)} tiny FP32 models (tiny zoo: 8 operator patterns, 4-64 features), config.yaml ${JSON.stringify(result.config.trim())}; modelserve serve ${result.serverArgs.length === 0 ? '(no extra arguments)' : result.serverArgs.join(' ')}`,
    ...alignColumns([['repository', 'models', 'READY', 'FAILED', 'settled after (s)', 'RSS', 'threads'], serverRow('one model', result.one), serverRow('many models', result.many)]),
    `Marginal RSS per model version: ${formatBytes(result.marginalRssBytes)} ((many − one) / ${count(result.count - 1)}); peak RSS of both servers ${formatBytes(result.peakRssBytes)}, limit ${formatBytes(result.rssLimitBytes)}`,
  ];
  if (result.rounds.length > 0) {
    lines.push(
      '',
      `Traffic: closed loop, ${result.concurrency} in flight, ${result.rounds.length} round${result.rounds.length === 1 ? '' : 's'} of ${seconds(result.durationMs / 1000)} s windows (each after ${seconds(result.warmupMs / 1000)} s warm-up), the loads' order rotating; medians over the rounds`,
      ...alignColumns(loadRows(result)),
    );
  }
  if (result.stopped !== undefined) lines.push('', `Stopped early: ${result.stopped}`);
  return lines;
}
