/**
 * @modelserve/client's predictStream against real server processes on loopback ports: answers,
 * backpressure, and re-opening on another replica when its replica dies or drains.
 */
import { status, type StreamRequest } from '@modelserve/client';
import { describe, expect, it } from 'vitest';
import { startReplica, type Replica } from './support/replicas.js';
import { allServing, client, extra, input, replicasForFile } from './support/sdk.js';

let repository: string;
let a: Replica, b: Replica;

replicasForFile([0, 0], (fleet) => {
  ({ repository, replicas: [a, b] } = fleet);
});

describe('predictStream', () => {
  it('answers every request once, a bad one in-band, honouring maxInflight', async () => {
    const remote = client({ endpoints: [a.address, b.address] });
    async function* requests(): AsyncGenerator<StreamRequest> {
      for (let i = 0; i < 300; i++) {
        yield i === 150 ? { id: 'bad', inputs: { input: { data: [1, 2, 3], shape: [1, 3] } } } : { inputs: input(i) };
      }
    }
    const ids: string[] = [];
    let bad: unknown;
    for await (const result of remote.predictStream('tiny_mlp', requests(), { maxInflight: 16 })) {
      ids.push(result.id);
      if (!result.ok) bad = result.error;
      else expect(result.outputs['output']!.shape).toEqual([1, 3]);
    }
    expect(ids.length).toBe(300);
    expect(new Set(ids).size).toBe(300);
    expect(bad).toMatchObject({ code: status.INVALID_ARGUMENT });
  });
});

describe('predictStream backpressure', () => {
  it('reads the caller’s requests only as fast as the caller reads results', async () => {
    const remote = client({ endpoints: [a.address] });
    let pulled = 0;
    let consumed = 0;
    let ahead = 0;
    function* requests(): Generator<StreamRequest> {
      for (let i = 0; i < 200; i++) {
        pulled++;
        ahead = Math.max(ahead, pulled - consumed);
        yield { inputs: input(i) };
      }
    }
    for await (const result of remote.predictStream('tiny_mlp', requests(), { maxInflight: 8 })) {
      expect(result.ok).toBe(true);
      consumed++;
      if (consumed % 10 === 0) await new Promise((r) => setTimeout(r, 20)); // a slow reader
    }
    expect(consumed).toBe(200);
    // At most maxInflight unanswered plus maxInflight answered and waiting for the reader.
    expect(ahead).toBeLessThanOrEqual(2 * 8 + 1);
  });
});

describe('predictStream when its replica dies', () => {
  it('re-opens on another replica and re-sends what was unanswered: every request answered once, none failed', async () => {
    const victim = await startReplica(repository);
    extra.push(victim);
    const target = client({ endpoints: [victim.address, a.address], policy: 'round_robin' });
    await allServing(target, 2);
    const requests = Array.from({ length: 1000 }, (_, i): StreamRequest => ({ id: String(i), inputs: input(i) }));
    const seen = new Map<string, string>();
    for await (const result of target.predictStream('tiny_mlp', requests, { maxInflight: 32 })) {
      seen.set(result.id, result.ok ? result.endpoint : `error ${result.error.message}`);
      if (seen.size === 200) victim.process.kill('SIGKILL');
    }
    expect(seen.size).toBe(1000);
    const endpoints = [...seen.values()];
    expect(endpoints.filter((e) => e.startsWith('error'))).toEqual([]);
    // The stream started on the victim and finished on the survivor.
    expect(endpoints[0]).toBe(victim.address);
    expect(endpoints.at(-1)).toBe(a.address);
    expect(target.stats().retries).toBeGreaterThanOrEqual(1);
  });
});

describe('predictStream when its replica drains', () => {
  it('is told to end, re-opens on another replica with what was not accepted: every request answered once, none failed', async () => {
    const draining = await startReplica(repository);
    extra.push(draining);
    const target = client({ endpoints: [draining.address, a.address], policy: 'round_robin' });
    await allServing(target, 2);
    const requests = Array.from({ length: 1000 }, (_, i): StreamRequest => ({ id: String(i), inputs: input(i) }));
    const seen = new Map<string, string>();
    let stopped: Promise<unknown> | undefined;
    for await (const result of target.predictStream('tiny_mlp', requests, { maxInflight: 32 })) {
      seen.set(result.id, result.ok ? result.endpoint : `error ${result.error.message}`);
      if (seen.size === 200) stopped = draining.stop('SIGTERM');
    }
    await stopped;
    expect(seen.size).toBe(1000);
    const endpoints = [...seen.values()];
    expect(endpoints.filter((e) => e.startsWith('error'))).toEqual([]);
    expect(endpoints[0]).toBe(draining.address);
    expect(endpoints.at(-1)).toBe(a.address);
  });
});
