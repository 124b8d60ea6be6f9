/**
 * What the benchmark asks a running modelserve besides predictions: model states, per-model
 * statistics, server stats and a health check. RPCs the server does not implement yet answer
 * `undefined` (reported as "n/a"), never an error.
 */
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import {
  loadGrpcObject,
  type ModelAdminClient,
  type ModelStatus__Output,
  type ServerStats__Output,
  type VersionStatistics__Output,
} from '@modelserve/proto';
import { protoPath as healthProtoPath } from 'grpc-health-check';
import { performance } from 'node:perf_hooks';
import { statusName } from './load-senders.js';

const DEADLINE_MS = 10_000;

type HealthClient = grpc.Client & {
  Check(request: { service: string }, options: grpc.CallOptions, callback: (error: grpc.ServiceError | null, response?: { status: string }) => void): void;
};

type HealthClientConstructor = new (address: string, credentials: grpc.ChannelCredentials, options?: grpc.ChannelOptions) => HealthClient;

let healthConstructor: HealthClientConstructor | undefined;

function healthClientConstructor(): HealthClientConstructor {
  if (healthConstructor === undefined) {
    const definition = protoLoader.loadSync(healthProtoPath, { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });
    const health = grpc.loadPackageDefinition(definition) as unknown as { grpc: { health: { v1: { Health: typeof healthConstructor } } } };
    healthConstructor = health.grpc.health.v1.Health;
  }
  return healthConstructor!;
}

/** Calls a unary method; resolves `undefined` when the server answers UNIMPLEMENTED. */
function call<Res>(invoke: (options: grpc.CallOptions, callback: (error: grpc.ServiceError | null, response?: Res) => void) => void): Promise<Res | undefined> {
  return new Promise((resolve, reject) => {
    invoke({ deadline: Date.now() + DEADLINE_MS }, (error, response) => {
      if (error !== null) {
        if (error.code === grpc.status.UNIMPLEMENTED) resolve(undefined);
        else reject(error);
      } else resolve(response);
    });
  });
}

/** The outcome of one `grpc.health.v1.Health/Check`. */
export interface HealthCheckResult {
  status: string;
  ms: number;
}

/** A connection to modelserve's ModelAdmin and Health services, separate from the load. */
export class AdminClient {
  private readonly admin: ModelAdminClient;
  private readonly health: HealthClient;

  constructor(readonly address: string) {
    const credentials = grpc.credentials.createInsecure();
    this.admin = new (loadGrpcObject(grpc.loadPackageDefinition).modelserve.v1.ModelAdmin)(address, credentials);
    this.health = new (healthClientConstructor())(address, credentials);
  }

  /** Every model with its versions and their states. */
  async listModels(): Promise<ModelStatus__Output[]> {
    const response = await call<{ models: ModelStatus__Output[] }>((options, callback) => this.admin.ListModels({}, options, callback));
    return response?.models ?? [];
  }

  /** Event-loop delay and memory; `reset` starts a new event-loop window. */
  serverStats(reset: boolean): Promise<ServerStats__Output | undefined> {
    return call<ServerStats__Output>((options, callback) => this.admin.GetServerStats({ reset }, options, callback));
  }

  /** Statistics of every version of `model`. */
  async modelStatistics(model: string): Promise<VersionStatistics__Output[] | undefined> {
    const response = await call<{ versions: VersionStatistics__Output[] }>((options, callback) => this.admin.GetModelStatistics({ name: model }, options, callback));
    return response?.versions;
  }

  /** Times a health check of the whole server (service ""). */
  async healthCheck(service = ''): Promise<HealthCheckResult | undefined> {
    const started = performance.now();
    const response = await call<{ status: string }>((options, callback) => this.health.Check({ service }, options, callback));
    return response === undefined ? undefined : { status: response.status, ms: performance.now() - started };
  }

  close(): void {
    this.admin.close();
    this.health.close();
  }
}

/** A health check's serving status, or the gRPC status name it failed with. */
export interface HealthProbeResult {
  /** Whether the server answered (with any serving status). */
  answered: boolean;
  status: string;
  ms: number;
}

/** Health checks on their own HTTP/2 connection, so that neither the load nor the admin calls queue in front of them. */
export class HealthProbe {
  private readonly health: HealthClient;

  constructor(address: string) {
    this.health = new (healthClientConstructor())(address, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
  }

  /** One check of the whole server (service ""); never rejects. */
  check(deadlineMs: number): Promise<HealthProbeResult> {
    const started = performance.now();
    return new Promise((resolve) => {
      this.health.Check({ service: '' }, { deadline: Date.now() + deadlineMs }, (error, response) => {
        const ms = performance.now() - started;
        if (error !== null) resolve({ answered: false, status: statusName(error.code), ms });
        else resolve({ answered: true, status: response?.status ?? 'UNKNOWN', ms });
      });
    });
  }

  close(): void {
    this.health.close();
  }
}
