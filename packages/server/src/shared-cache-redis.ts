/**
 * The response cache's shared tier on Redis, so replicas share hits. It is an optimisation and
 * must never cost a request: every `get` is bounded by a short timeout and answers `undefined` on
 * any trouble, `set` is fire-and-forget, and commands fail at once while disconnected (no offline
 * queue) while the client reconnects in the background. Trouble is logged as one warning a minute
 * at most, and recovery as one info line.
 */
import { silentLogger, type Logger, type NamedTensor, type SharedCacheTier } from '@modelserve/core';
import { Redis } from 'ioredis';
import { decodeOutputs, encodeOutputs } from './shared-cache-codec.js';

/** How the Redis tier behaves; every field is optional. */
export interface RedisSharedCacheOptions {
  /** How long a `get` waits for Redis before answering a miss; default 5 ms. */
  timeoutMs?: number;
  /** Where the once-a-minute warning and the recovery line go; default silent. */
  logger?: Logger;
  /** Prepended to every key, so several deployments can share one Redis; default `modelserve:cache:`. */
  keyPrefix?: string;
}

/** The warning logged, at most once a minute, while the shared tier does not work. */
export const unavailableMessage = 'shared cache unavailable; serving from the local cache';
/** The info line logged when it works again after a warning. */
export const recoveredMessage = 'shared cache available again';

const warningIntervalMs = 60_000;
/** Timed-out gets in a row that make Redis count as unavailable (a single slow answer only misses). */
const slowGetsForWarning = 3;
/** Commands awaiting Redis beyond this are not sent: a slow Redis must not grow memory without bound. */
const maxPendingCommands = 1000;
/** With commands pending and no byte from Redis this long, the connection is dropped and remade. */
const socketTimeoutMs = 2000;

/** The shared tier on the Redis at `url` (`redis://` or `rediss://`, as ioredis reads it). Throws only on a URL of another scheme. */
export function redisSharedCache(url: string, options: RedisSharedCacheOptions = {}): SharedCacheTier {
  const target = checkedUrl(url);
  const timeoutMs = options.timeoutMs ?? 5;
  const logger = options.logger ?? silentLogger;
  const keyPrefix = options.keyPrefix ?? 'modelserve:cache:';
  const health = new TierHealth(logger, target);

  const client = new Redis(url, {
    lazyConnect: false,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    // Backoff from 50 ms, capped at 1 s: a restarted Redis is back in use within a second.
    retryStrategy: (times) => Math.min(25 * 2 ** Math.min(times, 6), 1000),
    socketTimeout: socketTimeoutMs,
  });
  // Commands fail while the first connection is being made; that is startup, not an outage worth a warning.
  let firstAttemptOver = false;
  client.once('ready', () => (firstAttemptOver = true));
  // Without a listener ioredis prints every connection error to stderr; these go through the budget instead.
  client.on('error', (error: Error) => {
    firstAttemptOver = true;
    health.failed(reasonOf(error));
  });
  const failed = (reason: string): void => {
    if (firstAttemptOver) health.failed(reason);
  };

  let closed = false;
  let pending = 0;
  /** Gets in a row that timed out: one slow answer in a thousand is a miss, not an outage. */
  let slowInARow = 0;

  /** Runs a command unless too many are pending; settles when Redis answers or the command fails. */
  function track<T>(command: () => Promise<T>): Promise<T> | undefined {
    if (pending >= maxPendingCommands) {
      failed(`${maxPendingCommands} commands are waiting for Redis`);
      return undefined;
    }
    pending++;
    let reply: Promise<T>;
    try {
      reply = command();
    } catch (error) {
      reply = Promise.reject(error);
    }
    return reply.finally(() => pending--);
  }

  return {
    get(key: string): Promise<NamedTensor[] | undefined> {
      if (closed) return Promise.resolve(undefined);
      const reply = track(() => client.getBuffer(keyPrefix + key));
      if (reply === undefined) return Promise.resolve(undefined);
      return new Promise((resolve) => {
        let settled = false;
        let timedOut = false;
        const timer = setTimeout(() => {
          // A busy event loop fires the timer late, often with the answer already read from the socket:
          // let that I/O run first, so the timeout measures Redis and not this process.
          setImmediate(() => {
            if (settled) return;
            settled = timedOut = true;
            slowInARow++;
            if (slowInARow >= slowGetsForWarning) failed(`no answer within ${timeoutMs} ms, ${slowInARow} gets in a row`);
            resolve(undefined);
          });
        }, timeoutMs);
        reply.then(
          (value) => {
            clearTimeout(timer);
            // A late answer is no sign of health: the caller has already been told it is a miss.
            if (timedOut) return;
            settled = true;
            slowInARow = 0;
            health.worked();
            resolve(value === null ? undefined : decoded(value, key));
          },
          (error: unknown) => {
            clearTimeout(timer);
            if (timedOut) return;
            settled = true;
            failed(reasonOf(error));
            resolve(undefined);
          },
        );
      });
    },

    set(key: string, outputs: readonly NamedTensor[], ttlMs: number): void {
      if (closed || !(ttlMs >= 0)) return;
      let value: Buffer;
      try {
        value = encodeOutputs(outputs);
      } catch (error) {
        health.warn({ key, reason: reasonOf(error) }, 'shared cache: an answer could not be encoded; not shared');
        return;
      }
      const k = keyPrefix + key;
      const reply = track(() => (ttlMs > 0 ? client.set(k, value, 'PX', Math.ceil(ttlMs)) : client.set(k, value)));
      reply?.catch((error: unknown) => failed(reasonOf(error)));
    },

    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      if (client.status === 'ready') {
        // QUIT lets Redis finish what was sent; a Redis that does not answer only delays close by a second.
        let timer: NodeJS.Timeout | undefined;
        const giveUp = new Promise<void>((resolve) => (timer = setTimeout(resolve, 1000)));
        await Promise.race([client.quit().then(() => undefined, () => undefined), giveUp]);
        clearTimeout(timer);
      }
      client.disconnect();
    },
  };

  /** The outputs in `value`, or a miss (logged within the warning budget) if it does not decode. */
  function decoded(value: Buffer, key: string): NamedTensor[] | undefined {
    try {
      return decodeOutputs(value);
    } catch (error) {
      health.warn({ key, reason: reasonOf(error) }, 'shared cache: a stored answer does not decode; treated as a miss');
      return undefined;
    }
  }
}

