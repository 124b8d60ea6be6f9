/**
 * Runs the real `modelserve serve` CLI for the benchmark (a forked process) and stops it when the
 * benchmark goes away, even if the benchmark is killed: the CLI itself has no IPC channel to notice.
 * Arguments: the CLI's path, then its arguments. Tells the parent the address from the
 * "port bound" log line (the port is open, the models are still loading) and from the
 * "modelserve listening" one (every model loaded), and forwards warnings and errors.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

/** Messages from the guard to the benchmark. */
export type GuardMessage =
  | { type: 'bound'; address: string; pid: number | undefined }
  | { type: 'listening'; address: string; pid: number | undefined }
  | { type: 'log'; line: string }
  | { type: 'exited'; code: number | null; signal: string | null };

const [cli = '', ...args] = process.argv.slice(2);
const server = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
const send = (message: GuardMessage): void => {
  if (process.connected) process.send?.(message);
};

createInterface({ input: server.stdout }).on('line', (line) => {
  let entry: { msg?: unknown; level?: unknown; address?: unknown };
  try {
    entry = JSON.parse(line) as typeof entry;
  } catch {
    send({ type: 'log', line });
    return;
  }
  if (entry.msg === 'modelserve listening' && typeof entry.address === 'string') send({ type: 'listening', address: entry.address, pid: server.pid });
  else if (typeof entry.msg === 'string' && entry.msg.startsWith('port bound') && typeof entry.address === 'string') send({ type: 'bound', address: entry.address, pid: server.pid });
  // Warnings, errors, and the line that says a signal is shutting it down.
  else if ((typeof entry.level === 'number' && entry.level >= 40) || entry.msg === 'shutting down') send({ type: 'log', line });
});

server.on('exit', (code, signal) => {
  send({ type: 'exited', code, signal });
  process.exit(0);
});

const stop = (): void => {
  server.kill('SIGTERM');
  setTimeout(() => server.kill('SIGKILL'), 5000).unref();
};
process.on('disconnect', stop);
process.on('SIGTERM', stop);
// Ctrl-C reaches the CLI directly (same process group); the guard waits for it to exit.
process.on('SIGINT', () => undefined);
