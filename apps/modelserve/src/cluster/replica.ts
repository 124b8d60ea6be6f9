/**
 * One `modelserve serve` process of the cluster, on a loopback port: spawned, followed through
 * its JSON log lines (stdout) until it listens with its models loaded and warmed, checked with
 * grpc.health.v1, then drained with SIGTERM (the serve process stops taking calls, finishes the
 * accepted ones within --drain-grace-ms and exits).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { replicaHealth } from './health.js';
import { LoadMeter } from './load.js';

/** The built CLI (dist/cli.js), which replicas run as `serve`. */
export const cliPath = fileURLToPath(new URL('../cli.js', import.meta.url));

export type ReplicaState = 'STARTING' | 'READY' | 'DRAINING';

/** How every replica is started. */
export interface ReplicaOptions {
  repository: string;
  drainGraceMs: number;
  /** Arguments after `--` on the cluster's command line, passed to every replica. */
  extraArgs: readonly string[];
  /** A replica not ready this long after its start is killed and counts as a failed start. */
  startTimeoutMs: number;
  logger: Logger;
}

/** How a replica's process ended. */
export interface ReplicaExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** stderr lines kept for the log line of a replica that failed. */
const stderrLines = 20;
/** pino's numeric levels to names, for replica lines passed on. */
const levelNames: Record<number, 'warn' | 'error' | 'fatal'> = { 40: 'warn', 50: 'error', 60: 'fatal' };

export class Replica {
  readonly process: ChildProcess;
  readonly pid: number;
  /** Wall-clock start (for ListReplicas), and monotonic start (for durations). */
  readonly startedUnixMs = Date.now();
  readonly #startedAt = performance.now();
  state: ReplicaState = 'STARTING';
  /** gRPC and metrics `host:port`, once logged. */
  address = '';
  metricsAddress = '';
  readyUnixMs = 0;
  /** The last load read (0 until read). */
  load = 0;
  readonly meter = new LoadMeter();
  /** Settles once the process has exited and its output is read. */
  readonly exited: Promise<ReplicaExit>;
  readonly stderrTail: string[] = [];
  #listening: (() => void) | undefined;
  #exitedAt: ReplicaExit | undefined;

  constructor(
    readonly id: number,
    private readonly options: ReplicaOptions,
  ) {
    // The supervisor's flags come last, so they win over any repeated in extraArgs (refused earlier anyway).
    const args = [
      cliPath,
      'serve',
      ...options.extraArgs,
      '--host', '127.0.0.1',
      '--port', '0',
      // No --metrics-port: with --port 0 the server picks a free one and logs it (--metrics-port 0 turns metrics off).
      '--metrics-host', '127.0.0.1',
      '--model-repository', options.repository,
      '--drain-grace-ms', String(options.drainGraceMs),
      '--log-level', 'info',
    ];
    // Same process group: Ctrl-C in a terminal reaches the replicas too, and each drains as serve does.
    this.process = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.pid = this.process.pid ?? 0;
    const log = options.logger.child({ replica: this.id, pid: this.pid });
    const exit = new Promise<ReplicaExit>((resolve) => this.process.once('exit', (code, signal) => resolve({ code, signal })));
    const closed = Promise.all([new Promise((resolve) => this.process.stdout!.once('close', resolve)), new Promise((resolve) => this.process.stderr!.once('close', resolve))]);
    // A spawn that fails (ENOENT, EAGAIN) emits 'error' and maybe no 'exit'.
    const failed = new Promise<ReplicaExit>((resolve) => this.process.once('error', (error) => {
      log.error({ reason: error.message }, 'replica could not be spawned');
      resolve({ code: null, signal: null });
    }));
    this.exited = Promise.race([Promise.all([exit, closed]).then(([e]) => e), failed]).then((e) => (this.#exitedAt = e));
    createInterface({ input: this.process.stdout! }).on('line', (line) => {
      let entry: Record<string, unknown>;
      try {
        entry = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return void log.warn({ line }, 'replica wrote a line that is not JSON');
      }
      if (entry['msg'] === 'metrics at /metrics') this.metricsAddress = String(entry['address']);
      if (entry['msg'] === 'modelserve listening') {
        this.address = String(entry['address']);
        this.#listening?.();
      }
      // Warnings and errors of the replica go to the supervisor's log; the rest stays out of it.
      const level = levelNames[Number(entry['level'])];
      if (level !== undefined) {
        const { level: _level, time: _time, service: _service, msg, ...fields } = entry;
        log[level](fields, `replica: ${String(msg)}`);
      }
    });
    // serve's stderr repeats its problems for a person; kept for the log line of a replica that fails.
    createInterface({ input: this.process.stderr! }).on('line', (line) => {
      this.stderrTail.push(line);
      if (this.stderrTail.length > stderrLines) this.stderrTail.shift();
    });
  }

  /** Whether the process is still running. */
  get running(): boolean {
    return this.#exitedAt === undefined && this.process.exitCode === null && this.process.signalCode === null;
  }

  /** Milliseconds since the start. */
  get ageMs(): number {
    return Math.round(performance.now() - this.#startedAt);
  }

  /**
   * Resolves once the replica listens with its models loaded and warmed (its "modelserve
   * listening" line) and its health is SERVING; rejects when it exits first or the start timeout
   * passes.
   */
  async whenReady(): Promise<void> {
    const deadline = performance.now() + this.options.startTimeoutMs;
    const timedOut = (): Error => new Error(`not ready within ${this.options.startTimeoutMs} ms (--start-timeout-ms)`);
    const exitedFirst = this.exited.then((e) => Promise.reject(new Error(`exited (${describeExit(e)}) before it was ready`)));
    exitedFirst.catch(() => undefined);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(timedOut()), this.options.startTimeoutMs)));
    try {
      if (this.address === '') await Promise.race([new Promise<void>((resolve) => (this.#listening = resolve)), exitedFirst, timeout]);
      const health = replicaHealth(this.address);
      try {
        for (;;) {
          const remaining = deadline - performance.now();
          if (remaining <= 0) throw timedOut();
          const status = await Promise.race([health.check(Math.min(remaining, 5000)).catch(() => 'UNREACHABLE'), exitedFirst]);
          if (status === 'SERVING') return;
          await Promise.race([new Promise((resolve) => setTimeout(resolve, 100)), exitedFirst]);
        }
      } finally {
        health.close();
      }
    } finally {
      clearTimeout(timer);
    }
  }

  /** Sends `signal` unless the process has exited. */
  signal(signal: NodeJS.Signals): void {
    if (this.running) this.process.kill(signal);
  }
}

/** "code 1", "signal SIGKILL". */
export function describeExit(exit: ReplicaExit): string {
  return exit.signal !== null ? `signal ${exit.signal}` : `code ${exit.code}`;
}
