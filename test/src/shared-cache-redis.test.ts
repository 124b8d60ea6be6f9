/**
 * The response cache's shared tier against a real redis-server: what one replica stores another
 * reads, entries expire, and a Redis that dies, stalls or never answers costs nothing but misses
 * and one warning a minute. Tests wait on what happens, never on a clock.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Socket } from 'node:net';
import type { Logger, NamedTensor, SharedCacheTier } from '@modelserve/core';
import { everyDatatype } from '@modelserve/core/testing';
import { redisSharedCache } from '@modelserve/server';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from './support/eventually.js';
import { startRedis, type TestRedis } from './support/redis.js';

const unavailable = 'shared cache unavailable; serving from the local cache';
const recovered = 'shared cache available again';

const answer: NamedTensor[] = [{ name: 'output', datatype: 'FP32', shape: [1, 2], data: Float32Array.from([0.25, 0.75]) }];

/** A key as the response cache makes them: 32 hex digits. */
const newKey = (): string => randomBytes(16).toString('hex');

type Line = { level: 'info' | 'warn' | 'error'; fields: Record<string, unknown>; message: string };
function recordingLogger(): Logger & { lines: Line[]; count(message: string): number } {
  const lines: Line[] = [];
  const at = (level: Line['level']) => (fields: object, message: string) => void lines.push({ level, fields: fields as Record<string, unknown>, message });
  return { lines, info: at('info'), warn: at('warn'), error: at('error'), count: (message) => lines.filter((l) => l.message === message).length };
}

/** Rejects if `promise` has not settled within `ms`: only to end a test that would otherwise hang. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms)));
  return Promise.race([promise, hung]).finally(() => clearTimeout(timer));
}

const opened: SharedCacheTier[] = [];
/** A tier closed after the test. Functional tests give Redis a generous timeout: CI machines are busy, and 5 ms is for production. */
function tier(url: string, options: Parameters<typeof redisSharedCache>[1] = {}): SharedCacheTier {
  const made = redisSharedCache(url, { timeoutMs: 2000, ...options });
  opened.push(made);
  return made;
}

/**
 * Stores `outputs` and waits until `reader` sees them. `set` is fire-and-forget and dropped while a
 * tier is not connected yet, so it is repeated until the entry is seen, as a cache re-stores on misses.
 */
async function storeAndSee(writer: SharedCacheTier, reader: SharedCacheTier, key: string, outputs: NamedTensor[], ttlMs = 0): Promise<NamedTensor[]> {
  let seen: NamedTensor[] | undefined;
  await eventually(
    async () => {
      writer.set(key, outputs, ttlMs);
      return (seen = await reader.get(key)) !== undefined;
    },
    10_000,
    `key ${key} readable`,
  );
  return seen!;
}

