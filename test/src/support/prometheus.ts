/**
 * A real Prometheus (Debian's `/usr/bin/prometheus`) scraping test servers every second, and
 * `promtool` for the rule files. Tests wait on what Prometheus has seen (`waitFor`), never on a
 * clock: the time limits only end a test that would otherwise hang.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { freePort } from './free-port.js';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** Where Debian's `prometheus` package installs the server. */
export const prometheusPath = '/usr/bin/prometheus';
/** Where Debian's `prometheus` package installs promtool. */
export const promtoolPath = '/usr/bin/promtool';

/** Throws, saying how to install it, unless `binary` exists: the tests need it and do not skip. */
function requireBinary(binary: string): void {
  if (!existsSync(binary)) throw new Error(`${binary} is missing: install Debian's Prometheus with \`apt-get install prometheus\` (.ci/run does)`);
}

/** Sends `name` to `pid`; a process that has just exited is not an error. */
function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

/** One series of an instant vector. */
export interface VectorSample {
  metric: Record<string, string>;
  /** [unix seconds, value as Prometheus prints it ("NaN", "+Inf", "47")]. */
  value: [number, string];
}

/** The `data` of a successful `/api/v1/query` answer. */
export type QueryData =
  | { resultType: 'vector'; result: VectorSample[] }
  | { resultType: 'matrix'; result: Array<{ metric: Record<string, string>; values: Array<[number, string]> }> }
  | { resultType: 'scalar' | 'string'; result: [number, string] };

/** A running Prometheus. */
export interface TestPrometheus {
  /** Its HTTP base URL, e.g. http://127.0.0.1:41234. */
  readonly url: string;
  /** Evaluates `expr` now through `/api/v1/query`; rejects with Prometheus' error if it is not valid. */
  query(expr: string): Promise<QueryData>;
  /** Polls `expr` until `holds` accepts its answer and returns that answer; rejects with the last answer after `timeoutMs`. */
  waitFor(expr: string, holds: (data: QueryData) => boolean, timeoutMs?: number): Promise<QueryData>;
  /** The last lines Prometheus logged, for failure messages. */
  logTail(): string;
  /** Kills it (SIGTERM, then SIGKILL) and removes its configuration and storage. */
  stop(): Promise<void>;
}

/** What to scrape. */
export interface PrometheusOptions {
  /** host:port of each modelserve metrics endpoint; scraped every second as job "modelserve". */
  targets: string[];
  /** How long to wait for `/-/ready`; default 60 s. */
  readyTimeoutMs?: number;
}

/** Starts Prometheus on 127.0.0.1, retrying on another port if the one picked was taken meanwhile. */
export async function startPrometheus(options: PrometheusOptions): Promise<TestPrometheus> {
  requireBinary(prometheusPath);
  const dir = await mkdtemp(path.join(tmpdir(), 'modelserve-prometheus-'));
  const configPath = path.join(dir, 'prometheus.yaml');
  // YAML is a superset of JSON, so the configuration needs no YAML library.
  const config = {
    global: { scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' },
    scrape_configs: [{ job_name: 'modelserve', static_configs: [{ targets: options.targets }] }],
  };
  await writeFile(configPath, JSON.stringify(config, null, 2));
  try {
    for (let attempt = 1; ; attempt++) {
      const started = await tryStart(dir, configPath, await freePort(), options.readyTimeoutMs ?? 60_000);
      if (started !== 'address in use') return started;
      if (attempt === 5) throw new Error('prometheus: every port picked was taken before it could listen (5 attempts)');
    }
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

/** One attempt on `port`: the running Prometheus once ready, or 'address in use' if it could not listen. */
async function tryStart(dir: string, configPath: string, port: number, readyTimeoutMs: number): Promise<TestPrometheus | 'address in use'> {
  const url = `http://127.0.0.1:${port}`;
  const storage = await mkdtemp(path.join(dir, 'data-'));
  const child: ChildProcess = spawn(
    prometheusPath,
    [`--config.file=${configPath}`, `--storage.tsdb.path=${storage}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let log = '';
  const keep = (chunk: Buffer): void => {
    log = (log + chunk.toString()).slice(-8000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  let exitCode: number | string | null | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exitCode = code ?? signal;
      resolve();
    });
    child.once('error', (error) => {
      exitCode = error.message;
      resolve();
    });
  });
  const logTail = (): string => log.split('\n').slice(-20).join('\n');

  async function stop(): Promise<void> {
    if (exitCode === undefined && child.pid !== undefined) {
      signal(child.pid, 'SIGTERM');
      const killer = setTimeout(() => exitCode === undefined && signal(child.pid!, 'SIGKILL'), 10_000);
      await exited;
      clearTimeout(killer);
    }
    await rm(dir, { recursive: true, force: true });
  }

  const until = Date.now() + readyTimeoutMs;
  for (;;) {
    if (exitCode !== undefined) {
      if (/address already in use/.test(log)) {
        await rm(storage, { recursive: true, force: true });
        return 'address in use';
      }
      await rm(dir, { recursive: true, force: true });
      throw new Error(`prometheus exited (${exitCode}) before it was ready:\n${logTail()}`);
    }
    const ready = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(5000) }).then((r) => r.ok, () => false);
    if (ready) break;
    if (Date.now() > until) {
      await stop();
      throw new Error(`prometheus at ${url} not ready within ${readyTimeoutMs} ms:\n${logTail()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }

  async function query(expr: string): Promise<QueryData> {
    const response = await fetch(`${url}/api/v1/query`, {
      method: 'POST',
      body: new URLSearchParams({ query: expr }),
      signal: AbortSignal.timeout(30_000),
    });
    const body = (await response.json()) as { status: string; data?: QueryData; errorType?: string; error?: string };
    if (body.status !== 'success' || body.data === undefined) throw new Error(`prometheus rejected ${JSON.stringify(expr)}: ${body.errorType}: ${body.error}`);
    return body.data;
  }

  async function waitFor(expr: string, holds: (data: QueryData) => boolean, timeoutMs = 60_000): Promise<QueryData> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const data = await query(expr);
      if (holds(data)) return data;
      if (Date.now() > deadline) {
        throw new Error(`prometheus: ${expr} did not reach the expected value within ${timeoutMs} ms; last answer ${JSON.stringify(data)}\n${logTail()}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  return { url, query, waitFor, logTail, stop };
}

/** The samples of an instant-vector answer (empty for other result types). */
export function samples(data: QueryData): VectorSample[] {
  return data.resultType === 'vector' ? data.result : [];
}

/** Runs `promtool ...args` in `cwd`: its exit code and everything it printed. */
export function promtool(args: string[], cwd: string): Promise<{ code: number; output: string }> {
  requireBinary(promtoolPath);
  return new Promise((resolve) => {
    execFile(promtoolPath, args, { cwd, timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
      resolve({ code, output: `${stdout}${stderr}` });
    });
  });
}
