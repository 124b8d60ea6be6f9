/**
 * A real nats-server with JetStream for tests: 127.0.0.1, a free port, a temporary store directory,
 * ready once it answers a client with an INFO line that announces JetStream.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect as connectTcp, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A nats-server started by `startNatsServer`. */
export interface NatsServer {
  /** `nats://127.0.0.1:<port>`. */
  url: string;
  port: number;
  pid: number;
  /** JetStream's store directory (`-sd`), removed by `stop`. */
  storeDir: string;
  /** Stops the server (SIGTERM, SIGKILL after 10 s), waits for it to exit and removes its store. */
  stop(): Promise<void>;
  /** Kills the server at once (SIGKILL), as a crash would; `stop` still removes its store. */
  kill9(): void;
}

export interface NatsServerOptions {
  /** The nats-server binary (default: $NATS_SERVER, else /usr/sbin/nats-server if present, else `nats-server` on the PATH). */
  binary?: string | undefined;
  /** How long the server may take to accept clients (default 30,000 ms: CI machines are slow). */
  startTimeoutMs?: number | undefined;
}

/** Servers still running, killed if the test process exits without stopping them. */
const running = new Set<ChildProcess>();
let exitHookInstalled = false;

function defaultBinary(): string {
  if (process.env.NATS_SERVER !== undefined && process.env.NATS_SERVER !== '') return process.env.NATS_SERVER;
  return existsSync('/usr/sbin/nats-server') ? '/usr/sbin/nats-server' : 'nats-server';
}

/** A port nothing listens on now (the server may still lose it to another process: `startNatsServer` then tries again). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** Whether a client connecting to `port` now reads an INFO line announcing JetStream. */
function answersWithJetStream(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connectTcp({ host: '127.0.0.1', port });
    let text = '';
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(2000, () => done(false));
    socket.once('error', () => done(false));
    socket.on('data', (data) => {
      text += data.toString('latin1');
      if (text.includes('\r\n')) done(text.startsWith('INFO ') && text.includes('"jetstream":true'));
    });
  });
}

/** Starts nats-server with JetStream on 127.0.0.1 and resolves once it accepts clients. */
export async function startNatsServer(options: NatsServerOptions = {}): Promise<NatsServer> {
  const binary = options.binary ?? defaultBinary();
  const timeoutMs = options.startTimeoutMs ?? 30_000;
  let lastError: Error | undefined;
  for (let attempt = 0; attempt < 5; attempt++) {
    const storeDir = await mkdtemp(join(tmpdir(), 'modelserve-nats-'));
    const port = await freePort();
    try {
      return await launch(binary, port, storeDir, timeoutMs);
    } catch (error) {
      await rm(storeDir, { recursive: true, force: true });
      lastError = error as Error;
      // Another process took the port between freePort and the server's bind: try another.
      if (!/address already in use/i.test(lastError.message)) break;
    }
  }
  throw lastError ?? new Error('nats-server did not start');
}

async function launch(binary: string, port: number, storeDir: string, timeoutMs: number): Promise<NatsServer> {
  const child = spawn(binary, ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', storeDir], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr!.on('data', (data: Buffer) => {
    log = (log + data.toString('utf8')).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let spawnError: Error | undefined;
  child.once('error', (error) => (spawnError = error));
  running.add(child);
  void exited.then(() => running.delete(child));
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const c of running) c.kill('SIGKILL');
    });
  }

  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (spawnError !== undefined) throw new Error(`cannot start ${binary}: ${spawnError.message}`);
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${binary} exited (${child.exitCode ?? child.signalCode}) before accepting clients on port ${port}: ${log.trim()}`);
    if (await answersWithJetStream(port)) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      await exited;
      throw new Error(`${binary} did not accept clients with JetStream on port ${port} within ${timeoutMs} ms: ${log.trim()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }

  const stopped = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    await rm(storeDir, { recursive: true, force: true });
  };
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    pid: child.pid!,
    storeDir,
    stop: stopped,
    kill9: () => {
      child.kill('SIGKILL');
    },
  };
}
