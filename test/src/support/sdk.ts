/**
 * What the client SDK's test files (client-*.test.ts) share: tiny_mlp replicas for a file's tests,
 * and the clients, held replicas and replicas those tests start, all closed by `closeAll` after the
 * file's tests.
 */
import { rm } from 'node:fs/promises';
import { createClient, type ModelServeClient } from '@modelserve/client';
import { afterAll, beforeAll } from 'vitest';
import { eventually } from './eventually.js';
import { startHeldReplica, type HeldReplica } from './held.js';
import { startReplica, tinyRepository, type Replica } from './replicas.js';
import { sampleValues } from './tensors.js';

const repositories: string[] = [];
const replicas: Replica[] = [];
/** Replicas a test starts itself: pushed here, they are stopped by `closeAll`. */
export const extra: Replica[] = [];
const helds: HeldReplica[] = [];
const clients: ModelServeClient[] = [];

/** A file's replicas: the repository they serve, and one replica per inference delay asked for. */
export interface Fleet<D extends readonly number[]> {
  repository: string;
  replicas: { -readonly [K in keyof D]: Replica };
}

/**
 * For the calling test file: before its tests, a tiny_mlp repository and one replica serving it per
 * entry of `delaysMs` (its inference delay, 0 for none), handed to `take`; after them, `closeAll`.
 */
export function replicasForFile<const D extends readonly number[]>(delaysMs: D, take: (fleet: Fleet<D>) => void): void {
  beforeAll(async () => take(await startReplicas(delaysMs)), 60_000);
  afterAll(closeAll);
}

async function startReplicas<const D extends readonly number[]>(delaysMs: D): Promise<Fleet<D>> {
  const repository = await tinyRepository();
  repositories.push(repository);
  const started = await Promise.all(delaysMs.map((delayMs) => startReplica(repository, delayMs)));
  replicas.push(...started);
  return { repository, replicas: started as Fleet<D>['replicas'] };
}

/** Closes every client, stops every replica, and removes the repositories. */
export async function closeAll(): Promise<void> {
  await Promise.all(clients.map((client) => client.close()));
  await Promise.all([...replicas, ...extra, ...helds].map((r) => r.stop()));
  await Promise.all(repositories.map((repository) => rm(repository, { recursive: true, force: true })));
}

/** A client, closed by `closeAll`. */
export function client(options: Parameters<typeof createClient>[0]): ModelServeClient {
  const created = createClient(options);
  clients.push(created);
  return created;
}

/** tiny_mlp's inputs for one row, from a seed. */
export const input = (seed: number) => ({ input: { data: sampleValues(4, seed), shape: [1, 4] } });

/** `count` predictions, `concurrency` at a time; returns the failures. */
export async function load(target: ModelServeClient, count: number, concurrency: number): Promise<Error[]> {
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

/** A held replica (see support/held.ts), stopped by `closeAll`. */
export async function withHeld(): Promise<HeldReplica> {
  const held = await startHeldReplica();
  helds.push(held);
  return held;
}

/** Waits until the client sees every endpoint SERVING. */
export async function allServing(target: ModelServeClient, n: number): Promise<void> {
  await eventually(() => target.stats().endpoints.filter((e) => e.health === 'SERVING').length === n, 10_000, `${n} endpoints SERVING`);
}
