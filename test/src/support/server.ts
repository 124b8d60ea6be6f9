import { credentials, loadPackageDefinition, type ServiceError } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { protoPath as healthProtoPath } from 'grpc-health-check';
import { loadGrpcObject, type ModelAdminClient, type oip, type PredictorClient } from '@modelserve/proto';
import { startServer, type RunningServer, type ServerOptions } from '@modelserve/server';

/** A server on 127.0.0.1 with a free port, and clients for it. */
export interface TestServer {
  server: RunningServer;
  predictor: PredictorClient;
  admin: ModelAdminClient;
  /** The Open Inference Protocol (`inference.GRPCInferenceService`) client. */
  inference: oip.GRPCInferenceServiceClient;
  close(): Promise<void>;
}

/** Starts a real server on 127.0.0.1:0 and connects real grpc-js clients to it. */
export async function startTestServer(options: Omit<ServerOptions, 'host' | 'port'>): Promise<TestServer> {
  const server = await startServer({ ...options, host: '127.0.0.1', port: 0 });
  const grpcObject = loadGrpcObject(loadPackageDefinition);
  const predictor = new grpcObject.modelserve.v1.Predictor(server.address, credentials.createInsecure());
  const admin = new grpcObject.modelserve.v1.ModelAdmin(server.address, credentials.createInsecure());
  const inference = new grpcObject.inference.GRPCInferenceService(server.address, credentials.createInsecure());
  return {
    server,
    predictor,
    admin,
    inference,
    async close() {
      predictor.close();
      admin.close();
      inference.close();
      await server.close(1000);
    },
  };
}

/** A unary call as a promise. */
export function unary<Res>(start: (callback: (error: ServiceError | null, response?: Res) => void) => void): Promise<Res> {
  return new Promise((resolve, reject) => start((error, response) => (error ? reject(error) : resolve(response as Res))));
}

/** The error a unary call fails with; fails the test if the call succeeds. */
export async function failure(promise: Promise<unknown>): Promise<ServiceError> {
  try {
    await promise;
  } catch (error) {
    return error as ServiceError;
  }
  throw new Error('expected the call to fail, it succeeded');
}

/** A grpc.health.v1 client (statuses as enum names). */
export interface HealthClient {
  Check(request: { service: string }, callback: (e: ServiceError | null, r?: { status: string }) => void): void;
  close(): void;
}

/** Connects a grpc.health.v1 client to `address`. */
export function healthClient(address: string): HealthClient {
  const definition = loadPackageDefinition(loadSync(healthProtoPath, { enums: String })) as unknown as {
    grpc: { health: { v1: { Health: new (address: string, creds: ReturnType<typeof credentials.createInsecure>) => HealthClient } } };
  };
  return new definition.grpc.health.v1.Health(address, credentials.createInsecure());
}
