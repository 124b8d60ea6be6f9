/**
 * A modelserve.v1.Jobs client for tests, and the dataset files they hand to jobs.
 */
import { credentials, loadPackageDefinition, type ServiceError } from '@grpc/grpc-js';
import { type Job__Output, type JobResultRow__Output, loadGrpcObject } from '@modelserve/proto';
import { formatNpyHeader } from '@modelserve/jobs/npy';
import { unary } from './server.js';

export type JobsClient = InstanceType<ReturnType<typeof loadGrpcObject>['modelserve']['v1']['Jobs']>;

/** A Jobs client on `address` (close it with `.close()`). */
export function jobsClient(address: string | number): JobsClient {
  const { Jobs } = loadGrpcObject(loadPackageDefinition).modelserve.v1;
  return new Jobs(typeof address === 'number' ? `127.0.0.1:${address}` : address, credentials.createInsecure());
}

export const getJob = (client: JobsClient, id: string): Promise<Job__Output> => unary<Job__Output>((cb) => client.GetJob({ id }, cb));

/** WatchJob until `until` accepts a message (or the stream ends): that message, or the last. */
export function watchJob(client: JobsClient, id: string, until: (job: Job__Output) => boolean = () => false): Promise<Job__Output> {
  return new Promise((resolve, reject) => {
    const call = client.WatchJob({ id });
    let last: Job__Output | undefined;
    let done = false;
    call.on('data', (job: Job__Output) => {
      last = job;
      if (!done && until(job)) {
        done = true;
        call.cancel();
        resolve(job);
      }
    });
    call.on('error', (error: ServiceError) => {
      if (!done) reject(error);
    });
    call.on('end', () => {
      if (done) return;
      done = true;
      if (last === undefined) reject(new Error(`WatchJob ${id} ended without a message`));
      else resolve(last);
    });
  });
}

/** Every row GetJobResults streams. */
export function jobResults(client: JobsClient, id: string, request: object = {}): Promise<JobResultRow__Output[]> {
  return new Promise((resolve, reject) => {
    const rows: JobResultRow__Output[] = [];
    const call = client.GetJobResults({ id, ...request });
    call.on('data', (row: JobResultRow__Output) => rows.push(row));
    call.on('error', reject);
    call.on('end', () => resolve(rows));
  });
}

/** A .npy file of float32 rows. */
export function npyFloat32(rows: number, columns: number, values: Float32Array): Uint8Array {
  return Buffer.concat([formatNpyHeader('<f4', [rows, columns]), new Uint8Array(values.buffer, values.byteOffset, values.byteLength)]);
}
