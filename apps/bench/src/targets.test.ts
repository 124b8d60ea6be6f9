import { describe, expect, it } from 'vitest';
import { evaluateTargets, rssTarget, rssTargetsTitle, sweepTargetsTitle, targetLines } from './targets.js';
import type { BenchResults, ConfigKey, Method, ModelKey, PointResult } from './types.js';

function point(config: ConfigKey, model: ModelKey, method: Method, concurrency: number, rps: number, p50 = 1, p99 = 10): PointResult {
  return {
    config: config as PointResult['config'],
    model,
    method,
    concurrency,
    streams: method === 'stream' ? 8 : 0,
    rate: 0,
    requestsPerSecond: rps,
    samplesPerSecond: rps,
    latency: { count: 1, mean: p50, p50, p90: p50, p99, p999: p99, max: p99 },
    errors: {},
    dropped: 0,
  };
}

function results(points: PointResult[], rss?: BenchResults['rss']): BenchResults {
  return { startedAt: '', durationSeconds: 0, machine: {}, options: {}, compute: [], points, problems: [], ...(rss === undefined ? {} : { rss }) };
}

const verdicts = (r: BenchResults): Record<string, string> => Object.fromEntries(evaluateTargets(r).map((t) => [t.target, t.verdict]));

describe('the benchmark targets', () => {
  it('pass or fail on the measured ratios', () => {
    const saturated = { ...point('on', 'cnn', 'unary', 64, 3000), server: { eventLoopDelayP99Ms: 3, healthStatus: 'SERVING', healthCheckMs: 2 } };
    const v = verdicts(
      results([
        point('echo', 'mlp', 'unary', 64, 6000),
        point('naive', 'mlp', 'unary', 64, 3000),
        point('on', 'mlp', 'unary', 64, 5000),
        point('on', 'mlp', 'stream', 64, 9000),
        point('off', 'cnn', 'unary', 32, 1000, 1, 30),
        point('on', 'cnn', 'unary', 32, 2500, 1, 20),
        point('off', 'mlp', 'unary', 1, 900, 1.0),
        point('on', 'mlp', 'unary', 1, 850, 1.2),
        saturated,
      ]),
    );
    expect(v['MLP unary, 64 in flight: modelserve ≥ 1.3× the naive server']).toBe('PASS');
    expect(v['MLP unary, 64 in flight: modelserve ≥ 0.8× the echo transport limit']).toBe('PASS');
    expect(v['CNN unary, 32 in flight: batching on ≥ 2× batching off']).toBe('PASS');
    expect(v['CNN unary, 32 in flight: batching on p99 no worse than off']).toBe('PASS');
    expect(v['MLP unary, 1 in flight: batching on p50 within 10% of batching off']).toBe('FAIL');
    expect(v['MLP: PredictStream 64 in flight on 8 streams ≥ 1.5× unary at 64 in flight']).toBe('PASS');
    expect(v['CNN saturating modelserve: event-loop delay p99 < 5 ms']).toBe('PASS');
    expect(v['CNN saturating modelserve: a health check answers']).toBe('PASS');
    expect(v['CNN unary, 1 in flight: batching on p50 within 10% of batching off']).toBe('NOT MEASURED');
    expect(v['Server RSS after 1,000,000 MLP requests within 10% of RSS after 100,000']).toBe('NOT MEASURED');
  });

  it('judge modelserve against the bare grpc-js echo only: an echo on modelserve\'s own transport is not the transport limit', () => {
    const points = [point('echo', 'mlp', 'unary', 64, 6000), point('on', 'mlp', 'unary', 64, 5000)];
    const target = 'MLP unary, 64 in flight: modelserve ≥ 0.8× the echo transport limit';
    expect(verdicts(results(points))[target]).toBe('PASS');
    expect(verdicts({ ...results(points), options: { echoTransport: 'direct' } })[target]).toBe('NOT MEASURED');
  });

  it('say "not measured" when the server does not serve its statistics', () => {
    const v = verdicts(results([point('on', 'cnn', 'unary', 64, 3000)]));
    expect(v['CNN saturating modelserve: event-loop delay p99 < 5 ms']).toBe('NOT MEASURED');
  });

  it('judge RSS growth from the first reading to the last', () => {
    const rss = (last: number): BenchResults['rss'] => ({
      checkpoints: [
        { requests: 100_000, rssBytes: 200e6 },
        { requests: 1_000_000, rssBytes: last },
      ],
      ratio: last / 200e6,
    });
    const key = 'Server RSS after 1,000,000 MLP requests within 10% of RSS after 100,000';
    expect(verdicts(results([], rss(215e6)))[key]).toBe('PASS');
    expect(verdicts(results([], rss(260e6)))[key]).toBe('FAIL');
  });

  it('are titled by what they judge, not by where they were asked for', () => {
    expect(targetLines(evaluateTargets(results([])))[0]).toBe('Targets (throughput and latency against the baselines; event loop, health and RSS under load)');
    expect(targetLines([rssTarget(results([]))], rssTargetsTitle)[0]).toBe('Targets (server RSS growth)');
    for (const title of [sweepTargetsTitle, rssTargetsTitle]) expect(title).not.toMatch(/issue/i);
  });
});
