/**
 * @modelserve/client against real server processes on loopback ports: balancing, health, outlier
 * ejection and retries, discovery, streams, and the in-process twin.
 */
import { execFile } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { promisify } from 'node:util';
import { bundledRepository } from '@modelserve/cli';
import { createClient, pollingResolver, status, type ModelServeClient, type PolicyName, type ResolvedEndpoint, type StreamRequest } from '@modelserve/client';
import { createLocalPredictor } from '@modelserve/client/local';
import { demoTinyMlp } from '@modelserve/model-zoo';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from './support/eventually.js';
import { startHeldReplica, type HeldReplica } from './support/held.js';
import { servedDuring, startReplica, tinyRepository, type Replica } from './support/replicas.js';
import { startTestServer, unary } from './support/server.js';
import { sampleValues } from './support/tensors.js';

let repository: string;
let a: Replica, b: Replica, c: Replica, slow: Replica;
const extra: Replica[] = [];
const helds: HeldReplica[] = [];
const clients: ModelServeClient[] = [];

beforeAll(async () => {
  repository = await tinyRepository();
  [a, b, c, slow] = await Promise.all([startReplica(repository), startReplica(repository), startReplica(repository), startReplica(repository, 40)]);
}, 60_000);

afterAll(async () => {
  await Promise.all(clients.map((client) => client.close()));
  await Promise.all([a, b, c, slow, ...extra, ...helds].filter((r) => r !== undefined).map((r) => r.stop()));
  await rm(repository, { recursive: true, force: true });
});

function client(options: Parameters<typeof createClient>[0]): ModelServeClient {
  const created = createClient(options);
  clients.push(created);
  return created;
}

const input = (seed: number) => ({ input: { data: sampleValues(4, seed), shape: [1, 4] } });

/** `count` predictions, `concurrency` at a time; returns the failures. */
async function load(target: ModelServeClient, count: number, concurrency: number): Promise<Error[]> {
  const failures: Error[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const i = next++;
        await target.predict('tiny_mlp', input(i)).catch((error: Error) => failures.push(error));
      }
    }),
  );
  return failures;
}

/** A held replica (see support/held.ts), stopped after the file's tests. */
async function withHeld(): Promise<HeldReplica> {
  const held = await startHeldReplica();
  helds.push(held);
  return held;
}

/** Waits until the client sees every endpoint SERVING. */
async function allServing(target: ModelServeClient, n: number): Promise<void> {
  await eventually(() => target.stats().endpoints.filter((e) => e.health === 'SERVING').length === n, 10_000, `${n} endpoints SERVING`);
}

describe('predict', () => {
  it('answers as the reference evaluator does, with typed outputs and the endpoint that answered', async () => {
    const remote = client({ endpoints: a.address });
    const x = sampleValues(8, 3);
    const result = await remote.predict('tiny_mlp', { input: { data: x, shape: [2, 4] } }, { id: 'r1' });
    expect(result).toMatchObject({ model: 'tiny_mlp', version: '1', id: 'r1', endpoint: a.address });
    const y = result.outputs['output']!;
    expect(y.datatype).toBe('FP32');
    expect(y.shape).toEqual([2, 3]);
    const expected = demoTinyMlp().forward(x, 2);
    (y.data as Float32Array).forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 5));
  });

  it('reports errors as ModelServeError with the code, details and endpoint', async () => {
    const remote = client({ endpoints: a.address });
    const error = await remote.predict('tiny_mlp', { input: { data: [1, 2, 3], shape: [1, 3] } }).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'ModelServeError', code: status.INVALID_ARGUMENT, codeName: 'INVALID_ARGUMENT', endpoint: a.address });
    expect((error as Error).message).toContain("input 'input'");
  });

  it('honours an AbortSignal and a deadline', async () => {
    // A replica that answers nothing until released: the abort and the deadline come first by construction.
    const held = await withHeld();
    const remote = client({ endpoints: held.address });
    const controller = new AbortController();
    const aborted = remote.predict('tiny_mlp', input(1), { signal: controller.signal }).catch((e: unknown) => e);
    await eventually(() => held.runs() === 1, 10_000, 'the call reached the model');
    controller.abort();
    expect(await aborted).toMatchObject({ code: status.CANCELLED });
    expect(await remote.predict('tiny_mlp', input(1), { timeoutMs: 10 }).catch((e: unknown) => e)).toMatchObject({ code: status.DEADLINE_EXCEEDED });
  });

  it('hedges: a second attempt on another replica answers when the first does not', async () => {
    const held = await withHeld();
    const hedged = client({ endpoints: [held.address, a.address], policy: 'round_robin', hedging: { delayMs: 5 } });
    await allServing(hedged, 2);
    // Every other first attempt goes to the held replica, which never answers while the calls run:
    // only the hedge to the other replica can answer them (without hedging they would hang until
    // their 30 s deadline).
    for (let i = 0; i < 6; i++) expect((await hedged.predict('tiny_mlp', input(i))).endpoint).toBe(a.address);
  });

  it('lists models and metadata', async () => {
    const remote = client({ endpoints: [a.address, b.address] });
    expect(await remote.models()).toEqual([{ name: 'tiny_mlp', defaultVersion: '1', versions: [{ version: '1', state: 'READY', reason: '' }] }]);
    expect(await remote.metadata('tiny_mlp')).toMatchObject({ name: 'tiny_mlp', version: '1', maxBatchSize: 8, inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 4] }] });
  });
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

