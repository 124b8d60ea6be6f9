/**
 * `modelserve serve` as a real process: its JSON log lines (stdout) and its human-readable lines
 * (stderr) as they come, so a test waits on what the server says rather than on a clock.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { createInterface } from 'node:readline';

/** The built CLI's entry point. */
export const cliPath = path.join(path.dirname(createRequire(import.meta.url).resolve('@modelserve/cli')), 'cli.js');

/** A running `modelserve serve`. */
export interface ServeProcess {
  readonly process: ChildProcess;
  /** JSON log lines so far. */
  readonly logs: Array<Record<string, unknown>>;
  /** stderr lines so far. */
  readonly stderr: string[];
  /** Resolves with the first log line `match` accepts; rejects if the process exits first. */
  log(match: (entry: Record<string, unknown>) => boolean): Promise<Record<string, unknown>>;
  /** Resolves with the first stderr line `match` accepts; rejects if the process exits first. */
  errorLine(match: (line: string) => boolean): Promise<string>;
  /** Resolves with the exit code once the process has exited and both pipes are read to the end. */
  readonly exited: Promise<number | null>;
  /** SIGKILL unless it has exited. */
  kill(): void;
}

/** Spawns `modelserve serve ...args`. */
export function spawnServe(args: string[]): ServeProcess {
  const child = spawn(process.execPath, [cliPath, 'serve', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: Array<Record<string, unknown>> = [];
  const stderr: string[] = [];
  const waiters: Array<() => void> = [];
  const notify = (): void => {
    for (const waiter of [...waiters]) waiter();
  };
  let done = false;
  const pipesClosed = Promise.all([
    new Promise((resolve) => child.stdout!.once('close', resolve)),
    new Promise((resolve) => child.stderr!.once('close', resolve)),
  ]);
  const exited = Promise.all([new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code))), pipesClosed]).then(([code]) => {
    done = true;
    notify();
    return code;
  });
  createInterface({ input: child.stdout! }).on('line', (line) => {
    logs.push(JSON.parse(line) as Record<string, unknown>);
    notify();
  });
  createInterface({ input: child.stderr! }).on('line', (line) => {
    stderr.push(line);
    notify();
  });
  function waitFor<T>(list: readonly T[], match: (item: T) => boolean, what: string): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const found = list.find(match);
        if (found !== undefined || done) {
          waiters.splice(waiters.indexOf(check), 1);
          if (found !== undefined) resolve(found);
          else reject(new Error(`modelserve serve exited before ${what}; stderr: ${stderr.join('\n')}`));
        }
      };
      waiters.push(check);
      check();
    });
  }
  return {
    process: child,
    logs,
    stderr,
    log: (match) => waitFor(logs, match, 'the log line awaited'),
    errorLine: (match) => waitFor(stderr, match, 'the stderr line awaited'),
    exited,
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}
