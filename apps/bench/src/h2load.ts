/**
 * The pure parts of the h2load driver (nghttp2's native HTTP/2 load tool, Debian package
 * `nghttp2-client`): finding it, the gRPC request bodies it posts, its connection × stream shape
 * for a load, its command line, and parsing its per-request log and summary.
 */
import { execFileSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { appendRequestId } from './wire.js';

/** Where h2load is: /usr/bin/h2load, else the first `h2load` on PATH; undefined when there is none. */
export function findH2load(path = process.env['PATH'] ?? ''): string | undefined {
  const candidates = ['/usr/bin/h2load', ...path.split(delimiter).filter((d) => d !== '').map((d) => join(d, 'h2load'))];
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // next
    }
  }
  return undefined;
}

/** `h2load --version`, e.g. "nghttp2/1.52.0"; undefined when it does not answer. */
export function h2loadVersion(binary: string): string | undefined {
  try {
    return execFileSync(binary, ['--version'], { encoding: 'utf8', timeout: 5000 }).trim().replace(/^h2load\s+/, '');
  } catch {
    return undefined;
  }
}

/** One gRPC length-prefixed message: flag 0 (uncompressed), 4-byte big-endian length, the bytes. */
export function grpcFrame(message: Uint8Array): Buffer {
  const header = Buffer.alloc(5);
  header.writeUInt32BE(message.length, 1);
  return Buffer.concat([header, message], 5 + message.length);
}

/** A PredictStream request body: `count` framed requests from `payloads` in turn, ids "0".."count-1". */
export function streamBody(payloads: readonly Buffer[], count: number): Buffer {
  return Buffer.concat(Array.from({ length: count }, (_, i) => grpcFrame(appendRequestId(payloads[i % payloads.length]!, String(i)))));
}

/** Most connections h2load opens for one load; requests in flight are spread over them as streams. */
export const MAX_CONNECTIONS = 4;

/** `-c` connections × `-m` streams for `inFlight` requests: the most connections (≤ 4) that divide it evenly. */
export function h2loadShape(inFlight: number): { connections: number; streams: number } {
  const n = Math.max(1, Math.floor(inFlight));
  for (let c = Math.min(n, MAX_CONNECTIONS); c > 1; c--) if (n % c === 0) return { connections: c, streams: n / c };
  return { connections: 1, streams: n };
}

/** What one h2load run is asked for. */
export interface H2loadRun {
  url: string;
  dataFile: string;
  logFile: string;
  /** Requests (HTTP/2 streams) in flight. */
  inFlight: number;
  warmupMs: number;
  durationMs: number;
  /** Per-call deadline sent as `grpc-timeout`; 0 for none. */
  deadlineMs: number;
}

/** h2load durations: an integer and a unit (1.52 rejects "0.5s"). */
const secs = (ms: number): string => `${Math.max(1, Math.round(ms))}ms`;

/** h2load's arguments for a closed loop of `inFlight` gRPC calls: one thread, timing-based. */
export function h2loadArgs(run: H2loadRun): string[] {
  const { connections, streams } = h2loadShape(run.inFlight);
  const args = ['-t', '1', '-c', String(connections), '-m', String(streams), '-D', secs(run.durationMs)];
  if (run.warmupMs > 0) args.push(`--warm-up-time=${secs(run.warmupMs)}`);
  args.push(`--log-file=${run.logFile}`, '-d', run.dataFile, '-H', 'content-type: application/grpc', '-H', 'te: trailers');
  if (run.deadlineMs > 0) args.push('-H', `grpc-timeout: ${run.deadlineMs}m`);
  args.push(run.url);
  return args;
}

/** The requests of h2load's `--log-file`: durations (µs) of the answered ones, failures by kind. */
export interface H2loadLog {
  /** Microseconds from start to end of response of each answered request, in file order. */
  durationsUs: number[];
  /** Unanswered or non-2xx requests: "stream failed" (status -1) or "HTTP nnn". */
  errors: Record<string, number>;
  /** First start and last end, µs since the epoch (0 when empty). */
  firstStartUs: number;
  lastEndUs: number;
}

/**
 * Parses h2load's `--log-file` (1.52: tab-separated start µs since the epoch, HTTP status, µs to the
 * end of the response; only requests of the measured window). Status -1 is a failed stream; 0 is an
 * answered request whose status h2load did not record (it happens for streams opened in the warm-up).
 * gRPC errors arrive as 200 with a grpc-status trailer h2load does not read: they count as answered.
 */
export function parseH2loadLog(text: string): H2loadLog {
  const log: H2loadLog = { durationsUs: [], errors: {}, firstStartUs: 0, lastEndUs: 0 };
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const [start, status, duration] = line.split('\t').map(Number);
    if (start === undefined || status === undefined || duration === undefined || !Number.isFinite(start) || !Number.isFinite(status) || !Number.isFinite(duration)) continue;
    if (log.firstStartUs === 0 || start < log.firstStartUs) log.firstStartUs = start;
    log.lastEndUs = Math.max(log.lastEndUs, start + duration);
    if (status === -1 || (status !== 0 && (status < 200 || status > 299))) {
      const key = status === -1 ? 'stream failed' : `HTTP ${status}`;
      log.errors[key] = (log.errors[key] ?? 0) + 1;
    } else log.durationsUs.push(duration);
  }
  return log;
}

/** h2load's summary on stdout. */
export interface H2loadSummary {
  /** "finished in X" (warm-up included), seconds. */
  finishedSeconds: number;
  /** h2load's own rate over the measured window. */
  requestsPerSecond: number;
  total: number;
  done: number;
  succeeded: number;
  failed: number;
  errored: number;
  timeout: number;
}

const DURATION_UNITS: Record<string, number> = { us: 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 };

/** Parses the "finished in …" and "requests: …" lines; undefined when they are missing. */
export function parseH2loadSummary(stdout: string): H2loadSummary | undefined {
  const finished = /finished in ([\d.]+)(us|ms|s|m|h), ([\d.]+) req\/s/.exec(stdout);
  const requests = /requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/.exec(stdout);
  if (finished === null || requests === null) return undefined;
  const n = (i: number): number => Number(requests[i]);
  return {
    finishedSeconds: Number(finished[1]) * DURATION_UNITS[finished[2]!]!,
    requestsPerSecond: Number(finished[3]),
    total: n(1),
    done: n(3),
    succeeded: n(4),
    failed: n(5),
    errored: n(6),
    timeout: n(7),
  };
}
