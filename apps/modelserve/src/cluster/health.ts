/** A grpc.health.v1 Check client for the supervisor's replicas. */
import { credentials, loadPackageDefinition as loadGrpcPackage, type ServiceError } from '@grpc/grpc-js';
import { loadPackageDefinition } from '@modelserve/proto';
import { protoPath } from 'grpc-health-check';

/** The grpc.health.v1.Health client this file uses. */
interface HealthClient {
  Check(request: { service: string }, options: { deadline: number }, callback: (error: ServiceError | null, response?: { status: string }) => void): void;
  close(): void;
}
type HealthClientConstructor = new (address: string, creds: ReturnType<typeof credentials.createInsecure>) => HealthClient;

let constructor: HealthClientConstructor | undefined;
function healthClient(address: string): HealthClient {
  constructor ??= (loadGrpcPackage(loadPackageDefinition([protoPath])) as unknown as { grpc: { health: { v1: { Health: HealthClientConstructor } } } }).grpc.health.v1.Health;
  return new constructor(address, credentials.createInsecure());
}

/** A Check client of one replica: `check()` answers the status of service "" or the call's error. */
export function replicaHealth(address: string): { check(deadlineMs: number): Promise<string>; close(): void } {
  const client = healthClient(address);
  return {
    check: (deadlineMs) => new Promise((resolve, reject) => client.Check({ service: '' }, { deadline: Date.now() + deadlineMs }, (error, response) => (error ? reject(error) : resolve(response!.status)))),
    close: () => client.close(),
  };
}
