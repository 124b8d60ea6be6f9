import { describe, expect, it } from 'vitest';
import { Cancellation } from './cancellation.js';
import { ResponseCache, responseCacheKey } from './response-cache.js';
import type { NamedTensor } from './tensor.js';

const fp32 = (name: string, values: number[], shape = [1, values.length]): NamedTensor => ({ name, datatype: 'FP32', shape, data: Float32Array.from(values) });
const config = { max_bytes: 1_000_000, ttl_s: 0, coalesce: true };

/** A run that settles when told to, counting how often it was started and what signal it got. */
function deferredRun() {
  let settle: (outputs: NamedTensor[]) => void = () => undefined;
  let fail: (error: Error) => void = () => undefined;
  const runs: Array<Cancellation | undefined> = [];
  const run = (signal: Cancellation | undefined): Promise<NamedTensor[]> => {
    runs.push(signal);
    return new Promise((resolve, reject) => {
      settle = resolve;
      fail = reject;
    });
  };
  return { run, runs, settle: (o: NamedTensor[]) => settle(o), fail: (e: Error) => fail(e) };
}

describe('responseCacheKey', () => {
  const key = (inputs: NamedTensor[], outputs: string[] = [], version = 1, digest = 'd1') => responseCacheKey('m', version, digest, inputs, outputs);
  it('is 128 bits, the same for the same request whatever the order of its inputs and outputs', () => {
    const a = key([fp32('x', [1, 2]), fp32('y', [3])], ['p', 'q']);
    expect(a).toMatch(/^[0-9a-f]{32}$/);
    expect(key([fp32('y', [3]), fp32('x', [1, 2])], ['q', 'p'])).toBe(a);
  });
  it('differs by version, file digest, name, datatype, shape, bytes and outputs asked for', () => {
    const base = key([fp32('x', [1, 2])]);
    const others = [
      key([fp32('x', [1, 2])], [], 2),
      key([fp32('x', [1, 2])], [], 1, 'd2'),
      key([fp32('z', [1, 2])]),
      key([{ name: 'x', datatype: 'INT32', shape: [1, 2], data: new Int32Array(new Float32Array([1, 2]).buffer) }]),
      key([fp32('x', [1, 2], [2, 1])]),
      key([fp32('x', [1, 3])]),
      key([fp32('x', [1, 2])], ['y']),
    ];
    expect(new Set([base, ...others]).size).toBe(others.length + 1);
  });
  it('tells BYTES elements apart by their boundaries', () => {
    const bytes = (parts: string[]): NamedTensor => ({ name: 's', datatype: 'BYTES', shape: [parts.length], data: parts.map((p) => Buffer.from(p)) });
    expect(key([bytes(['ab', 'c'])])).not.toBe(key([bytes(['a', 'bc'])]));
  });
});

describe('ResponseCache', () => {
  it('runs identical requests in flight once; a cancelled or late one does not touch the others', async () => {
    const cache = new ResponseCache(config, undefined);
    const d = deferredRun();
    const leaderSignal = new Cancellation();
    const leader = cache.answer('k', { signal: leaderSignal }, d.run);
    const follower = cache.answer('k', {}, d.run);
    const late = cache.answer('k', { deadline: Date.now() - 1 }, d.run);
    expect([leader.outcome, follower.outcome, late.outcome]).toEqual(['miss', 'coalesced', 'coalesced']);
    expect(d.runs).toHaveLength(1);
    leaderSignal.cancel();
    await expect(leader.answer).rejects.toMatchObject({ errorCode: 'Cancelled' });
    await expect(late.answer).rejects.toMatchObject({ errorCode: 'DeadlineExceeded' });
    expect(d.runs[0]!.aborted).toBe(false); // the follower still waits
    const outputs = [fp32('y', [7])];
    d.settle(outputs);
    expect(await follower.answer).toEqual({ outputs, cached: false });
    const hit = cache.answer('k', {}, d.run);
    expect(hit.outcome).toBe('hit');
    expect(await hit.answer).toEqual({ outputs, cached: true });
    expect(cache.stats()).toMatchObject({ hits: 1, misses: 1, coalesced: 2, entries: 1 });
  });

  it('cancels the shared run once every request waiting for it has given up, and stores no failure', async () => {
    const cache = new ResponseCache(config, undefined);
    const d = deferredRun();
    const [a, b] = [new Cancellation(), new Cancellation()];
    const first = cache.answer('k', { signal: a }, d.run);
    const second = cache.answer('k', { signal: b }, d.run);
    a.cancel();
    expect(d.runs[0]!.aborted).toBe(false);
    b.cancel();
    expect(d.runs[0]!.aborted).toBe(true);
    await expect(first.answer).rejects.toMatchObject({ errorCode: 'Cancelled' });
    await expect(second.answer).rejects.toMatchObject({ errorCode: 'Cancelled' });
    d.fail(new Error('cancelled run'));
    await new Promise((r) => setImmediate(r));
    expect(cache.answer('k', {}, d.run).outcome).toBe('miss');
    expect(d.runs).toHaveLength(2);
  });

  it('keeps within max_bytes, evicting the least recently used, and stores no entry over a tenth of it', async () => {
    const cache = new ResponseCache({ ...config, max_bytes: 10_000 }, undefined);
    const value = (n: number) => [fp32('y', new Array<number>(n).fill(1))];
    for (let i = 0; i < 20; i++) await cache.answer(`k${i}`, {}, async () => value(100)).answer; // ~740 bytes each: 20 are more than the budget
    const stats = cache.stats();
    expect(stats.bytes).toBeLessThanOrEqual(10_000);
    expect(stats.evictions).toBeGreaterThan(0);
    expect(cache.answer('k19', {}, async () => value(100)).outcome).toBe('hit');
    expect(cache.answer('k0', {}, async () => value(100)).outcome).toBe('miss');
    await cache.answer('big', {}, async () => value(600)).answer; // 2.7 KB, over a tenth of the budget
    expect(cache.answer('big', {}, async () => value(600)).outcome).toBe('miss');
  });
});
