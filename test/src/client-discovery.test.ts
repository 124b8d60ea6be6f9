/**
 * @modelserve/client's discovery against real server processes on loopback ports: replicas added
 * to and removed from a resolver, DNS names, and a rolling restart seen through a resolver.
 */
import { pollingResolver, type ResolvedEndpoint } from '@modelserve/client';
import { describe, expect, it } from 'vitest';
import { eventually } from './support/eventually.js';
import { servedDuring, startReplica, type Replica } from './support/replicas.js';
import { allServing, client, extra, input, load, replicasForFile } from './support/sdk.js';

let repository: string;
let a: Replica, b: Replica, c: Replica;

replicasForFile([0, 0, 0], (fleet) => {
  ({ repository, replicas: [a, b, c] } = fleet);
});

describe('discovery', () => {
  it('sees a replica added to the resolver within the re-resolution period, and sends none to one removed', async () => {
    let list: ResolvedEndpoint[] = [{ address: a.address }, { address: b.address }];
    const target = client({ endpoints: pollingResolver(async () => list, 200), policy: 'round_robin' });
    await allServing(target, 2);
    list = [...list, { address: c.address }];
    await eventually(() => target.stats().endpoints.some((e) => e.address === c.address && e.health === 'SERVING'), 10_000, 'c added');
    let served = await servedDuring([a, b, c], async () => expect(await load(target, 90, 6)).toEqual([]));
    expect(served[2]).toBeGreaterThan(20);
    list = list.filter((e) => e.address !== c.address);
    await eventually(() => !target.addresses.includes(c.address), 10_000, 'c removed');
    served = await servedDuring([a, b, c], async () => expect(await load(target, 90, 6)).toEqual([]));
    expect(served[2]).toBe(0);
  });

  it('resolves dns:///localhost:port to the replica (and re-resolves on a timer)', async () => {
    const port = a.address.split(':').pop()!;
    const target = client({ endpoints: `dns:///localhost:${port}`, resolveIntervalMs: 200 });
    const result = await target.predict('tiny_mlp', input(1));
    expect(result.endpoint).toBe(`127.0.0.1:${port}`);
  });
});

describe('rolling restart', () => {
  it('loses no call while each of three replicas is drained with SIGTERM and replaced in turn', async () => {
    const fleet = await Promise.all([startReplica(repository), startReplica(repository), startReplica(repository)]);
    extra.push(...fleet);
    let list: ResolvedEndpoint[] = fleet.map((r) => ({ address: r.address }));
    const target = client({ endpoints: pollingResolver(async () => list, 200), policy: 'least_request' });
    await allServing(target, 3);
    const failures: string[] = [];
    let answered = 0;
    let stop = false;
    const traffic = Promise.all(
      Array.from({ length: 16 }, async (_, worker) => {
        for (let i = 0; !stop; i++) {
          await target.predict('tiny_mlp', input(worker * 1_000_000 + i)).then(
            () => answered++,
            (e: Error) => failures.push(e.message),
          );
        }
      }),
    );
    // After each step, traffic flows again before the next (answers counted, not a clock waited).
    const progress = async (what: string): Promise<void> => {
      const mark = answered;
      await eventually(() => answered >= mark + 100 || failures.length > 0, 30_000, `100 answers after ${what}`);
    };
    await progress('the start');
    for (let i = 0; i < fleet.length; i++) {
      const old = fleet[i]!;
      const fresh = await startReplica(repository);
      extra.push(fresh);
      list = [...list, { address: fresh.address }];
      // Drained before discovery drops it, as when Kubernetes signals a pod: NOT_SERVING at once,
      // accepted calls finish, new ones are refused (the SDK retries them elsewhere), then exit.
      await old.stop('SIGTERM');
      list = list.filter((e) => e.address !== old.address);
      await progress(`replacing replica ${i}`);
    }
    stop = true;
    await traffic;
    expect(failures).toEqual([]);
    expect(answered).toBeGreaterThanOrEqual(400);
  }, 120_000);
});
