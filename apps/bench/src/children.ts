/**
 * Every process the benchmark starts goes through here, so that all of them are ended when the
 * benchmark exits, fails or is interrupted. Forked children also exit by themselves when their
 * IPC channel closes (see `exitWithParent`), which covers a parent killed with SIGKILL.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const children = new Set<ChildProcess>();
const stderrTails = new WeakMap<ChildProcess, string>();
let hooked = false;

function killAll(): void {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  }
  children.clear();
}

function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', killAll);
  for (const [signal, number] of [['SIGINT', 2], ['SIGTERM', 15], ['SIGHUP', 1]] as const) {
    process.once(signal, () => {
      process.stderr.write(`\nbench: ${signal}, stopping servers and load workers\n`);
      killAll();
      process.exit(128 + number);
    });
  }
}

/** Forks `script` (a file next to this one in dist/) with an IPC channel; its stderr is kept for errors. */
export function forkChild(script: string, args: readonly string[] = [], env: NodeJS.ProcessEnv = process.env): ChildProcess {
  hookExit();
  const path = fileURLToPath(new URL(script, import.meta.url));
  const child = fork(path, [...args], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'], env, serialization: 'advanced' });
  children.add(child);
  child.once('exit', () => children.delete(child));
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (text: string) => {
    stderrTails.set(child, ((stderrTails.get(child) ?? '') + text).slice(-4000));
  });
  return child;
}

/** The last lines a child wrote to stderr, for error messages. */
export function stderrTail(child: ChildProcess): string {
  return (stderrTails.get(child) ?? '').trim();
}

/** Waits for the first IPC message that `accept` returns a value for (or throws on); rejects if the child exits first. */
export function waitForMessage<T>(child: ChildProcess, accept: (message: unknown) => T | undefined, timeoutMs = 60_000): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const cleanup = (): void => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    const onMessage = (message: unknown): void => {
      let value: T | undefined;
      try {
        value = accept(message);
      } catch (error) {
        cleanup();
        reject(error instanceof Error ? error : new Error(String(error)));
        return;
      }
      if (value === undefined) return;
      cleanup();
      resolve(value);
    };
    const onExit = (code: number | null, signal: string | null): void => {
      cleanup();
      const tail = stderrTail(child);
      reject(new Error(`child process exited (${signal ?? `code ${code}`})${tail === '' ? '' : `: ${tail}`}`));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`no answer from child process within ${timeoutMs} ms`));
    }, timeoutMs);
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

/** Ends a child: SIGTERM, then SIGKILL if it has not exited after `graceMs`. */
export async function stopChild(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** In a forked child: exit when the parent goes away (its IPC channel closes). */
export function exitWithParent(onExit: () => void = () => undefined): void {
  process.on('disconnect', () => {
    onExit();
    process.exit(0);
  });
  process.on('SIGTERM', () => {
    onExit();
    process.exit(0);
  });
  // Ctrl-C reaches the whole process group; the parent decides when children stop.
  process.on('SIGINT', () => undefined);
}
