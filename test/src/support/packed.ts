/**
 * The packages as a user gets them: packed with `pnpm pack`, installed with plain npm into a
 * project of their own outside the repository, and run from there with npx.
 */
import { execFile, spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** The repository's root directory. */
export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

/** The publishable packages (every other workspace package is private), as the root script `pack:packages` packs them. */
export const publishable = ['@modelserve/proto', '@modelserve/core', '@modelserve/telemetry', '@modelserve/jobs', '@modelserve/autoscale', '@modelserve/server', '@modelserve/client', '@modelserve/cli'] as const;

/**
 * The environment of npm and npx in the scratch project: the test's own, without the lower-case
 * `npm_*` and `pnpm_*` variables pnpm sets for the scripts it runs (npm would take pnpm's
 * `npm_config_globalconfig`, `npm_config_frozen_lockfile` and the like for its own configuration;
 * it reads the user's .npmrc itself), and with onnxruntime-node's install script told to download
 * nothing (it fails on machines that cannot reach its CUDA download host; the CPU libraries are in
 * its npm package).
 */
export function userEnv(): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^(npm|pnpm)_/.test(key)));
  return { ...env, ONNXRUNTIME_NODE_INSTALL: 'skip' };
}

/** What a command printed. */
export interface Output {
  stdout: string;
  stderr: string;
}

/** Runs a command to its end within `timeoutMs`; a failure says which command, how it ended and what it printed last. */
export function run(command: string, args: readonly string[], options: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs: number }): Promise<Output> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { cwd: options.cwd, env: options.env ?? process.env, timeout: options.timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error === null) return resolve({ stdout, stderr });
      const how = error.killed ? `did not finish within ${options.timeoutMs / 1000} s` : `failed (exit code ${String(error.code)})`;
      const tail = (text: string) => text.split('\n').slice(-30).join('\n');
      reject(new Error(`\`${[command, ...args].join(' ')}\` in ${options.cwd} ${how}\n--- stdout (end) ---\n${tail(stdout)}\n--- stderr (end) ---\n${tail(stderr)}`));
    });
  });
}

/** The pnpm running this test (pnpm names itself in `npm_execpath`), else the one on PATH. */
export function pnpmCommand(): [string, string[]] {
  const execPath = process.env['npm_execpath'];
  return execPath !== undefined && /pnpm/.test(path.basename(execPath)) ? [process.execPath, [execPath]] : ['pnpm', []];
}

/** A `modelserve serve` started in the scratch project. */
export interface InstalledServer {
  /** Its address, `127.0.0.1:port`, once it logs "modelserve listening"; rejects if it ends first. */
  listening: Promise<string>;
  /** Stops it (SIGTERM to its process group, SIGKILL if it has not exited after 20 s) and waits until every process of it has exited. */
  stop(): Promise<void>;
}

/**
 * Starts `npx --no modelserve serve --host 127.0.0.1 --port 0 …` in `cwd`. npx runs the command as
 * a grandchild, so it gets a process group of its own (detached) and is stopped through it; `--no`
 * keeps npx from ever fetching a `modelserve` package from the registry when the local one is missing.
 */
export function startInstalledServer(cwd: string, args: readonly string[] = []): InstalledServer {
  const child = spawn('npx', ['--no', 'modelserve', 'serve', '--host', '127.0.0.1', '--port', '0', ...args], { cwd, env: userEnv(), detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  // 'close' comes once every process holding the output pipes (npx, the shell, node) has exited.
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const listening = new Promise<string>((resolve, reject) => {
    void closed.then(() => reject(new Error(`npx modelserve serve ended before listening\n--- stderr ---\n${stderr}`)));
    // Every line is read to the end: the server writes its log synchronously and would block on a full pipe.
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (!line.startsWith('{')) return;
      const entry = JSON.parse(line) as { msg?: unknown; address?: unknown };
      if (entry.msg === 'modelserve listening') resolve(String(entry.address));
    });
  });
  // Awaited by the caller; a server stopped before it listened must not be an unhandled rejection.
  listening.catch(() => undefined);
  const signal = (name: NodeJS.Signals) => {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, name);
    } catch {
      // Every process of the group has exited already.
    }
  };
  return {
    listening,
    async stop() {
      signal('SIGTERM');
      const killer = setTimeout(() => signal('SIGKILL'), 20_000);
      await closed;
      clearTimeout(killer);
    },
  };
}
