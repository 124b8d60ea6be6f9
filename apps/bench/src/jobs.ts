/**
 * `--jobs`: asynchronous batch jobs (issue 19) against online serving, on the real CLI.
 *
 * - Throughput: a `--jobs-rows` (1,000,000) row MLP job's rows/s (from its started and finished
 *   times) against the same server's best online batched throughput, measured in closed-loop
 *   windows (64 in flight, unary, batch 1) just before and just after the job.
 * - Interference: online MLP requests in an open loop (Node load workers) at half the capacity the
 *   same workers measure closed-loop, `--jobs-rounds`
 *   pairs of windows without and with a big job running (the order alternating), p99 with / p99
 *   without, per pair.
 * - Scale-out: a CNN job on one replica, then on two replicas reading one NATS JetStream stream
 *   (a real nats-server), alternating, rows/s two / one.
 * - Crash: a job killed with SIGKILL at 50%, restarted on the same --jobs-dir: rows recomputed,
 *   from the model's run count polled just before the kill against the rows the store had
 *   committed then.
 *
 * Online load comes from h2load (closed loop, when installed) and a Node load worker process (open
 * loop, latency from when each request was due), as in the other modes.
 */
import { open, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import * as grpc from '@grpc/grpc-js';
import { defaultJobsConcurrency } from '@modelserve/jobs';
import { SqliteJobStore } from '@modelserve/jobs/sqlite';
import { formatNpyHeader } from '@modelserve/jobs/npy';
import { startNatsServer } from '@modelserve/jobs/testing';
import { type Job__Output, loadGrpcObject } from '@modelserve/proto';
import { AdminClient } from './admin.js';
import { findH2load } from './h2load.js';
import { type LoadDriver, LoadGenerator } from './load-generator.js';
import { H2loadDriver } from './load-h2load.js';
import type { BenchOptions } from './options.js';
import { benchModels, type BenchModel, encodedPayloads, inputValues, sampleSize } from './payloads.js';
import { generateModels, temporaryDirectory, writeRepository } from './repository.js';
import { startModelserve } from './servers-modelserve.js';
import type { RunningServer } from './servers-baseline.js';
import { statistic } from './cache.js';

type JobsClient = InstanceType<ReturnType<typeof loadGrpcObject>['modelserve']['v1']['Jobs']>;

export interface JobsBenchOptions {
  rows: number;
  cnnRows: number;
  rounds: number;
  onNote: (line: string) => void;
}

export interface JobsRun {
  rows: number;
  cnnRows: number;
  onlineBefore: number;
  onlineAfter: number;
  jobRowsPerSecond: number;
  /** p99 (ms) pairs, open loop at half capacity: without and with a job running. */
  interference: Array<{ withoutMs: number; withMs: number; rate: number; errors: number; loopWithoutMs?: number; loopWithMs?: number }>;
  /** CNN job rows/s: one replica and two, alternating. */
  scaleOut: Array<{ replicas: number; rowsPerSecond: number }>;
  crash: { rowsTotal: number; committedAtKill: number; runAtKill: number; recomputedAtLeast: number; chunkRows: number; concurrency: number; rowsRunAfterRestart: number } | undefined;
}

/** Writes a .npy of `rows` samples of `model` (float32), in blocks: the values repeat every 4,096 rows. */
async function writeNpy(path: string, model: BenchModel, rows: number): Promise<void> {
  const head = formatNpyHeader('<f4', [rows, ...model.sampleDims]);
  const blockRows = 4096;
  const block = Buffer.from(inputValues(model, blockRows, 7).buffer);
  const file = await open(path, 'w');
  try {
    await file.write(head);
    for (let done = 0; done < rows; done += blockRows) {
      const n = Math.min(blockRows, rows - done);
      await file.write(block, 0, n * sampleSize(model) * 4);
    }
  } finally {
    await file.close();
  }
}

const call = <T>(start: (cb: (error: grpc.ServiceError | null, value?: T) => void) => void): Promise<T> =>
  new Promise((resolve, reject) => start((error, value) => (error === null ? resolve(value as T) : reject(error))));

function jobsClientOf(address: string): JobsClient {
  return new (loadGrpcObject(grpc.loadPackageDefinition).modelserve.v1.Jobs)(address, grpc.credentials.createInsecure());
}

/** Watches a job until `until` (default: it ended); its last state. */
function watch(client: JobsClient, id: string, until: (job: Job__Output) => boolean = () => false): Promise<Job__Output> {
  return new Promise((resolve, reject) => {
    const stream = client.WatchJob({ id });
    let last: Job__Output | undefined;
    let done = false;
    stream.on('data', (job: Job__Output) => {
      last = job;
      if (!done && until(job)) {
        done = true;
        stream.cancel();
        resolve(job);
      }
    });
    stream.on('error', (error) => {
      if (!done) reject(error);
    });
    stream.on('end', () => {
      if (done) return;
      if (last === undefined) reject(new Error(`no news of job ${id}`));
      else resolve(last);
    });
  });
}

const rowsPerSecond = (job: Job__Output): number => Number(job.rows_done) / ((Number(job.finished_unix_ms) - Number(job.started_unix_ms)) / 1000);

/** The load drivers: h2load (when installed) for the closed loop, one Node load worker process for the open loop. */
interface Drivers {
  closed: LoadDriver;
  open: LoadDriver;
}

async function openDrivers(): Promise<Drivers> {
  const h2load = findH2load();
  const open = await LoadGenerator.start(2);
  return { closed: h2load === undefined ? open : new H2loadDriver(h2load), open };
}

/** Online MLP throughput, closed loop of 64 unary calls in flight, batch 1 per request (by `driver`: default the closed-loop one). */
async function onlineCapacity(drivers: Drivers, address: string, model: BenchModel, ms: number, driver: LoadDriver = drivers.closed): Promise<number> {
  const outcome = await driver.run({ address, method: 'unary', payloads: encodedPayloads(model), concurrency: 64, streams: 1, rate: 0, warmupMs: 500, durationMs: ms });
  return outcome.requestsPerSecond;
}

/** Online MLP at `rate` requests/s (open loop: latency counts from when each request was due). */
async function openLoopP99(drivers: Drivers, address: string, model: BenchModel, rate: number, ms: number, admin: AdminClient): Promise<{ p99: number; errors: number; loopMaxMs: number }> {
  await admin.serverStats(true);
  const outcome = await drivers.open.run({ address, method: 'unary', payloads: encodedPayloads(model), concurrency: 64, streams: 1, rate, warmupMs: 500, durationMs: ms, maxInFlight: 10_000, channels: 2 });
  const loop = await admin.serverStats(false);
  return { p99: outcome.latency.p99, errors: Object.values(outcome.errors).reduce((a, b) => a + b, 0), loopMaxMs: loop?.event_loop_delay_max_ms ?? Number.NaN };
}

const submit = (client: JobsClient, model: BenchModel, dataset: string, extra: object = {}): Promise<Job__Output> =>
  call<Job__Output>((cb) => client.SubmitJob({ model_name: model.name, dataset: { path: dataset }, ...extra }, cb));

export async function runJobs(options: BenchOptions, jobs: JobsBenchOptions): Promise<JobsRun> {
  const mlp = benchModels.mlp;
  const cnn = benchModels.cnn;
  const tmp = await temporaryDirectory('modelserve-bench-jobs-');
  const servers: RunningServer[] = [];
  const drivers = await openDrivers();
  const stopAll = async (): Promise<void> => {
    await Promise.all(servers.splice(0).map((s) => s.stop()));
  };
  try {
    const repository = join(tmp.path, 'models');
    await writeRepository(repository, [mlp, cnn], generateModels([mlp, cnn]), { batching: true, maxBatchSize: options.maxBatchSize, instances: options.instances, maxQueueDelayUs: options.maxQueueDelayUs, preferredBatchSizes: options.preferredBatchSizes });
    const data = join(tmp.path, 'data');
    await mkdir(data, { recursive: true });
    jobs.onNote(`writing ${jobs.rows.toLocaleString('en-US')} MLP rows (${((jobs.rows * 784 * 4) / 2 ** 30).toFixed(1)} GiB) and ${jobs.cnnRows.toLocaleString('en-US')} CNN rows`);
    await writeNpy(join(data, 'mlp.npy'), mlp, jobs.rows);
    await writeNpy(join(data, 'cnn.npy'), cnn, jobs.cnnRows);
    const crashRows = Math.min(jobs.rows, 200_000);
    await writeNpy(join(data, 'mlp-crash.npy'), mlp, crashRows);

    // 1. One job against the best online throughput, measured around it.
    const serveArgs = (dir: string): string[] => ['--jobs-dir', join(tmp.path, dir), '--jobs-data-dir', data, '--metrics-port', '0'];
    const main = await startModelserve(repository, jobs.onNote, { extraArgs: serveArgs('jobs-main') });
    servers.push(main);
    const client = jobsClientOf(main.address);
    const windowMs = options.durationMs;
    const onlineBefore = Math.max(await onlineCapacity(drivers, main.address, mlp, windowMs), await onlineCapacity(drivers, main.address, mlp, windowMs));
    jobs.onNote(`online MLP, 64 in flight: ${Math.round(onlineBefore).toLocaleString('en-US')} req/s`);
    const big = await submit(client, mlp, 'mlp.npy');
    let lastNote = 0;
    const done = await watch(client, big.id, (j) => {
      if (performance.now() - lastNote > 5000) {
        lastNote = performance.now();
        jobs.onNote(`job: ${Number(j.rows_done).toLocaleString('en-US')} of ${Number(j.rows_total).toLocaleString('en-US')} rows`);
      }
      return j.state !== 'JOB_STATE_QUEUED' && j.state !== 'JOB_STATE_RUNNING';
    });
    if (done.state !== 'JOB_STATE_SUCCEEDED') throw new Error(`the MLP job ended ${done.state}: ${done.message}`);
    const jobRowsPerSecond = rowsPerSecond(done);
    const onlineAfter = Math.max(await onlineCapacity(drivers, main.address, mlp, windowMs), await onlineCapacity(drivers, main.address, mlp, windowMs));
    jobs.onNote(`job: ${Math.round(jobRowsPerSecond).toLocaleString('en-US')} rows/s; online after: ${Math.round(onlineAfter).toLocaleString('en-US')} req/s`);

    // 2. Online at half capacity, without and with a job running. Half of what the open-loop driver
    // itself carries closed-loop: the Node load workers share the two cores and top out below h2load.
    const rate = (await onlineCapacity(drivers, main.address, mlp, windowMs, drivers.open)) / 2;
    const interference: JobsRun['interference'] = [];
    const mainAdmin = new AdminClient(main.address);
    for (let round = 0; round < jobs.rounds; round++) {
      const measure: Partial<Record<'without' | 'with', { p99: number; errors: number; loopMaxMs: number }>> = {};
      for (const side of round % 2 === 0 ? (['without', 'with'] as const) : (['with', 'without'] as const)) {
        if (side === 'without') {
          measure.without = await openLoopP99(drivers, main.address, mlp, rate, windowMs, mainAdmin);
          continue;
        }
        const job = await submit(client, mlp, 'mlp.npy');
        await watch(client, job.id, (j) => Number(j.chunks_done) > 0);
        measure.with = await openLoopP99(drivers, main.address, mlp, rate, windowMs, mainAdmin);
        const after = await call<Job__Output>((cb) => client.GetJob({ id: job.id }, cb));
        if (after.state !== 'JOB_STATE_RUNNING') jobs.onNote(`the job ran out before the window ended (${after.state}); use more --jobs-rows`);
        await call<Job__Output>((cb) => client.CancelJob({ id: job.id }, cb)).catch(() => undefined);
      }
      interference.push({ withoutMs: measure.without!.p99, withMs: measure.with!.p99, rate, errors: measure.without!.errors + measure.with!.errors, loopWithoutMs: measure.without!.loopMaxMs, loopWithMs: measure.with!.loopMaxMs });
      jobs.onNote(
        `round ${round + 1}: online p99 ${measure.without!.p99.toFixed(2)} ms without a job, ${measure.with!.p99.toFixed(2)} ms with (${Math.round(rate)} req/s); server event-loop delay max ${measure.without!.loopMaxMs.toFixed(1)} / ${measure.with!.loopMaxMs.toFixed(1)} ms`,
      );
    }
    client.close();
    mainAdmin.close();
    await stopAll();

    // 3. Replicas on one NATS stream: one, then two, alternating.
    const nats = await startNatsServer();
    const scaleOut: JobsRun['scaleOut'] = [];
    try {
      const natsArgs = ['--jobs-queue', nats.url, '--jobs-data-dir', data, '--metrics-port', '0'];
      const first = await startModelserve(repository, jobs.onNote, { extraArgs: natsArgs });
      servers.push(first);
      const natsClient = jobsClientOf(first.address);
      for (let round = 0; round < jobs.rounds; round++) {
        for (const replicas of round % 2 === 0 ? [1, 2] : [2, 1]) {
          // The second replica runs only for its jobs: started before, stopped (after the job ended) once they are done.
          const second = replicas === 2 ? await startModelserve(repository, jobs.onNote, { extraArgs: natsArgs }) : undefined;
          try {
            const job = await submit(natsClient, cnn, 'cnn.npy');
            const ended = await watch(natsClient, job.id, (j) => j.state !== 'JOB_STATE_QUEUED' && j.state !== 'JOB_STATE_RUNNING');
            if (ended.state !== 'JOB_STATE_SUCCEEDED') throw new Error(`the CNN job ended ${ended.state}: ${ended.message}`);
            scaleOut.push({ replicas, rowsPerSecond: rowsPerSecond(ended) });
            jobs.onNote(`CNN job on ${replicas} replica(s): ${Math.round(rowsPerSecond(ended)).toLocaleString('en-US')} rows/s`);
          } finally {
            await second?.stop();
          }
        }
      }
      natsClient.close();
    } finally {
      await stopAll();
      await nats.stop();
    }

    // 4. SIGKILL at 50%, restart on the same directory.
    const crashDir = join(tmp.path, 'jobs-crash');
    const victim = await startModelserve(repository, jobs.onNote, { extraArgs: serveArgs('jobs-crash') });
    servers.push(victim);
    const victimClient = jobsClientOf(victim.address);
    const victimAdmin = new AdminClient(victim.address);
    const crashJob = await submit(victimClient, mlp, 'mlp-crash.npy');
    await watch(victimClient, crashJob.id, (j) => Number(j.rows_done) >= crashRows / 2);
    const runAtKill = statistic(await victimAdmin.modelStatistics(mlp.name), 'inference_count') ?? NaN;
    process.kill(victim.pid!, 'SIGKILL');
    victimClient.close();
    victimAdmin.close();
    await stopAll();
    const store = new SqliteJobStore(crashDir);
    const atKill = (await store.get(crashJob.id))!;
    await store.close();
    const committedAtKill = atKill.rowsDone + atKill.rowsFailed;
    const restarted = await startModelserve(repository, jobs.onNote, { extraArgs: serveArgs('jobs-crash') });
    servers.push(restarted);
    const restartedClient = jobsClientOf(restarted.address);
    const restartedAdmin = new AdminClient(restarted.address);
    const finished = await watch(restartedClient, crashJob.id, (j) => j.state !== 'JOB_STATE_QUEUED' && j.state !== 'JOB_STATE_RUNNING');
    const rowsRunAfterRestart = statistic(await restartedAdmin.modelStatistics(mlp.name), 'inference_count') ?? NaN;
    restartedClient.close();
    restartedAdmin.close();
    await stopAll();
    if (finished.state !== 'JOB_STATE_SUCCEEDED') throw new Error(`the restarted job ended ${finished.state}: ${finished.message}`);
    const crash = {
      rowsTotal: crashRows,
      committedAtKill,
      runAtKill,
      // Every row the two servers ran beyond the job's rows ran twice (the first server's count is polled just before the kill: a lower bound).
      recomputedAtLeast: Math.max(0, runAtKill + rowsRunAfterRestart - crashRows),
      chunkRows: atKill.chunkRows,
      concurrency: defaultJobsConcurrency,
      rowsRunAfterRestart,
    };
    return { rows: jobs.rows, cnnRows: jobs.cnnRows, onlineBefore, onlineAfter, jobRowsPerSecond, interference, scaleOut, crash };
  } finally {
    await stopAll();
    if (drivers.closed !== drivers.open) await drivers.closed.close();
    await drivers.open.close();
    tmp.remove();
  }
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

const range = (values: readonly number[]): string => `${Math.min(...values).toFixed(2)}–${Math.max(...values).toFixed(2)}×`;

/** The report's lines: the issue's table, measured. */
export function jobsLines(run: JobsRun): string[] {
  const best = Math.max(run.onlineBefore, run.onlineAfter);
  const throughput = run.jobRowsPerSecond / best;
  const p99Ratios = run.interference.map((p) => p.withMs / p.withoutMs);
  const one = run.scaleOut.filter((s) => s.replicas === 1).map((s) => s.rowsPerSecond);
  const two = run.scaleOut.filter((s) => s.replicas === 2).map((s) => s.rowsPerSecond);
  const pairs = one.map((o, i) => (two[i] ?? NaN) / o).filter(Number.isFinite);
  const lines = [
    `Batch jobs (${run.rows.toLocaleString('en-US')}-row MLP job; CNN job ${run.cnnRows.toLocaleString('en-US')} rows)`,
    '',
    'measure                                                         value                                   target   verdict',
    `MLP job rows/s / best online batched req/s (64 in flight)      ${Math.round(run.jobRowsPerSecond).toLocaleString('en-US')} / ${Math.round(best).toLocaleString('en-US')} = ${throughput.toFixed(2)}×`.padEnd(104) + `≥ 0.8×   ${throughput >= 0.8 ? 'PASS' : 'FAIL'}`,
    `online MLP at 50% capacity: p99 with a job / without            median ${median(p99Ratios).toFixed(2)}× (${range(p99Ratios)}, ${p99Ratios.length} pairs)`.padEnd(104) +
      `≤ 1.3×   ${median(p99Ratios) <= 1.3 ? 'PASS' : 'FAIL'}`,
    `CNN job on two replicas (one NATS stream) / one                 median ${pairs.length > 0 ? median(pairs).toFixed(2) : 'n/a'}× (${pairs.length > 0 ? range(pairs) : 'n/a'}; one ${one.map((v) => Math.round(v)).join(', ')}; two ${two.map((v) => Math.round(v)).join(', ')} rows/s)`.padEnd(104) +
      'report; ≥ 1.3× where cores allow',
  ];
  if (run.crash !== undefined) {
    const c = run.crash;
    const bound = c.chunkRows * c.concurrency;
    lines.push(
      `kill -9 at 50%, restart: rows recomputed                        ≥ ${c.recomputedAtLeast} (run ${c.runAtKill} before the kill, ${c.committedAtKill} committed); bound ${c.concurrency} chunks × ${c.chunkRows} rows = ${bound}`.padEnd(104) +
        `≤ one chunk per worker   ${c.recomputedAtLeast <= bound ? 'PASS' : 'FAIL'}`,
    );
  }
  lines.push('', `online p99 pairs (without, with; ms): ${run.interference.map((p) => `${p.withoutMs.toFixed(2)}/${p.withMs.toFixed(2)}`).join(', ')}`);
  return lines;
}
