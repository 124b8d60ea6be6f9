/** Starts the baseline servers, each in its own process: (b) the echo transport limit, (c) the naive server. */
import type { ChildProcess } from 'node:child_process';
import { forkChild, stderrTail, stopChild, waitForMessage } from './children.js';
import type { ListeningMessage } from './server-listen.js';
import type { EchoTransport } from './types.js';

/** A server the benchmark started, until `stop()`. */
export interface RunningServer {
  /** host:port on 127.0.0.1. */
  address: string;
  /** The serving process (modelserve: the CLI its guard runs), for reading its memory from /proc. */
  pid: number | undefined;
  stop(): Promise<void>;
  /** Why the server is gone, when it exited without being asked to. */
  exitReason(): string | undefined;
}

/** Watches `child` for an exit the benchmark did not ask for; `describe` says what is known then. */
export function watchExit(child: ChildProcess, describe: (code: number | null, signal: string | null) => string): Pick<RunningServer, 'stop' | 'exitReason'> {
  let stopping = false;
  let reason: string | undefined;
  child.once('exit', (code, signal) => {
    if (!stopping) reason = describe(code, signal);
  });
  return {
    stop: () => {
      stopping = true;
      return stopChild(child, 10_000);
    },
    exitReason: () => reason,
  };
}

/** The port a forked server (server-listen.ts, server-floor.ts) says it listens on. */
export function listeningPort(child: ChildProcess): Promise<number> {
  return waitForMessage(child, (m) => ((m as ListeningMessage).type === 'listening' ? (m as ListeningMessage).port : undefined));
}

async function started(child: ChildProcess, what: string): Promise<RunningServer> {
  try {
    const port = await listeningPort(child);
    const watch = watchExit(child, (code, signal) => `${what} exited (${signal ?? `code ${code}`}) during the run${stderrTail(child) === '' ? '' : `: ${stderrTail(child)}`}`);
    return { address: `127.0.0.1:${port}`, pid: child.pid, ...watch };
  } catch (error) {
    await stopChild(child);
    throw new Error(`${what} did not start: ${(error as Error).message}`);
  }
}

/** (b) A bare grpc-js Predictor answering a precomputed response of the real size (on `transport`, see EchoTransport). */
export function startEchoServer(transport: EchoTransport = 'grpc-js'): Promise<RunningServer> {
  return started(forkChild('./server-echo.js', [transport]), 'echo server');
}

/** (c) A grpc-js Predictor calling `session.run` in its handler for `models` of `repository`. */
export function startNaiveServer(repository: string, models: readonly string[]): Promise<RunningServer> {
  return started(forkChild('./server-naive.js', [repository, ...models]), 'naive server');
}
