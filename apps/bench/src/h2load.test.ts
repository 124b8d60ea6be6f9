import { describe, expect, it } from 'vitest';
import { chooseDriver } from './driver.js';
import { grpcFrame, h2loadArgs, h2loadShape, parseH2loadLog, parseH2loadSummary, streamBody } from './h2load.js';

/** Captured from h2load 1.52 against the echo server (`-c 2 -m 4 -t 1 -D 2 --warm-up-time=1`), lines of its --log-file. */
const capturedLog = [
  '1795492690363987\t0\t512',
  '1795492690363988\t0\t569',
  '1795492690364620\t200\t423',
  '1795492690364621\t200\t426',
  '1795492690364623\t200\t427',
  '1795492692363372\t200\t640',
  '',
].join('\n');

/** Its stdout, from the summary on. */
const capturedStdout = `Stopped all clients for thread #0

finished in 3.00s, 11678.00 req/s, 1.32MB/s
requests: 23356 total, 23356 started, 23356 done, 23356 succeeded, 0 failed, 0 errored, 0 timeout
status codes: 23348 2xx, 0 3xx, 0 4xx, 0 5xx
traffic: 2.63MB (2759482) total, 151.23KB (154858) headers (space savings 96.40%), 2.45MB (2565364) data
                     min         max         mean         sd        +/- sd
time for request:      322us     30.85ms       658us       638us    97.26%
`;

describe('h2load output', () => {
  it('reads per-request durations from the log; status 0 (warm-up streams) and 2xx are answered', () => {
    const log = parseH2loadLog(capturedLog);
    expect(log.durationsUs).toEqual([512, 569, 423, 426, 427, 640]);
    expect(log.errors).toEqual({});
    expect(log.firstStartUs).toBe(1795492690363987);
    expect(log.lastEndUs).toBe(1795492692363372 + 640);
  });

  it('counts failed streams (-1) and non-2xx statuses as errors', () => {
    const log = parseH2loadLog(`${capturedLog}1795492692363400\t-1\t900\n1795492692363401\t503\t80\nnot a row\n`);
    expect(log.durationsUs).toHaveLength(6);
    expect(log.errors).toEqual({ 'stream failed': 1, 'HTTP 503': 1 });
  });

  it('reads the summary lines', () => {
    expect(parseH2loadSummary(capturedStdout)).toEqual({
      finishedSeconds: 3,
      requestsPerSecond: 11678,
      total: 23356,
      done: 23356,
      succeeded: 23356,
      failed: 0,
      errored: 0,
      timeout: 0,
    });
    expect(parseH2loadSummary('finished in 1.00ms, 5.00 req/s')).toBeUndefined();
    expect(parseH2loadSummary(capturedStdout.replace('3.00s', '850.25ms'))?.finishedSeconds).toBeCloseTo(0.85025);
  });
});

describe('h2load command line', () => {
  it('spreads requests in flight over at most 4 connections, evenly', () => {
    expect(h2loadShape(1)).toEqual({ connections: 1, streams: 1 });
    expect(h2loadShape(8)).toEqual({ connections: 4, streams: 2 });
    expect(h2loadShape(64)).toEqual({ connections: 4, streams: 16 });
    expect(h2loadShape(6)).toEqual({ connections: 3, streams: 2 });
    expect(h2loadShape(7)).toEqual({ connections: 1, streams: 7 });
  });

  it('asks for one thread, a timed window in integer milliseconds and the gRPC headers', () => {
    const args = h2loadArgs({ url: 'http://127.0.0.1:1/p', dataFile: '/d', logFile: '/l', inFlight: 32, warmupMs: 500, durationMs: 5000, deadlineMs: 30000 });
    expect(args).toEqual(['-t', '1', '-c', '4', '-m', '8', '-D', '5000ms', '--warm-up-time=500ms', '--log-file=/l', '-d', '/d', '-H', 'content-type: application/grpc', '-H', 'te: trailers', '-H', 'grpc-timeout: 30000m', 'http://127.0.0.1:1/p']);
    expect(h2loadArgs({ url: 'u', dataFile: 'd', logFile: 'l', inFlight: 1, warmupMs: 0, durationMs: 1000, deadlineMs: 0 })).not.toContain('--warm-up-time=0ms');
  });

  it('frames gRPC messages and gives stream messages distinct ids', () => {
    expect([...grpcFrame(Buffer.from([1, 2, 3]))]).toEqual([0, 0, 0, 0, 3, 1, 2, 3]);
    const body = streamBody([Buffer.alloc(0)], 3);
    // Each message is the (empty) request with field 3, id, appended: tag 0x1a, length 1, the digit.
    expect([...body]).toEqual([0, 0, 0, 0, 3, 0x1a, 1, 0x30, 0, 0, 0, 0, 3, 0x1a, 1, 0x31, 0, 0, 0, 0, 3, 0x1a, 1, 0x32]);
  });
});

describe('choosing the driver', () => {
  const found = (): string => '/usr/bin/h2load';
  const none = (): undefined => undefined;
  it('defaults to h2load when installed, else node', () => {
    expect(chooseDriver({ driver: 'auto', rates: [] }, found).name).toBe('h2load');
    expect(chooseDriver({ driver: 'auto', rates: [] }, none).name).toBe('node');
    expect(chooseDriver({ driver: 'node', rates: [] }, found).name).toBe('node');
  });
  it('keeps the open loop on node and refuses h2load when it cannot be used', () => {
    expect(chooseDriver({ driver: 'auto', rates: [1000] }, found).name).toBe('node');
    expect(() => chooseDriver({ driver: 'h2load', rates: [1000] }, found)).toThrow(/--rate/);
    expect(() => chooseDriver({ driver: 'h2load', rates: [] }, none)).toThrow(/nghttp2-client/);
  });
});
