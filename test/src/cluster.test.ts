/**
 * `modelserve cluster` with real processes on loopback ports: a load step through the SDK
 * (supervisorResolver, least_request) takes the cluster from 1 replica to 3 and, after it ends,
 * back to 1 with no failed call; a replica killed with SIGKILL is replaced; SIGTERM drains every
 * replica and exits 0. Every wait is on what the supervisor publishes (WatchReplicas) or what the
 * client saw, never on a clock; the time limits only end a run that would hang.
 *
 * Why 3 is deterministic: the model (slowMlp, ~2 ms a run, batching off, one inference thread per
 * replica) keeps 8 calls in flight queued inside the replica, so its load (requests in flight or
 * queued) is near 8 with one replica; with --target 1 the policy wants 8 and --max 3 clamps it.
 * The light load left after the step (1 call at a time, 20 ms apart: a load near 0.1) wants 1.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { credentials, loadPackageDefinition, type ServiceError } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { createClient, supervisorResolver, type ModelServeClient } from '@modelserve/client';
import { slowMlp } from '@modelserve/model-zoo';
import type { ListReplicasResponse__Output } from '@modelserve/proto';
import { protoPath as healthProtoPath } from 'grpc-health-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alive, ClusterWatch, spawnCluster, type ClusterProcess, type TimelineEvent } from './support/cluster.js';
import { eventually } from './support/eventually.js';
import { grpcurlPort, readmeGrpcurlLines, run } from './support/grpcurl.js';
import { sampleValues } from './support/tensors.js';

const model = 'slow_mlp';
let repository: string;
let cluster: ClusterProcess;
let address: string;
let watch: ClusterWatch;
let client: ModelServeClient;

beforeAll(async () => {
  repository = await mkdtemp(path.join(tmpdir(), 'modelserve-cluster-'));
  await mkdir(path.join(repository, model, '1'), { recursive: true });
  await writeFile(path.join(repository, model, '1', 'model.onnx'), slowMlp().bytes);
  await writeFile(path.join(repository, model, 'config.yaml'), 'max_batch_size: 0\ninstances:\n  count: 1\n');
  cluster = spawnCluster([
    '--port', '0',
    '--min', '1',
    '--max', '3',
    '--target', '1',
    '--stable-window-ms', '4000',
    '--panic-window-ms', '1000',
    '--scale-down-delay-ms', '0',
    '--tick-ms', '250',
    '--deregister-delay-ms', '500',
    '--drain-grace-ms', '5000',
    '--model-repository', repository,
    '--',
    '--inference-threads', '1',
    '--load-concurrency', '1',
  ]);
  address = String((await cluster.log((e) => e['msg'] === 'cluster listening'))['address']);
  watch = new ClusterWatch(address);
  await watch.until((w) => w.inState('READY').length === 1, 60_000, 'the first replica READY');
  client = createClient({ endpoints: supervisorResolver(address), policy: 'least_request' });
});

afterAll(async () => {
  await client?.close();
  watch?.close();
  // Whatever the tests left running (all of it if one failed), by pid.
  cluster?.killAll();
  await cluster?.exited;
  if (repository !== undefined) await rm(repository, { recursive: true, force: true });
});

/** A call's outcome, on performance.now()'s clock. */
interface Call {
  atMs: number;
  endpoint?: string;
  error?: Error;
}

