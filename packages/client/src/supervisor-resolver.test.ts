/**
 * supervisorResolver against a real grpc-js server answering modelserve.v1.Cluster/WatchReplicas
 * with lists the test sends: READY replicas only, a report per change, a broken watch reported and
 * re-opened with the last list kept, and a clean stop.
 */
import { Server, ServerCredentials, type ServerWritableStream, type ServiceDefinition } from '@grpc/grpc-js';
import { loadPackageDefinition, type ListReplicasResponse, type ReplicaState } from '@modelserve/proto';
import { afterEach, describe, expect, it } from 'vitest';
import { supervisorResolver, type ResolvedEndpoint, type Resolver } from './resolvers.js';
import { eventually } from './testing/servers.js';

/** A Cluster server whose open watches the test writes to. */
interface ClusterServer {
  address: string;
  watches: Array<ServerWritableStream<object, ListReplicasResponse>>;
  /** Watches the server saw cancelled by the client. */
  cancelled: number;
  stop(): void;
}

const servers: ClusterServer[] = [];
const resolvers: Resolver[] = [];
afterEach(() => {
  for (const r of resolvers.splice(0)) r.stop();
  for (const s of servers.splice(0)) s.stop();
});

async function clusterServer(port = 0): Promise<ClusterServer> {
  const server = new Server();
  const service = (loadPackageDefinition() as unknown as Record<string, ServiceDefinition>)['modelserve.v1.Cluster']!;
  const cluster: ClusterServer = {
    address: '',
    watches: [],
    cancelled: 0,
    stop: () => server.forceShutdown(),
  };
  server.addService(service, {
    ListReplicas: () => undefined,
    WatchReplicas: (call: ServerWritableStream<object, ListReplicasResponse>) => {
      cluster.watches.push(call);
      call.on('cancelled', () => cluster.cancelled++);
    },
  });
  const bound = await new Promise<number>((resolve, reject) => server.bindAsync(`127.0.0.1:${port}`, ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  cluster.address = `127.0.0.1:${bound}`;
  servers.push(cluster);
  return cluster;
}

const replica = (port: number, state: ReplicaState) => ({ address: `127.0.0.1:${port}`, state, pid: port });
const list = (...replicas: Array<ReturnType<typeof replica>>): ListReplicasResponse => ({ replicas, desired_replicas: replicas.length });

function watch(address: string): { updates: ResolvedEndpoint[][]; failures: Error[]; resolver: Resolver } {
  const updates: ResolvedEndpoint[][] = [];
  const failures: Error[] = [];
  const resolver = supervisorResolver(address, { firstBackoffMs: 20, maxBackoffMs: 100 });
  resolvers.push(resolver);
  resolver.start(
    (endpoints) => updates.push(endpoints),
    (error) => failures.push(error),
  );
  return { updates, failures, resolver };
}

describe('supervisorResolver', () => {
  it('reports the READY replicas whenever they change, and nothing when only loads or other states change', async () => {
    const server = await clusterServer();
    const { updates, failures } = watch(server.address);
    await eventually(() => server.watches.length === 1, 10_000, 'the watch');
    const stream = server.watches[0]!;
    stream.write(list(replica(1, 'REPLICA_STATE_STARTING')));
    await eventually(() => updates.length === 1, 10_000, 'the first list');
    stream.write(list(replica(1, 'REPLICA_STATE_READY'), replica(2, 'REPLICA_STATE_STARTING')));
    stream.write(list(replica(1, 'REPLICA_STATE_READY'), replica(2, 'REPLICA_STATE_READY')));
    // The same READY set again (a tick's new loads): no report.
    stream.write({ ...list(replica(2, 'REPLICA_STATE_READY'), replica(1, 'REPLICA_STATE_READY')), panic: true });
    stream.write(list(replica(1, 'REPLICA_STATE_DRAINING'), replica(2, 'REPLICA_STATE_READY')));
    await eventually(() => updates.length === 4, 10_000, 'four lists');
    expect(updates).toEqual([[], [{ address: '127.0.0.1:1' }], [{ address: '127.0.0.1:1' }, { address: '127.0.0.1:2' }], [{ address: '127.0.0.1:2' }]]);
    expect(failures).toEqual([]);
  });

  it('reports a broken watch, keeps the last list, and re-opens it with backoff', async () => {
    const first = await clusterServer();
    const port = Number(first.address.split(':')[1]);
    const { updates, failures } = watch(first.address);
    await eventually(() => first.watches.length === 1, 10_000, 'the watch');
    first.watches[0]!.write(list(replica(1, 'REPLICA_STATE_READY')));
    await eventually(() => updates.length === 1, 10_000, 'the first list');
    first.stop();
    // Failures are reported, at least one per attempt while the supervisor is gone; no empty list.
    await eventually(() => failures.length >= 2, 10_000, 'two failed attempts');
    expect(failures[0]!.message).toContain(`supervisor ${first.address}: WatchReplicas`);
    expect(updates).toHaveLength(1);
    const second = await clusterServer(port);
    await eventually(() => second.watches.length === 1, 10_000, 'the watch re-opened');
    second.watches[0]!.write(list(replica(1, 'REPLICA_STATE_READY'), replica(3, 'REPLICA_STATE_READY')));
    await eventually(() => updates.length === 2, 10_000, 'the list after the reconnection');
    expect(updates[1]).toEqual([{ address: '127.0.0.1:1' }, { address: '127.0.0.1:3' }]);
  });

  it('re-opens a watch the supervisor ended, and stops cleanly: the watch is cancelled, no report after', async () => {
    const server = await clusterServer();
    const { updates, failures, resolver } = watch(server.address);
    await eventually(() => server.watches.length === 1, 10_000, 'the watch');
    server.watches[0]!.end();
    await eventually(() => server.watches.length === 2, 10_000, 'the watch re-opened');
    expect(failures.map((f) => f.message)).toEqual([`supervisor ${server.address}: WatchReplicas ended`]);
    resolver.stop();
    await eventually(() => server.cancelled === 1, 10_000, 'the watch cancelled');
    server.watches[1]!.write(list(replica(1, 'REPLICA_STATE_READY')));
    // A last look after the write had time to arrive: a stopped resolver reports nothing.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(updates).toEqual([]);
    expect(failures).toHaveLength(1);
  });
});
