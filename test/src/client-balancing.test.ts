/**
 * @modelserve/client's balancing policies against real server processes on loopback ports: how
 * each spreads calls, around a slow replica and one that does not answer, and the README's example.
 */
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { promisify } from 'node:util';
import type { PolicyName } from '@modelserve/client';
import { describe, expect, it } from 'vitest';
import { eventually } from './support/eventually.js';
import { servedDuring, type Replica } from './support/replicas.js';
import { allServing, client, input, load, replicasForFile, withHeld } from './support/sdk.js';

let a: Replica, b: Replica, c: Replica, slow: Replica;

replicasForFile([0, 0, 0, 40], (fleet) => {
  ({ replicas: [a, b, c, slow] } = fleet);
});

describe('balancing', () => {
  it('round_robin splits evenly (±10%)', async () => {
    const rr = client({ endpoints: [a.address, b.address, c.address], policy: 'round_robin' });
    await allServing(rr, 3);
    const served = await servedDuring([a, b, c], async () => expect(await load(rr, 600, 8)).toEqual([]));
    for (const n of served) expect(Math.abs(n - 200)).toBeLessThanOrEqual(20);
  });

  it('weighted_round_robin with weights 3:1:1 gives 60/20/20 (±5%)', async () => {
    const wrr = client({ endpoints: [{ address: a.address, weight: 3 }, { address: b.address, weight: 1 }, { address: c.address, weight: 1 }], policy: 'weighted_round_robin' });
    await allServing(wrr, 3);
    const served = await servedDuring([a, b, c], async () => expect(await load(wrr, 500, 8)).toEqual([]));
    const total = served.reduce((x, y) => x + y, 0);
    expect(total).toBe(500);
    served.forEach((n, i) => expect(Math.abs(n / total - [0.6, 0.2, 0.2][i]!)).toBeLessThanOrEqual(0.05));
  });

  for (const policy of ['least_request', 'peak_ewma'] as PolicyName[]) {
    it(`${policy} lets a replica that does not answer take at most 8 of 400 calls at 16 in flight (round_robin: a third)`, async () => {
      // The slowest replica there is: it holds every call until released, so its share does not
      // depend on how busy the machine makes the fast ones. Why at most 8, whatever the timing:
      // - least_request (power of two choices) gives the held replica, with k calls held, a new call
      //   only when the other candidate has at least k in flight. A worker picks after its previous
      //   call ended, so at most 15 others are in flight: k <= 15 - k, so k <= 7 before the pick and
      //   at most 8 after. (In the first burst of 16 picks, before any answer, fewer are in flight.)
      // - peak_ewma costs the held replica 0 with nothing in flight and 1e9 + k with k, since it never
      //   answers; a replica that has answered costs latency x (in flight + 1), far below 1e9. So it
      //   gains a call only against one that has not answered yet and has at least k in flight:
      //   the same condition, the same bound.
      const held = await withHeld();
      const balanced = client({ endpoints: [a.address, b.address, held.address], policy });
      await allServing(balanced, 3);
      const count = 400;
      let next = 0;
      let answered = 0;
      const failures: Error[] = [];
      const workers = Promise.all(
        Array.from({ length: 16 }, async () => {
          while (next < count) {
            const i = next++;
            await balanced.predict('tiny_mlp', input(i)).then(
              () => answered++,
              (error: Error) => failures.push(error),
            );
          }
        }),
      );
      // Every call is either answered by a fast replica or held: wait until all are accounted for.
      await eventually(() => answered + held.runs() + failures.length === count, 30_000, 'every call answered or held');
      const heldCalls = held.runs();
      held.release();
      await workers;
      expect(failures).toEqual([]);
      expect(heldCalls).toBeLessThanOrEqual(8);
      // It was in rotation: with nothing in flight it is a candidate in 2 of 3 picks and then wins
      // against a busy replica and half the ties, so it misses all 400 with probability <= (2/3)^400 < 1e-70.
      expect(heldCalls).toBeGreaterThanOrEqual(1);
    });
  }

  it('round_robin, for comparison, sends the slow replica about a third', async () => {
    const rr = client({ endpoints: [a.address, b.address, slow.address], policy: 'round_robin' });
    await allServing(rr, 3);
    const served = await servedDuring([a, b, slow], async () => expect(await load(rr, 150, 16)).toEqual([]));
    expect(Math.abs(served[2]! / 150 - 1 / 3)).toBeLessThan(0.05);
  });

  it('random spreads calls over every replica', async () => {
    // Each replica's count is Binomial(300, 1/3): mean 100, sd 8.2; 50 or fewer has probability
    // 6.8e-11 per replica.
    const random = client({ endpoints: [a.address, b.address, c.address], policy: 'random' });
    await allServing(random, 3);
    const served = await servedDuring([a, b, c], async () => expect(await load(random, 300, 8)).toEqual([]));
    for (const n of served) expect(n).toBeGreaterThan(50);
  });
});

describe('the README examples', () => {
  // packages/client/examples/policies.mjs, as the README runs it, once per policy.
  const example = path.join(path.dirname(createRequire(import.meta.url).resolve('@modelserve/client')), '..', 'examples', 'policies.mjs');
  for (const policy of ['round_robin', 'weighted_round_robin', 'least_request', 'peak_ewma', 'random']) {
    it(`runs ${policy} across three replicas`, async () => {
      const { stdout } = await promisify(execFile)(process.execPath, [example, policy, a.address, b.address, c.address]);
      const calls = [...stdout.matchAll(/127\.0\.0\.1:\d+ (\d+)/g)].map((m) => Number(m[1]));
      expect(stdout.startsWith(`${policy}: `)).toBe(true);
      expect(calls).toHaveLength(3);
      expect(calls.reduce((x, y) => x + y, 0)).toBe(300);
      // The example starts once every replica's health watch says SERVING, so the spread is exact.
      if (policy === 'round_robin') expect(calls).toEqual([100, 100, 100]);
      if (policy === 'weighted_round_robin') expect(calls).toEqual([180, 60, 60]);
    });
  }
});
