/**
 * @modelserve/client's view of replica health against real server processes on loopback ports:
 * health watches, retries when a replica is killed, outlier ejection, and a drain by admin call.
 */
import { describe, expect, it } from 'vitest';
import { eventually } from './support/eventually.js';
import { servedDuring, startReplica, type Replica } from './support/replicas.js';
import { allServing, client, extra, input, load, replicasForFile } from './support/sdk.js';
import { unary } from './support/server.js';

let repository: string;
let a: Replica, b: Replica, c: Replica;

replicasForFile([0, 0, 0], (fleet) => {
  ({ repository, replicas: [a, b, c] } = fleet);
});

describe('health', () => {
  it('takes a server without the health service as serving', async () => {
    const { loadPackageDefinition, Server, ServerCredentials } = await import('@grpc/grpc-js');
    const { loadGrpcObject } = await import('@modelserve/proto');
    const bare = new Server();
    bare.addService(loadGrpcObject(loadPackageDefinition).modelserve.v1.Predictor.service, {
      Predict: (call: { request: { model_name: string } }, callback: (e: null, r: object) => void) => callback(null, { model_name: call.request.model_name, model_version: '1', outputs: [] }),
      PredictStream: () => undefined,
    } as never);
    const port = await new Promise<number>((resolve, reject) => bare.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
    try {
      const target = client({ endpoints: `127.0.0.1:${port}` });
      await allServing(target, 1);
      await new Promise((r) => setTimeout(r, 300)); // past the watch's first retry, had it ended
      for (let i = 0; i < 5; i++) expect((await target.predict('anything', input(i))).model).toBe('anything');
      expect(target.stats().endpoints[0]!.health).toBe('SERVING');
    } finally {
      bare.forceShutdown();
    }
  });

  it('sends no new calls to a NOT_SERVING replica once its health watch says so, and calls again once it serves', async () => {
    const rr = client({ endpoints: [a.address, b.address, c.address], policy: 'round_robin' });
    await allServing(rr, 3);
    await b.setServing(false);
    try {
      const health = () => rr.stats().endpoints.find((e) => e.address === b.address)!.health;
      await eventually(() => health() === 'NOT_SERVING', 10_000, 'b NOT_SERVING');
      const served = await servedDuring([a, b, c], async () => expect(await load(rr, 200, 8)).toEqual([]));
      expect(served).toEqual([100, 0, 100]);
    } finally {
      await b.setServing(true);
    }
    await allServing(rr, 3);
    const served = await servedDuring([a, b, c], async () => expect(await load(rr, 150, 8)).toEqual([]));
    expect(served[1]).toBeGreaterThan(30);
  });
});

describe('failure', () => {
  it('loses no call when a replica is killed with SIGKILL under 32 calls in flight, retrying within the budget', async () => {
    const victim = await startReplica(repository);
    extra.push(victim);
    const target = client({ endpoints: [a.address, b.address, victim.address], policy: 'least_request' });
    await allServing(target, 3);
    const failures: Error[] = [];
    let answered = 0;
    let answeredAtKill: number | undefined;
    const victimInflight = () => target.stats().endpoints.find((e) => e.address === victim.address)!.inflight;
    // Killed once 300 calls are answered and some are in flight on it; traffic goes on for 1,000
    // answers after that (counts, not a clock, so a busy machine only makes it slower).
    const kill = (): void => {
      if (answeredAtKill !== undefined || answered < 300 || victimInflight() === 0) return;
      answeredAtKill = answered;
      victim.process.kill('SIGKILL');
    };
    await Promise.all(
      Array.from({ length: 32 }, async (_, worker) => {
        for (let i = 0; answeredAtKill === undefined || answered < answeredAtKill + 1000; i++) {
          await target.predict('tiny_mlp', input(worker * 100_000 + i)).then(
            () => answered++,
            (error: Error) => failures.push(error),
          );
          kill();
        }
      }),
    );
    expect(failures.map((f) => f.message)).toEqual([]);
    expect(answered).toBeGreaterThanOrEqual(1300);
    await eventually(() => target.stats().endpoints.find((e) => e.address === victim.address)!.health === 'UNREACHABLE', 10_000, 'victim UNREACHABLE');
    const stats = target.stats();
    // Calls in flight on the killed replica were retried elsewhere; gRPC's budget (100 tokens,
    // retries while more than 50 remain) allows at most 50 + 0.1 per success.
    expect(stats.retries).toBeGreaterThan(0);
    expect(stats.retries).toBeLessThanOrEqual(50 + 0.1 * answered);
    expect(stats.retriesRefused).toBe(0);
  }, 60_000);

  it('ejects a replica whose calls keep failing, and takes it back after the ejection time', async () => {
    // A replica that answers UNAVAILABLE: its model is unloaded.
    const broken = await startReplica(repository);
    extra.push(broken);
    await new Promise<void>((resolve, reject) => broken.admin.UnloadModel({ name: 'tiny_mlp' }, (e) => (e ? reject(e) : resolve())));
    const target = client({
      endpoints: [a.address, broken.address],
      policy: 'round_robin',
      retry: false,
      outlierDetection: { consecutiveFailures: 3, baseEjectionMs: 500 },
    });
    await allServing(target, 2);
    const ejected = () => target.stats().endpoints.find((e) => e.address === broken.address)!.ejected;
    // One call at a time; for each failed one, when it started and when it ended.
    const failed: Array<{ start: number; end: number }> = [];
    let ejectedAfterThird = false;
    for (let i = 0; i < 40; i++) {
      const start = performance.now();
      await target.predict('tiny_mlp', input(i)).catch(() => {
        failed.push({ start, end: performance.now() });
        if (failed.length === 3) ejectedAfterThird = ejected();
      });
    }
    // Three failures in a row eject it: from then on calls go to the healthy replica, and the
    // broken one gets another only once 500 ms have passed since the third failure began (a busy
    // machine may let that happen within the 40 calls, and only after the ejection ended).
    expect(failed.length).toBeGreaterThanOrEqual(3);
    expect(ejectedAfterThird).toBe(true);
    for (const later of failed.slice(3)) expect(later.end - failed[2]!.start).toBeGreaterThanOrEqual(500);
    await eventually(() => !ejected(), 10_000, 'taken back after the ejection');
  });
});

describe('drain by admin call', () => {
  it('ModelAdmin/Drain turns the replica NOT_SERVING, finishes calls in flight, and the process exits', async () => {
    const replica = await startReplica(repository, 500);
    extra.push(replica);
    const target = client({ endpoints: [replica.address], retry: false });
    await allServing(target, 1);
    const inFlight = target.predict('tiny_mlp', input(1)); // answered 500 ms after its run
    // Counted once its run is done, before the added delay: the call is accepted by then.
    await eventually(async () => (await replica.served()) === 1, 10_000, 'the call accepted');
    const exited = new Promise<number | null>((resolve) => replica.process.once('exit', resolve));
    await unary((cb) => replica.admin.Drain({ grace_ms: 5000 }, cb));
    expect((await inFlight).outputs['output']!.shape).toEqual([1, 3]);
    expect(await exited).toBe(0);
    await eventually(() => target.stats().endpoints[0]!.health !== 'SERVING', 10_000, 'not serving after drain');
  });
});
