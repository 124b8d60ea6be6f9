/**
 * A modelserve.v1.Jobs client for tests, and the dataset files they hand to jobs.
 */
import { credentials, loadPackageDefinition, type ServiceError } from '@grpc/grpc-js';
import { type Job__Output, type JobResultRow__Output, loadGrpcObject } from '@modelserve/proto';
import path from 'node:path';
import { formatNpyHeader } from '@modelserve/jobs/npy';
import { tinyModel, writeManyModelRepository } from '@modelserve/model-zoo';
import { put } from './fixtures.js';
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

/** A repository of tiny model 0 (`tiny-0000`) and, under `<root>/data`, `rows.npy` of `rows` rows made by `value(i)`. */
export async function tinyJobFixture(root: string, rows: number, value: (i: number) => number): Promise<{ repository: string; dataDir: string; values: Float32Array }> {
  const repository = path.join(root, 'models');
  await writeManyModelRepository(repository, 1);
  const dataDir = path.join(root, 'data');
  const values = Float32Array.from({ length: rows * tinyModel(0).inputSize }, (_, i) => value(i));
  await put(dataDir, 'rows.npy', npyFloat32(rows, tinyModel(0).inputSize, values));
  return { repository, dataDir, values };
}

/** Throws unless `rows` are rows 0… of `values` in order, each answered once with tiny model 0's reference output (within 1e-4). */
export function checkRowsAgainstReference(rows: readonly JobResultRow__Output[], values: Float32Array): void {
  const model = tinyModel(0);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    if (r.row !== String(i)) throw new Error(`row ${i} answered as row ${r.row}`);
    const got = new Float32Array(Uint8Array.from(r.outputs[0]!.raw_contents).buffer);
    const want = model.forward(values.subarray(i * model.inputSize, (i + 1) * model.inputSize), 1);
    for (let k = 0; k < want.length; k++) if (Math.abs(got[k]! - want[k]!) > 1e-4) throw new Error(`row ${i} output ${k}: expected ${want[k]}, got ${got[k]}`);
  }
}
