/**
 * `--many-models` end to end: the built CLI against real modelserve servers on 127.0.0.1, with 5
 * models and 1-second windows. Only counts and states are asserted, never throughput (the machine
 * is shared); the report's arithmetic is checked on fixed numbers.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manyModelsLines, ratioSummary, roundOf, roundOrder, summarizeMany } from './many-models-report.js';
import type { BenchResults } from './types.js';
import type { ManyModelsResult, ManyModelsServer, ManyModelsWindow } from './types-many.js';

const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const MiB = 1024 * 1024;
let out = '';

beforeAll(async () => {
  out = await mkdtemp(join(tmpdir(), 'many-models-test-'));
});
afterAll(() => rm(out, { recursive: true, force: true }));

/** Runs the built bench with `args` (at most 60 s) and returns the many-models part of the JSON it wrote, and its stdout. */
async function runBench(args: readonly string[]): Promise<{ result: ManyModelsResult; stdout: string }> {
  const { stdout } = await promisify(execFile)(process.execPath, [CLI, '--many-models', '--out', out, ...args], { timeout: 60_000 });
  const file = /^Wrote (.+\.json)$/m.exec(stdout)?.[1];
  if (file === undefined) throw new Error(`no JSON file in the output:\n${stdout}`);
  const results = JSON.parse(await readFile(file, 'utf8')) as BenchResults;
  if (results.manyModels === undefined) throw new Error('no manyModels in the JSON');
  return { result: results.manyModels, stdout };
}

describe('pnpm bench --many-models', () => {
  it('serves 5 models and a single one, times them until READY, reads their memory and measures the three loads', async () => {
    const { result, stdout } = await runBench(['--many-count', '5', '--duration', '1', '--warmup', '0.2', '--many-rounds', '1', '--many-server-args', '--no-exit-on-error']);
    // Every field but `stopped`, which JSON leaves out when the run was not stopped.
    expect(Object.keys(result).sort()).toEqual(['concurrency', 'config', 'count', 'durationMs', 'hot', 'many', 'marginalRssBytes', 'one', 'peakRssBytes', 'requestsPerSecond', 'rounds', 'rssLimitBytes', 'serverArgs', 'spread', 'spreadModels', 'warmupMs']);
    expect(result).toMatchObject({ count: 5, spreadModels: 5, concurrency: 64, durationMs: 1000, warmupMs: 200, serverArgs: ['--no-exit-on-error'], rssLimitBytes: 6000 * MiB });
    for (const [server, models] of [[result.one, 1], [result.many, 5]] as const) {
      expect(server).toMatchObject({ models, ready: models, failed: 0, allReady: true });
      expect(server!.readySeconds).toBeGreaterThan(0);
      expect(server!.rssBytes).toBeGreaterThan(10 * MiB);
      expect(server!.threads).toBeGreaterThan(1);
    }
    expect(Number.isFinite(result.marginalRssBytes)).toBe(true);
    expect(result.peakRssBytes).toBeGreaterThanOrEqual(result.many!.rssBytes!);
    expect(result.rounds).toHaveLength(1);
    for (const window of Object.values(result.rounds[0]!.windows)) {
      expect(window.completed).toBeGreaterThan(0);
      expect(window.errors).toBe(0);
    }
    for (const summary of [result.spread, result.hot]) expect(summary.median).toBeGreaterThan(0);
    expect(Object.values(result.requestsPerSecond).every((rps) => rps! > 0)).toBe(true);
    expect(stdout).toContain('Marginal RSS per model version');
  }, 60_000);

  it('stops the servers and reports what it measured once their RSS passes --many-rss-limit-mb', async () => {
    const { result, stdout } = await runBench(['--many-count', '3', '--many-rss-limit-mb', '1']);
    expect(result.stopped).toMatch(/passed the limit of 1\.0 MiB/);
    expect(result.peakRssBytes).toBeGreaterThan(MiB);
    expect(result.many).toBeUndefined();
    expect(result.rounds).toEqual([]);
    expect(stdout).toContain('Stopped early: server RSS');
  }, 60_000);
});

const server = (models: number, rssMiB: number): ManyModelsServer => ({ models, readySeconds: 2, ready: models, failed: 0, allReady: true, rssBytes: rssMiB * MiB, threads: 10 + models });
const window = (requestsPerSecond: number): ManyModelsWindow => ({ requestsPerSecond, completed: requestsPerSecond, errors: 0, p50Ms: 1, p99Ms: 5 });

describe('the many-models report', () => {
  it('rotates the loads so that each takes every place in turn', () => {
    expect([1, 2, 3, 4].map(roundOrder)).toEqual([
      ['alone', 'hot', 'spread'],
      ['hot', 'spread', 'alone'],
      ['spread', 'alone', 'hot'],
      ['alone', 'hot', 'spread'],
    ]);
  });

  it('divides by the same round\'s alone window and summarizes the ratios by median and range', () => {
    const rounds = [roundOf(1, { alone: window(1000), hot: window(900), spread: window(500) }), roundOf(2, { alone: window(500), hot: window(500), spread: window(300) }), roundOf(3, { alone: window(0), hot: window(1), spread: window(1) })];
    expect(rounds.map((r) => r.spreadRatio)).toEqual([0.5, 0.6, undefined]);
    const summary = summarizeMany(server(1, 100), server(101, 300), rounds);
    expect(summary.spread).toEqual({ median: 0.55, min: 0.5, max: 0.6 });
    expect(summary.hot).toEqual({ median: 0.95, min: 0.9, max: 1 });
    expect(summary.marginalRssBytes).toBe(2 * MiB);
    expect(summary.requestsPerSecond).toEqual({ alone: 500, hot: 500, spread: 300 });
    expect(ratioSummary([])).toEqual({ median: undefined, min: undefined, max: undefined });
  });

  it('prints both servers and the three loads, or why it stopped', () => {
    const rounds = [roundOf(1, { alone: window(1000), hot: window(900), spread: window(500) })];
    const base = { count: 101, spreadModels: 100, concurrency: 64, warmupMs: 500, durationMs: 3000, config: 'max_batch_size: 8\n', serverArgs: [], rssLimitBytes: 6000 * MiB, peakRssBytes: 400 * MiB, stopped: undefined };
    const lines = manyModelsLines({ ...base, one: server(1, 100), many: server(101, 300), rounds, ...summarizeMany(server(1, 100), server(101, 300), rounds) });
    expect(lines.find((l) => l.startsWith('many models'))).toMatch(/101\s+101\s+0\s+2\.0\s+300\.0 MiB\s+111$/);
    expect(lines.join('\n')).toContain('Marginal RSS per model version: 2.0 MiB ((many − one) / 100)');
    expect(lines.find((l) => l.startsWith('spread'))).toMatch(/500\s+5\.00 ms\s+0\s+0\.50×/);
    const stopped = manyModelsLines({ ...base, one: server(1, 100), many: undefined, rounds: [], stopped: 'server RSS passed', ...summarizeMany(server(1, 100), undefined, []) });
    expect(stopped.at(-1)).toBe('Stopped early: server RSS passed');
    expect(stopped.some((l) => l.startsWith('Traffic'))).toBe(false);
  });
});
