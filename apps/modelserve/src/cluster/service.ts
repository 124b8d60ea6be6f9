/**
 * The supervisor's port: modelserve.v1.Cluster (ListReplicas, WatchReplicas), grpc.health.v1
 * (SERVING until it stops) and server reflection (for grpcurl), on one grpc-js server.
 */
import { loadPackageDefinition, Server, ServerCredentials, type ServerUnaryCall, type ServerWritableStream, type sendUnaryData } from '@grpc/grpc-js';
import { loadGrpcObject, type ListReplicasResponse, type ReplicaState } from '@modelserve/proto';
import { reflectionFor, reflectionServices } from '@modelserve/server';
import { HealthImplementation } from 'grpc-health-check';
import type { ClusterView, Supervisor } from './supervisor.js';

const states: Record<string, ReplicaState> = { STARTING: 'REPLICA_STATE_STARTING', READY: 'REPLICA_STATE_READY', DRAINING: 'REPLICA_STATE_DRAINING' };

/** What ListReplicas answers and WatchReplicas sends. */
export function toResponse(view: ClusterView, bounds: { min: number; max: number; target: number }): ListReplicasResponse {
  return {
    replicas: view.replicas.map((r) => ({
      address: r.address,
      state: states[r.state]!,
      load: r.load,
      pid: r.pid,
      started_unix_ms: r.startedUnixMs,
      ready_unix_ms: r.readyUnixMs,
      metrics_address: r.metricsAddress,
    })),
    desired_replicas: view.desired,
    panic: view.panic,
    min_replicas: bounds.min,
    max_replicas: bounds.max,
    target_per_replica: bounds.target,
  };
}

/** The running service. */
export interface ClusterService {
  /** `host:port` it is bound to. */
  address: string;
  port: number;
  /** Health NOT_SERVING (the supervisor is draining its replicas); calls are still answered. */
  setNotServing(): void;
  /** Ends every watch and stops the server. */
  close(): Promise<void>;
}

/** Binds `host:port` (0: a free port) and serves the supervisor's Cluster and health services. */
export async function startClusterService(supervisor: Supervisor, host: string, port: number, bounds: { min: number; max: number; target: number }): Promise<ClusterService> {
  const server = new Server();
  const served = ['', 'modelserve.v1.Cluster'];
  const health = new HealthImplementation(Object.fromEntries(served.map((service) => [service, 'SERVING' as const])));
  const watches = new Set<ServerWritableStream<unknown, ListReplicasResponse>>();
  server.addService(loadGrpcObject(loadPackageDefinition).modelserve.v1.Cluster.service, {
    ListReplicas: (_call: ServerUnaryCall<unknown, ListReplicasResponse>, callback: sendUnaryData<ListReplicasResponse>) => callback(null, toResponse(supervisor.view(), bounds)),
    WatchReplicas: (call: ServerWritableStream<unknown, ListReplicasResponse>) => {
      watches.add(call);
      const unsubscribe = supervisor.subscribe((view) => call.write(toResponse(view, bounds)));
      const done = (): void => {
        unsubscribe();
        watches.delete(call);
      };
      call.on('cancelled', done);
      call.on('finish', done);
    },
  });
  health.addToServer(server);
  reflectionFor(['grpc.health.v1.Health', 'modelserve.v1.Cluster', ...reflectionServices]).addToServer(server);
  const target = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  const bound = await new Promise<number>((resolve, reject) => server.bindAsync(target, ServerCredentials.createInsecure(), (error, p) => (error ? reject(error) : resolve(p))));
  return {
    address: target.replace(/:\d+$/, `:${bound}`),
    port: bound,
    setNotServing: () => {
      for (const service of served) health.setStatus(service, 'NOT_SERVING');
    },
    async close() {
      for (const call of [...watches]) call.end();
      // Health watches (grpc-health-check ends none) are cut by the forced shutdown below.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 2000);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    },
  };
}