/**
 * Whether the tier works, and the warning budget: one warning a minute however many calls fail,
 * and an info line when a `get` succeeds after a warned outage.
 */
class TierHealth {
  private down = false;
  private outageWarned = false;
  private lastWarningAt = -Infinity;

  constructor(
    private readonly logger: Logger,
    private readonly url: string,
  ) {}

  failed(reason: string): void {
    if (!this.down) this.outageWarned = false;
    this.down = true;
    if (this.warn({ reason }, unavailableMessage)) this.outageWarned = true;
  }

  worked(): void {
    if (!this.down) return;
    this.down = false;
    if (this.outageWarned) this.logger.info({ url: this.url }, recoveredMessage);
  }

  /** Logs a warning unless one was logged in the last minute; whether it did. */
  warn(fields: object, message: string): boolean {
    const now = Date.now();
    if (now - this.lastWarningAt < warningIntervalMs) return false;
    this.lastWarningAt = now;
    this.logger.warn({ url: this.url, ...fields }, message);
    return true;
  }
}

/** The URL with any password masked, for logs; throws unless it is a redis:// or rediss:// URL. */
function checkedUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`shared cache URL: expected redis://host:port/db or rediss://…, got ${JSON.stringify(url)}`);
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new Error(`shared cache URL: expected the scheme redis:// or rediss://, got ${parsed.protocol}// in ${JSON.stringify(masked(parsed))}`);
  }
  return masked(parsed);
}

function masked(url: URL): string {
  if (url.password !== '') url.password = '***';
  return url.toString();
}

function reasonOf(error: unknown): string {
  // Node's connection errors can have an empty message (an AggregateError of every address tried).
  if (error instanceof Error) return error.message || (error as NodeJS.ErrnoException).code || error.name;
  return String(error);
}