describe('the Redis shared cache tier', () => {
  let redis: TestRedis;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((t) => t.close()));
  });

  it('returns what was set, for a tensor of every datatype and for all of them together', async () => {
    const cache = tier(redis.url);
    for (const tensor of Object.values(everyDatatype)) {
      expect(await storeAndSee(cache, cache, newKey(), [tensor]), tensor.datatype).toEqual([tensor]);
    }
    expect(await storeAndSee(cache, cache, newKey(), Object.values(everyDatatype))).toEqual(Object.values(everyDatatype));
    expect(await cache.get(newKey())).toBeUndefined();
  });

  it('forgets an entry after its TTL', async () => {
    const cache = tier(redis.url);
    const key = newKey();
    expect(await storeAndSee(cache, cache, key, answer, 200)).toEqual(answer);
    await eventually(async () => (await cache.get(key)) === undefined, 10_000, 'entry expired');
  });

  it('shares entries between replicas, and keeps deployments with other key prefixes apart', async () => {
    const [replicaA, replicaB] = [tier(redis.url), tier(redis.url)];
    const key = newKey();
    expect(await storeAndSee(replicaA, replicaB, key, answer)).toEqual(answer);
    const other = tier(redis.url, { keyPrefix: 'elsewhere:' });
    expect(await other.get(key)).toBeUndefined();
    expect(await redis.command('EXISTS', `modelserve:cache:${key}`)).toBe(':1\r\n');
  });

  it('treats a stored value that does not decode as a miss, with a warning', async () => {
    const logger = recordingLogger();
    const cache = tier(redis.url, { logger });
    await storeAndSee(cache, cache, newKey(), answer);
    const key = newKey();
    expect(await redis.command('SET', `modelserve:cache:${key}`, 'not a cached answer')).toBe('+OK\r\n');
    expect(await cache.get(key)).toBeUndefined();
    expect(logger.lines).toEqual([
      { level: 'warn', fields: expect.objectContaining({ key, reason: expect.stringMatching(/format version/) }), message: expect.stringMatching(/does not decode/) },
    ]);
  });

  it('rejects URLs of other schemes up front', () => {
    expect(() => redisSharedCache('http://127.0.0.1:6379')).toThrow('expected the scheme redis:// or rediss://, got http://');
    expect(() => redisSharedCache('127.0.0.1:6379')).toThrow(/expected .*redis:\/\//);
  });

  it('answers misses while Redis stalls, and works again when it answers', async () => {
    const logger = recordingLogger();
    const cache = tier(redis.url, { logger, timeoutMs: 50 });
    await storeAndSee(cache, cache, newKey(), answer);
    // Redis holds every client's commands until the pause ends; the reply to CLIENT PAUSE means it has begun.
    expect(await redis.command('CLIENT', 'PAUSE', '1500', 'ALL')).toBe('+OK\r\n');
    // One slow answer is only a miss; several in a row make Redis count as unavailable.
    const gets = Array.from({ length: 3 }, () => within(cache.get(newKey()), 10_000, 'get while Redis is paused'));
    expect(await Promise.all(gets)).toEqual([undefined, undefined, undefined]);
    expect(logger.lines).toContainEqual({ level: 'warn', fields: expect.objectContaining({ reason: 'no answer within 50 ms, 3 gets in a row' }), message: unavailable });
    await storeAndSee(cache, cache, newKey(), answer);
    expect(logger.count(recovered)).toBe(1);
  });

  it('answers misses from a server that accepts connections and never replies', async () => {
    const sockets: Socket[] = [];
    const silent = createServer((socket) => void sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as { port: number };
    try {
      const cache = tier(`redis://127.0.0.1:${port}`, { timeoutMs: 50 });
      expect(await within(cache.get(newKey()), 10_000, 'get from a silent server')).toBeUndefined();
      expect(() => cache.set(newKey(), answer, 1000)).not.toThrow();
      expect(await within(cache.get(newKey()), 10_000, 'second get from a silent server')).toBeUndefined();
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });
});

describe('the Redis shared cache tier when Redis is killed mid-run', () => {
  let redis: TestRedis | undefined;
  afterAll(async () => {
    await Promise.all(opened.splice(0).map((t) => t.close()));
    await redis?.stop();
  });

  it('answers every get with a miss, never throws on set, warns once, and recovers when Redis is back on the same port', async () => {
    redis = await startRedis();
    const logger = recordingLogger();
    const cache = tier(redis.url, { logger });
    await storeAndSee(cache, cache, newKey(), answer);
    const { port } = redis;

    await redis.kill();
    for (let round = 0; round < 20; round++) {
      const gets = Array.from({ length: 10 }, (_, i) => within(cache.get(newKey()), 10_000, `get ${i} of round ${round}`));
      for (let i = 0; i < 10; i++) expect(() => cache.set(newKey(), answer, 60_000)).not.toThrow();
      expect(await Promise.all(gets)).toEqual(Array(10).fill(undefined));
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(logger.count(unavailable)).toBe(1);
    expect(logger.lines.find((l) => l.message === unavailable)).toEqual({ level: 'warn', fields: { url: redis.url, reason: expect.any(String) }, message: unavailable });

    redis = await startRedis({ port });
    const key = newKey();
    await eventually(
      async () => {
        cache.set(key, answer, 0);
        return (await cache.get(key)) !== undefined;
      },
      20_000,
      'a set/get round trip on the restarted Redis',
    );
    expect(await cache.get(key)).toEqual(answer);
    expect(logger.count(recovered)).toBe(1);
    expect(logger.count(unavailable)).toBe(1);
  });
});
