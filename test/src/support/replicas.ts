/**
 * Real modelserve server processes (`modelserve serve`) on loopback ports, for the client SDK's
 * load-balancing tests: each is its own process, so it can be slowed, taken out of rotation, or
 * killed with SIGKILL.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { credentials, loadPackageDefinition } from '@grpc/grpc-js';
import { demoTinyMlp } from '@modelserve/model-zoo';
import { loadGrpcObject, type GetModelStatisticsResponse__Output, type ModelAdminClient } from '@modelserve/proto';
import { unary } from './server.js';

const cli = path.join(path.dirname(createRequire(import.meta.url).resolve('@modelserve/cli')), 'cli.js');

/** A repository with only tiny_mlp (4 → 3), one instance: quick to load, several replicas fit on 2 cores. */
export async function tinyRepository(): Promise<string> {
  const root = await mkdtemp(path.join(tmpdir(), 'modelserve-replica-'));
  await mkdir(path.join(root, 'tiny_mlp', '1'), { recursive: true });
  await writeFile(path.join(root, 'tiny_mlp', '1', 'model.onnx'), demoTinyMlp().bytes);
  await writeFile(path.join(root, 'tiny_mlp', 'config.yaml'), 'max_batch_size: 8\ndynamic_batching: {}\ninstances:\n  count: 1\n');
  return root;
}

/** One server process. */
export interface Replica {
  readonly address: string;
  readonly process: ChildProcess;
  readonly admin: ModelAdminClient;
  /** tiny_mlp requests this replica has answered with outputs. */
  served(): Promise<number>;
  /** SetServingStatus. */
  setServing(serving: boolean): Promise<void>;
  /** Stops it (SIGTERM, or the given signal) and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** Starts `modelserve serve` on 127.0.0.1 with a free port; `delayMs` makes it a slow replica. */
export async function startReplica(repository: string, delayMs = 0): Promise<Replica> {
  const args = [cli, 'serve', '--host', '127.0.0.1', '--port', '0', '--model-repository', repository, '--log-level', 'info'];
  if (delayMs > 0) args.push('--inference-delay-ms', String(delayMs));
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const address = await new Promise<string>((resolve, reject) => {
    const onExit = (code: number | null): void => reject(new Error(`modelserve serve exited with code ${code} before listening`));
    child.once('exit', onExit);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const entry = JSON.parse(line) as Record<string, unknown>;
      if (entry.msg === 'modelserve listening') {
        child.off('exit', onExit);
        resolve(String(entry.address));
      }
    });
  });
  const admin = new (loadGrpcObject(loadPackageDefinition).modelserve.v1.ModelAdmin)(address, credentials.createInsecure());
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    address,
    process: child,
    admin,
    async served() {
      const stats = await unary<GetModelStatisticsResponse__Output>((cb) => admin.GetModelStatistics({ name: 'tiny_mlp' }, cb));
      return stats.versions.reduce((sum, v) => sum + Number(v.request_count), 0);
    },
    async setServing(serving) {
      await unary((cb) => admin.SetServingStatus({ serving }, cb));
    },
    async stop(signal = 'SIGTERM') {
      admin.close();
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}

/** Requests each replica served while `body` ran. */
export async function servedDuring(replicas: readonly Replica[], body: () => Promise<unknown>): Promise<number[]> {
  const before = await Promise.all(replicas.map((r) => r.served()));
  await body();
  const after = await Promise.all(replicas.map((r) => r.served()));
  return after.map((n, i) => n - before[i]!);
}