describe('datatypes through the SDK', () => {
  it('sends and receives every datatype exactly, remote and in-process alike', async () => {
    const server = await startTestServer({ modelRepository: bundledRepository });
    const local = await createLocalPredictor({ modelRepository: bundledRepository });
    const remote = client({ endpoints: server.server.address });
    const sent = {
      in_bool: { data: [true, false], datatype: 'BOOL' as const },
      in_uint8: Uint8Array.of(0, 255),
      in_uint16: Uint16Array.of(0, 65535),
      in_uint32: Uint32Array.of(0, 2 ** 32 - 1),
      in_uint64: BigUint64Array.of(0n, 2n ** 64n - 1n),
      in_int8: Int8Array.of(-128, 127),
      in_int16: Int16Array.of(-32768, 32767),
      in_int32: Int32Array.of(-(2 ** 31), 2 ** 31 - 1),
      in_int64: BigInt64Array.of(-(2n ** 63n), 2n ** 63n - 1n),
      in_float16: { data: Uint16Array.of(0x3c00, 0xc000), datatype: 'FP16' as const },
      in_float32: { data: Float32Array.of(1.5, -2.25), shape: [2] },
      in_float64: Float64Array.of(Math.PI, -0),
      in_string: { data: ['hé', ''], shape: [2] },
    };
    const expected = {
      out_bool: { datatype: 'BOOL', shape: [2], data: Uint8Array.of(1, 0) },
      out_uint8: { datatype: 'UINT8', shape: [2], data: Uint8Array.of(0, 255) },
      out_uint16: { datatype: 'UINT16', shape: [2], data: Uint16Array.of(0, 65535) },
      out_uint32: { datatype: 'UINT32', shape: [2], data: Uint32Array.of(0, 2 ** 32 - 1) },
      out_uint64: { datatype: 'UINT64', shape: [2], data: BigUint64Array.of(0n, 2n ** 64n - 1n) },
      out_int8: { datatype: 'INT8', shape: [2], data: Int8Array.of(-128, 127) },
      out_int16: { datatype: 'INT16', shape: [2], data: Int16Array.of(-32768, 32767) },
      out_int32: { datatype: 'INT32', shape: [2], data: Int32Array.of(-(2 ** 31), 2 ** 31 - 1) },
      out_int64: { datatype: 'INT64', shape: [2], data: BigInt64Array.of(-(2n ** 63n), 2n ** 63n - 1n) },
      out_float16: { datatype: 'FP16', shape: [2], data: Uint16Array.of(0x3c00, 0xc000) },
      out_float32: { datatype: 'FP32', shape: [2], data: Float32Array.of(1.5, -2.25) },
      out_float64: { datatype: 'FP64', shape: [2], data: Float64Array.of(Math.PI, -0) },
      out_string: { datatype: 'BYTES', shape: [2], data: ['hé', ''] },
    };
    try {
      for (const predictor of [remote, local]) {
        const { outputs } = await predictor.predict('datatypes', sent);
        expect(Object.keys(outputs).sort()).toEqual(Object.keys(expected).sort());
        for (const [name, tensor] of Object.entries(expected)) expect(outputs[name], name).toEqual(tensor);
        expect(Object.is((outputs['out_float64']!.data as Float64Array)[1], -0)).toBe(true);
      }
    } finally {
      await local.close();
      await server.close();
    }
  }, 60_000);
});

describe('the in-process twin', () => {
  it('gives the same outputs as the remote client for the demo models', async () => {
    const server = await startTestServer({ modelRepository: bundledRepository });
    const local = await createLocalPredictor({ modelRepository: bundledRepository });
    const remote = client({ endpoints: server.server.address });
    try {
      expect(await local.models()).toEqual(await remote.models());
      const cases = [
        { model: 'mnist_mlp', inputs: { input: { data: sampleValues(2 * 784, 5), shape: [2, 784] } } },
        { model: 'mnist_cnn', inputs: { input: { data: sampleValues(784, 6), shape: [1, 1, 28, 28] } } },
        { model: 'tiny_mlp', inputs: { input: { data: [5.1, 3.5, 1.4, 0.2], shape: [1, 4] } } },
      ];
      for (const { model, inputs } of cases) {
        const [l, r] = await Promise.all([local.predict(model, inputs, { id: 'x' }), remote.predict(model, inputs, { id: 'x' })]);
        expect({ ...l, endpoint: '' }).toEqual({ ...r, endpoint: '' });
        expect(await local.metadata(model)).toEqual(await remote.metadata(model));
      }
      const localStream: string[] = [];
      for await (const result of local.predictStream('tiny_mlp', [{ inputs: input(1) }, { id: 'bad', inputs: { nope: { data: [1], shape: [1] } } }])) localStream.push(`${result.id}:${result.ok}`);
      expect(localStream.sort()).toEqual(['0:true', 'bad:false']);
    } finally {
      await local.close();
      await server.close();
    }
  }, 60_000);
});
