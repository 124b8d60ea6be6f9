/**
 * A real Redis (Debian's `/usr/bin/redis-server`) on 127.0.0.1, one per test file, with no
 * persistence. Tests can stop it, kill it outright, or start another on the same port to play a
 * Redis restart; they wait on what Redis answers, never on a clock.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { freePort } from './free-port.js';

/** Where Debian's `redis-server` package installs the server. */
export const redisServerPath = '/usr/bin/redis-server';

/** A running redis-server. */
export interface TestRedis {
  /** `redis://127.0.0.1:PORT`. */
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  /** Sends one command and returns Redis' reply as it came (RESP), e.g. `+OK\r\n`. */
  command(...args: Array<string | Buffer>): Promise<string>;
  /** SIGTERM, and resolves once it has exited. */
  stop(): Promise<void>;
  /** SIGKILL, as a crash would, and resolves once it has exited. */
  kill(): Promise<void>;
  /** The last lines it logged, for failure messages. */
  logTail(): string;
}

/** Where to listen; by default a free port. */
export interface RedisOptions {
  /** A fixed port, e.g. the one of a Redis that was stopped, to play a restart. */
  port?: number;
  /** How long to wait for its first PONG; default 30 s. */
  readyTimeoutMs?: number;
}

/** Starts redis-server on 127.0.0.1; on a free port it retries another port if the one picked was taken meanwhile. */
export async function startRedis(options: RedisOptions = {}): Promise<TestRedis> {
  if (!existsSync(redisServerPath)) {
    throw new Error(`${redisServerPath} is missing: install Debian's Redis with \`apt-get install redis-server\` (.ci/run does)`);
  }
  const attempts = 5;
  for (let attempt = 1; ; attempt++) {
    const port = options.port ?? (await freePort());
    const started = await tryStart(port, options.readyTimeoutMs ?? 30_000);
    if (started !== 'address in use') return started;
    if (attempt === attempts) throw new Error(`redis-server: port ${options.port ?? '(free ones picked)'} was taken on each of ${attempts} attempts`);
    if (options.port !== undefined) await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** One attempt on `port`: the running Redis once it answers PING, or 'address in use' if it could not listen. */
async function tryStart(port: number, readyTimeoutMs: number): Promise<TestRedis | 'address in use'> {
  const child = spawn(
    redisServerPath,
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', tmpdir()],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let log = '';
  const keep = (chunk: Buffer): void => {
    log = (log + chunk.toString()).slice(-8000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  let exitCode: number | string | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exitCode = code ?? signal ?? 'exit';
      resolve();
    });
    child.once('error', (error) => {
      exitCode = error.message;
      resolve();
    });
  });
  const logTail = (): string => log.split('\n').slice(-20).join('\n');

  async function end(signal: NodeJS.Signals): Promise<void> {
    if (exitCode !== undefined || child.pid === undefined) return;
    child.kill(signal);
    const killer = setTimeout(() => exitCode === undefined && child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(killer);
  }

  const until = Date.now() + readyTimeoutMs;
  for (;;) {
    if (exitCode !== undefined) {
      if (/address already in use/i.test(log)) return 'address in use';
      throw new Error(`redis-server exited (${exitCode}) before it answered PING:\n${logTail()}`);
    }
    const reply = await redisCommand(port, ['PING']).catch(() => '');
    if (reply === '+PONG\r\n') break;
    if (Date.now() > until) {
      await end('SIGKILL');
      throw new Error(`redis-server on port ${port} did not answer PING within ${readyTimeoutMs} ms:\n${logTail()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }

  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    pid: child.pid!,
    command: (...args) => redisCommand(port, args),
    stop: () => end('SIGTERM'),
    kill: () => end('SIGKILL'),
    logTail,
  };
}

/** Sends one command on a fresh connection and resolves with the first complete reply line (or bulk string) as raw RESP. */
function redisCommand(port: number, args: Array<string | Buffer>): Promise<string> {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const arg of args) {
    const bytes = typeof arg === 'string' ? Buffer.from(arg) : arg;
    parts.push(Buffer.from(`$${bytes.length}\r\n`), bytes, Buffer.from('\r\n'));
  }
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let reply = Buffer.alloc(0);
    socket.setTimeout(10_000, () => socket.destroy(new Error(`redis on port ${port}: no complete reply within 10 s`)));
    socket.once('error', reject);
    socket.on('data', (chunk: Buffer) => {
      reply = Buffer.concat([reply, chunk]);
      if (complete(reply)) {
        socket.end();
        resolve(reply.toString('latin1'));
      }
    });
    socket.once('close', () => reject(new Error(`redis on port ${port} closed the connection after ${JSON.stringify(reply.toString('latin1'))}`)));
    socket.write(Buffer.concat(parts));
  });
}

/** Whether `reply` holds a whole simple reply (`+`, `-`, `:`) or bulk string (`$`), the only kinds the tests send for. */
function complete(reply: Buffer): boolean {
  const lineEnd = reply.indexOf('\r\n');
  if (lineEnd === -1) return false;
  if (reply[0] !== 0x24 /* $ */) return true;
  const length = Number(reply.subarray(1, lineEnd).toString());
  return length < 0 || reply.length >= lineEnd + 2 + length + 2;
}
