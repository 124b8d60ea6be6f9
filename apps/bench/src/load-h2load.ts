/**
 * The h2load driver: each measurement is one run of h2load (native, one thread), so the client
 * costs far less than the Node load workers and the servers, not the client, set the numbers.
 *
 * - Unary: each h2load request is one `Predict` call (a data file with one framed request);
 *   `-c`×`-m` = requests in flight, `-D` the window, `--warm-up-time` the warm-up.
 * - Stream: each h2load request is one `PredictStream` call carrying `ceil(K / S)` framed requests
 *   (distinct ids), sent at once; the server answers each and ends the stream when the client has
 *   half-closed. `S` such streams run at a time (K messages in flight at most). Throughput counts
 *   messages; h2load times whole streams only, so message latency is not available.
 *
 * h2load counts an HTTP 200 as success even when the trailers carry a gRPC error; the caller
 * checks errors with the server's statistics where it has them (modelserve).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { h2loadArgs, parseH2loadLog, parseH2loadSummary, streamBody, grpcFrame } from './h2load.js';
import { newHistogram, NO_LATENCY, summarize } from './histogram.js';
import type { LoadDriver, LoadOutcome, LoadSpec } from './load-generator.js';

function runProcess(binary: string, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    const stop = (): void => {
      child.kill('SIGTERM');
    };
    process.once('exit', stop);
    child.on('error', (error) => {
      clearTimeout(timer);
      process.off('exit', stop);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      process.off('exit', stop);
      if (code === 0) resolve(stdout);
      else reject(new Error(`h2load ${args.join(' ')} ended with ${signal ?? `code ${code}`}: ${(stderr || stdout).trim().split('\n').slice(-3).join(' | ')}`));
    });
  });
}

/** Messages each PredictStream call carries for `inFlight` messages on `streams` streams. */
export function messagesPerStream(inFlight: number, streams: number): number {
  return Math.max(1, Math.ceil(inFlight / Math.max(1, streams)));
}

/** Runs each measurement as one h2load process. */
export class H2loadDriver implements LoadDriver {
  private readonly dir = mkdtempSync(join(tmpdir(), 'modelserve-bench-h2load-'));
  private runs = 0;

  constructor(private readonly binary: string) {}

  async run(spec: LoadSpec, onProgress?: (completed: number) => void): Promise<LoadOutcome> {
    if (spec.rate > 0) throw new Error('the h2load driver has no open loop (--rate): use --driver node');
    if (spec.requests !== undefined && spec.requests > 0) throw new Error('the h2load driver measures timed windows only');
    const payloads = spec.payloads.map((p) => Buffer.from(p, 'base64'));
    const id = this.runs++;
    const dataFile = join(this.dir, `body-${id}.bin`);
    const logFile = join(this.dir, `log-${id}.tsv`);
    const stream = spec.method === 'stream';
    const streams = Math.max(1, Math.min(spec.streams, spec.concurrency));
    const perStream = stream ? (spec.messagesPerStream ?? messagesPerStream(spec.concurrency, streams)) : 1;
    writeFileSync(dataFile, stream ? streamBody(payloads, perStream) : grpcFrame(payloads[0]!));
    const args = h2loadArgs({
      url: `http://${spec.address}/modelserve.v1.Predictor/${stream ? 'PredictStream' : 'Predict'}`,
      dataFile,
      logFile,
      inFlight: stream ? streams : spec.concurrency,
      warmupMs: spec.warmupMs,
      durationMs: spec.durationMs,
      deadlineMs: stream ? 0 : (spec.deadlineMs ?? 30_000),
    });
    try {
      const stdout = await runProcess(this.binary, args, spec.warmupMs + spec.durationMs + 60_000);
      const summary = parseH2loadSummary(stdout);
      if (summary === undefined) throw new Error(`h2load printed no summary: ${stdout.trim().split('\n').slice(-3).join(' | ')}`);
      const log = parseH2loadLog(readFileSync(logFile, 'utf8'));
      const histogram = newHistogram();
      for (const us of log.durationsUs) histogram.recordValue(Math.max(1, us));
      const times = summarize(histogram);
      histogram.destroy();
      const completed = log.durationsUs.length * perStream;
      const errors: Record<string, number> = { ...log.errors };
      const missing = summary.total - summary.done;
      if (summary.timeout > 0) errors['h2load timeout'] = summary.timeout;
      if (missing > 0 && Object.keys(errors).length === 0) errors['not finished'] = missing;
      onProgress?.(completed);
      const outcome: LoadOutcome = {
        completed,
        requestsPerSecond: completed / (Math.max(1, spec.durationMs) / 1000),
        latency: stream ? NO_LATENCY : times,
        errors,
        errorLatency: {},
        dropped: 0,
      };
      if (stream) {
        outcome.messagesPerStream = perStream;
        outcome.perStream = times;
      }
      return outcome;
    } finally {
      rmSync(dataFile, { force: true });
      rmSync(logFile, { force: true });
    }
  }

  close(): Promise<void> {
    rmSync(this.dir, { recursive: true, force: true });
    return Promise.resolve();
  }
}