/** Closed-loop callers of the model through the SDK, each waiting `pauseMs` between its calls, until `stop`. */
function callers(count: number, pauseMs: number, calls: Call[]): { stop(): Promise<void> } {
  let stopped = false;
  let seed = 0;
  const workers = Array.from({ length: count }, async () => {
    while (!stopped) {
      try {
        const result = await client.predict(model, { input: { data: sampleValues(64, ++seed), shape: [1, 64] } });
        calls.push({ atMs: performance.now(), endpoint: result.endpoint });
      } catch (error) {
        calls.push({ atMs: performance.now(), error: error as Error });
      }
      if (pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
  });
  return {
    async stop() {
      stopped = true;
      await Promise.all(workers);
    },
  };
}

/** The timeline as lines: seconds from `originMs`, pid, state. */
function timeline(events: readonly TimelineEvent[], originMs: number, marks: Array<[number, string]>): string {
  const rows = [...events.map((e) => [e.atMs, `pid ${e.pid} ${e.state}`] as [number, string]), ...marks].sort((a, b) => a[0] - b[0]);
  return rows.map(([atMs, what]) => `${((atMs - originMs) / 1000).toFixed(2).padStart(7)} s  ${what}`).join('\n');
}

const firstEvent = (pid: number, state: TimelineEvent['state']): TimelineEvent | undefined => watch.events.find((e) => e.pid === pid && e.state === state);

type HealthClient = { Check(request: { service: string }, callback: (e: ServiceError | null, r?: { status: string }) => void): void; close(): void };

describe('modelserve cluster', () => {
  it('answers grpc.health.v1 and ListReplicas on its port', async () => {
    const healthPackage = loadPackageDefinition(loadSync(healthProtoPath, { enums: String })) as unknown as {
      grpc: { health: { v1: { Health: new (address: string, creds: ReturnType<typeof credentials.createInsecure>) => HealthClient } } };
    };
    const health = new healthPackage.grpc.health.v1.Health(address, credentials.createInsecure());
    const check = (service: string) => new Promise<string>((resolve, reject) => health.Check({ service }, (e, r) => (e ? reject(e) : resolve(r!.status))));
    expect(await check('')).toBe('SERVING');
    expect(await check('modelserve.v1.Cluster')).toBe('SERVING');
    health.close();
    const list = await new Promise<ListReplicasResponse__Output>((resolve, reject) => watch.client.ListReplicas({}, (e, r) => (e ? reject(e) : resolve(r!))));
    expect(list).toMatchObject({ desired_replicas: 1, panic: false, min_replicas: 1, max_replicas: 3, target_per_replica: 1 });
    expect(list.replicas).toHaveLength(1);
    const [replica] = list.replicas;
    expect(replica).toMatchObject({ state: 'REPLICA_STATE_READY', address: expect.stringMatching(/^127\.0\.0\.1:\d+$/), metrics_address: expect.stringMatching(/^127\.0\.0\.1:\d+$/) });
    expect(cluster.replicaPids.has(replica!.pid)).toBe(true);
    expect(Number(replica!.ready_unix_ms)).toBeGreaterThanOrEqual(Number(replica!.started_unix_ms));
  });

  it('answers the README grpcurl lines addressed to it, reflection listing what it serves', async () => {
    const lines = readmeGrpcurlLines().filter((line) => grpcurlPort(line) === 8000);
    const results = [];
    for (const line of lines) results.push(await run(line, address));
    const listed = results.flatMap((r) => (r.command === 'list' ? [r.services] : []));
    expect(listed).toEqual([['grpc.health.v1.Health', 'grpc.reflection.v1.ServerReflection', 'grpc.reflection.v1alpha.ServerReflection', 'modelserve.v1.Cluster']]);
    const replicaLists = results.flatMap((r) => (r.command === 'invoke' && r.method === 'modelserve.v1.Cluster/ListReplicas' ? [r.result] : []));
    expect(replicaLists).toHaveLength(1);
    expect(replicaLists[0]!.error).toBeUndefined();
    expect(replicaLists[0]!.responses).toMatchObject([{ replicas: [{ state: 'REPLICA_STATE_READY' }], desired_replicas: 1 }]);
  });

  it('scales from 1 to 3 replicas under a load step and back to 1 after it, with no failed call', { timeout: 150_000 }, async () => {
    const [first] = watch.inState('READY');
    const calls: Call[] = [];
    // The light load runs throughout, so calls are in flight while replicas join and drain.
    const light = callers(1, 20, calls);
    await eventually(() => calls.length >= 5, 30_000, 'the first calls');
    const stepStart = performance.now();
    const step = callers(8, 0, calls);
    // 3 READY, and the client has had answers from each of them.
    await watch.until((w) => w.inState('READY').length === 3, 90_000, '3 replicas READY');
    const three = watch.inState('READY').map((r) => r.address);
    await eventually(() => three.every((a) => calls.some((c) => c.endpoint === a)), 30_000, 'answers from all 3 replicas');
    const stepEnd = performance.now();
    await step.stop();
    const stepStopped = performance.now();
    await watch.until((w) => w.inState('READY').length === 1 && w.last!.replicas.length === 1 && w.last!.desired_replicas === 1, 90_000, 'back to 1 replica');
    const backToOne = performance.now();
    await eventually(() => calls.filter((c) => c.atMs > backToOne).length >= 20, 30_000, '20 calls after the scale-down');
    await light.stop();

    const marks: Array<[number, string]> = [[stepStart, '-- load step starts (8 more callers)'], [stepEnd, '-- 3 READY, each has answered: load step ends'], [stepStopped, '-- the step callers have stopped'], [backToOne, '-- back to 1 replica']];
    console.log(`cluster timeline (t = 0: load step starts):\n${timeline(watch.events, stepStart, marks)}\ncalls: ${calls.length}, failed: ${calls.filter((c) => c.error).length}`);
    const scaling = cluster.logs.filter((e) => e['msg'] !== undefined && String(e['msg']).startsWith('scaling'));
    console.log(`scaling decisions:\n${scaling.map((e) => JSON.stringify({ from: e['from'], to: e['to'], loads: e['loads'], panic: e['panic'], stableLoad: e['stableLoad'], panicLoad: e['panicLoad'], limitedBy: e['limitedBy'] })).join('\n')}`);

    expect(calls.filter((c) => c.error !== undefined).map((c) => c.error!.message)).toEqual([]);
    // Calls succeeded in every phase: before the step, during it, while replicas drained, after.
    for (const [from, to] of [[0, stepStart], [stepStart, stepStopped], [stepStopped, backToOne], [backToOne, Infinity]] as const) {
      expect(calls.filter((c) => c.atMs > from && c.atMs <= to).length, `calls between ${from} and ${to}`).toBeGreaterThan(0);
    }
    // Causality: the two new replicas started after the step began and were READY before it ended;
    // every drain began after the step callers stopped, and the cluster was back at 1 after that.
    const added = [...new Set(watch.events.map((e) => e.pid))].filter((pid) => pid !== first!.pid && firstEvent(pid, 'STARTING')!.atMs > stepStart);
    expect(added).toHaveLength(2);
    for (const pid of added) {
      expect(firstEvent(pid, 'READY')!.atMs).toBeGreaterThan(firstEvent(pid, 'STARTING')!.atMs);
      expect(firstEvent(pid, 'READY')!.atMs).toBeLessThanOrEqual(stepEnd);
    }
    const drains = watch.events.filter((e) => e.state === 'DRAINING');
    expect(drains).toHaveLength(2);
    for (const drain of drains) {
      expect(drain.atMs).toBeGreaterThan(stepEnd);
      expect(firstEvent(drain.pid, 'GONE')!.atMs).toBeGreaterThan(drain.atMs);
      expect(firstEvent(drain.pid, 'GONE')!.atMs).toBeLessThanOrEqual(backToOne);
    }
    // The policy's decisions, as the supervisor logged them: up to 3, then down to 1.
    const tos = scaling.map((e) => Number(e['to']));
    expect(tos.indexOf(3)).toBeGreaterThanOrEqual(0);
    expect(tos.lastIndexOf(1)).toBeGreaterThan(tos.indexOf(3));
  });

  it('replaces a replica killed with SIGKILL', { timeout: 90_000 }, async () => {
    const [victim] = watch.inState('READY');
    expect(watch.last!.replicas).toHaveLength(1);
    const killedAt = performance.now();
    process.kill(victim!.pid, 'SIGKILL');
    await watch.until((w) => w.inState('READY').length === 1 && w.inState('READY')[0]!.pid !== victim!.pid && w.last!.replicas.length === 1, 60_000, 'a replacement READY');
    const replacement = watch.inState('READY')[0]!;
    console.log(`replacement timeline (t = 0: SIGKILL to pid ${victim!.pid}):\n${timeline(watch.events.filter((e) => e.atMs >= killedAt), killedAt, [])}`);
    expect(firstEvent(victim!.pid, 'GONE')!.atMs).toBeGreaterThan(killedAt);
    expect(firstEvent(replacement.pid, 'STARTING')!.atMs).toBeGreaterThanOrEqual(firstEvent(victim!.pid, 'GONE')!.atMs);
    expect(cluster.logs.some((e) => e['msg'] === 'replica exited unexpectedly: replacing it' && e['pid'] === victim!.pid && e['exit'] === 'signal SIGKILL')).toBe(true);
    // The SDK follows: once its own WatchReplicas stream has the replacement (not the test's, which
    // may hear first), the next call is answered by the replacement.
    await eventually(() => client.stats().endpoints.map((e) => e.address).join() === replacement.address, 30_000, 'the SDK following the replacement');
    const result = await client.predict(model, { input: { data: sampleValues(64, 1), shape: [1, 64] } });
    expect(result.endpoint).toBe(replacement.address);
  });

  it('drains every replica on SIGTERM and exits 0', { timeout: 60_000 }, async () => {
    cluster.process.kill('SIGTERM');
    expect(await cluster.exited).toBe(0);
    for (const pid of cluster.replicaPids) expect(alive(pid), `replica ${pid}`).toBe(false);
    expect(cluster.logs.at(-1)?.['msg']).toBe('cluster stopped');
  });
});
