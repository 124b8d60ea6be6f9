/**
 * `--cache`: what the per-model response cache (config.yaml `response_cache`, issue 18) buys and
 * costs. The model is model-zoo's `slowMlp` (~2 ms per batch-1 run), served with modelserve's
 * default scheduling (no `dynamic_batching`, `max_batch_size: 0`, one request per run, so a run
 * count is a request count and coalescing is not confused with batching). Servers side by side:
 * cache off, cache on (`response_cache: {}`), and two cache-on replicas sharing a Redis tier.
 * One unrecorded Zipf window fills the cache first (the measure is its steady state). Each round:
 * four windows in rotating order (Zipf(1.1) over `--cache-inputs` inputs and all
 * distinct inputs, each against cache on and off), 64 identical requests at once on a new input
 * against cache on, and the shared tier (two replicas behind @modelserve/client, round-robin)
 * against one replica on the same fixed-size Zipf workload, each side over inputs it never saw.
 *
 * The driver runs in this process: a closed loop of `-c` (64) requests in flight over grpc-js
 * with pre-encoded bytes (as load-senders.ts), each request picking its input. On this 2-core
 * machine the server needs one core and one client process saturates the other; the parent is
 * idle during a window (admin calls happen between windows), so a second process would only take
 * CPU from the server.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type * as grpc from '@grpc/grpc-js';
import { createClient, type ModelServeClient } from '@modelserve/client';
import { mulberry32, slowMlp } from '@modelserve/model-zoo';
import type { VersionStatistics__Output } from '@modelserve/proto';
import { AdminClient } from './admin.js';
import { summarize } from './histogram.js';
import { LoadRecord, runClosedLoop } from './load-loops.js';
import { openClient, statusName, type Sender } from './load-senders.js';
import type { BenchOptions } from './options.js';
import { encodedRequest, inputValues, type RequestTarget } from './payloads.js';
import { startModelserve } from './servers-modelserve.js';
import type { RunningServer } from './servers-baseline.js';
import { fixed, zipfSampler, ZIPF_EXPONENT, type CacheRun, type CacheWindow, type CoalesceCheck, type SharedCheck } from './cache-report.js';

export * from './cache-report.js';

const model: RequestTarget & { outputName: string } = { name: 'slow_mlp', inputName: 'input', outputName: 'output', sampleDims: [64] };
// Seed ranges of the inputs, far apart so that no two measures share an input.
const ZIPF_SEEDS = 1;
const DISTINCT_SEEDS = 100_000_000;
const COALESCE_SEEDS = 2_000_000_000;
const SHARED_SEEDS = 3_000_000_000;

/** The sum over versions of a uint64 statistic, or undefined when no version reports it (read defensively: the cache's counters are new). */
export function statistic(versions: readonly VersionStatistics__Output[] | undefined, field: string): number | undefined {
  let sum: number | undefined;
  for (const version of versions ?? []) {
    const value = Number((version as unknown as Record<string, unknown>)[field] ?? NaN);
    if (Number.isFinite(value)) sum = (sum ?? 0) + value;
  }
  return sum;
}

/** Requests a server answered without a run of their own (hits, and those coalesced into an identical request's run) and misses, now. */
async function cacheCounters(admin: AdminClient): Promise<{ hits: number | undefined; misses: number | undefined }> {
  const versions = await admin.modelStatistics(model.name);
  const hits = statistic(versions, 'cache_hits');
  return { hits: hits === undefined ? undefined : hits + (statistic(versions, 'cache_coalesced') ?? 0), misses: statistic(versions, 'cache_misses') };
}

/** hits / (hits + misses) between two readings of the counters, summed over servers. */
function hitRatio(before: Awaited<ReturnType<typeof cacheCounters>>[], after: Awaited<ReturnType<typeof cacheCounters>>[]): number | undefined {
  let hits = 0;
  let misses = 0;
  for (const [i, a] of after.entries()) {
    const b = before[i];
    if (a.hits === undefined || a.misses === undefined || b?.hits === undefined || b.misses === undefined) return undefined;
    hits += a.hits - b.hits;
    misses += a.misses - b.misses;
  }
  return hits + misses === 0 ? undefined : hits / (hits + misses);
}

/** Unary Predict calls on `clients` (taken in turn), each with the payload `pick` returns. */
function pickingSender(clients: readonly grpc.Client[], pick: () => Buffer): Sender {
  let inFlight = 0;
  let next = 0;
  const bytes = (b: Buffer): Buffer => b;
  return {
    send(done) {
      inFlight++;
      clients[next++ % clients.length]!.makeUnaryRequest('/modelserve.v1.Predictor/Predict', bytes, bytes, pick(), {}, (error) => {
        inFlight--;
        done(error === null ? undefined : statusName(error.code));
      });
    },
    inFlight: () => inFlight,
    close() {},
  };
}

/**
 * A closed loop of `inFlight` requests over `sender` for one window: req/s, p99 and errors. With a
 * `budget` the window ends once that many requests were sent (their answers still drain), so that
 * two sides compared by the servers' counters saw the same number of requests.
 */
async function closedLoopWindow(sender: Sender, inFlight: number, window: { warmupMs: number; durationMs: number; budget?: number }): Promise<{ requestsPerSecond: number; p99Ms: number; errors: number }> {
  const origin = performance.now();
  const record = new LoadRecord({ start: origin + window.warmupMs, end: origin + window.warmupMs + window.durationMs, requests: 0 });
  let sent = 0;
  const counted: Sender = {
    ...sender,
    send(done) {
      if (window.budget !== undefined && ++sent >= window.budget) record.window.end = Math.min(record.window.end, performance.now());
      sender.send(done);
    },
  };
  await runClosedLoop(Array.from({ length: inFlight }, () => counted), record, 30_000);
  const seconds = (Math.min(record.window.end, performance.now()) - record.window.start) / 1000;
  const result = { requestsPerSecond: seconds > 0 ? record.completed / seconds : 0, p99Ms: summarize(record.histogram).p99, errors: Object.values(record.errors).reduce((a, b) => a + b, 0) };
  record.destroy();
  return result;
}

/** Writes `<dir>/slow_mlp/1/model.onnx` and a config.yaml of modelserve's default scheduling plus `extra`. */
async function writeCacheRepository(dir: string, bytes: Uint8Array, extra: string): Promise<string> {
  await mkdir(join(dir, model.name, '1'), { recursive: true });
  await writeFile(join(dir, model.name, '1', 'model.onnx'), bytes);
  await writeFile(join(dir, model.name, 'config.yaml'), `max_batch_size: 0\n${extra}`);
  return dir;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  return typeof address === 'object' && address !== null ? address.port : 0;
}

/** Starts /usr/bin/redis-server on a free port (no persistence); undefined when it is not installed. */
async function startRedis(): Promise<{ url: string; stop: () => Promise<void> } | undefined> {
  const port = await freePort();
  const child: ChildProcess = spawn('/usr/bin/redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const kill = (): void => void child.kill('SIGTERM');
  process.on('exit', kill);
  const ready = await new Promise<boolean>((resolve) => {
    child.once('error', () => resolve(false));
    child.once('exit', () => resolve(false));
    child.stdout?.on('data', (text: Buffer) => {
      if (text.toString().includes('Ready to accept connections')) resolve(true);
    });
    setTimeout(() => resolve(false), 10_000);
  });
  const stop = async (): Promise<void> => {
    process.off('exit', kill);
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  };
  if (!ready) {
    await stop();
    return undefined;
  }
  return { url: `redis://127.0.0.1:${port}/0`, stop };
}

/** 64 identical requests at once through the SDK: the change of the run count and the answers checked against the reference. */
async function coalesceCheck(server: RunningServer, admin: AdminClient, reference: (input: Float32Array) => Float32Array, round: number): Promise<CoalesceCheck> {
  const client = createClient({ endpoints: [{ address: server.address, weight: 1 }], healthCheck: false });
  try {
    const input = inputValues(model, 1, COALESCE_SEEDS + round);
    const expected = reference(input);
    const runsNow = async (): Promise<number | undefined> => {
      const versions = await admin.modelStatistics(model.name);
      return statistic(versions, 'execution_count') ?? statistic(versions, 'batch_count');
    };
    const before = await runsNow();
    const answers = await Promise.allSettled(Array.from({ length: 64 }, () => client.predict(model.name, { [model.inputName]: { data: input, shape: [1, 64] } }, { timeoutMs: 30_000 })));
    // The statistics are recorded as a run ends, which may be just after its answers left.
    await new Promise((resolve) => setTimeout(resolve, 100));
    const after = await runsNow();
    const correct = answers.filter((a) => {
      if (a.status !== 'fulfilled') return false;
      const data = a.value.outputs[model.outputName]?.data as ArrayLike<number> | undefined;
      return data !== undefined && data.length === expected.length && Array.from(expected).every((v, i) => Math.abs(v - (data[i] ?? NaN)) <= 1e-4);
    }).length;
    return { round, runs: before === undefined || after === undefined ? undefined : after - before, answers: answers.length, correct };
  } finally {
    client.close();
  }
}

/** `requests` Zipf requests through the SDK, round-robin over `servers`, on inputs `seedBase + rank`; the servers' hit ratio over them. */
async function sharedSide(servers: readonly RunningServer[], admins: readonly AdminClient[], seedBase: number, inputs: number, requests: number, inFlight: number, zipfSeed: number): Promise<number | undefined> {
  const client: ModelServeClient = createClient({ endpoints: servers.map((s) => ({ address: s.address, weight: 1 })), policy: 'round_robin', healthCheck: false });
  const values = new Map<number, Float32Array>();
  const draw = zipfSampler(inputs, ZIPF_EXPONENT, mulberry32(zipfSeed));
  let inFlightNow = 0;
  const sender: Sender = {
    send(done) {
      const rank = draw();
      let data = values.get(rank);
      if (data === undefined) values.set(rank, (data = inputValues(model, 1, seedBase + rank)));
      inFlightNow++;
      client.predict(model.name, { [model.inputName]: { data, shape: [1, 64] } }, { timeoutMs: 30_000 }).then(
        () => {
          inFlightNow--;
          done(undefined);
        },
        (error: unknown) => {
          inFlightNow--;
          done(statusName((error as { code?: number }).code));
        },
      );
    },
    inFlight: () => inFlightNow,
    close() {},
  };
  try {
    const before = await Promise.all(admins.map(cacheCounters));
    await closedLoopWindow(sender, inFlight, { warmupMs: 0, durationMs: 600_000, budget: requests });
    return hitRatio(before, await Promise.all(admins.map(cacheCounters)));
  } finally {
    client.close();
  }
}

/** Options of `runCache` beyond the bench's own. */
export interface CacheRunOptions {
  rounds: number;
  /** Distinct inputs of the Zipf workload. */
  inputs: number;
  onWindow?: (w: CacheWindow) => void;
  onNote?: (line: string) => void;
}

/** Starts the servers, runs the rounds, stops everything. */
export async function runCache(options: BenchOptions, run: CacheRunOptions): Promise<CacheRun> {
  const { rounds, inputs, onWindow = () => undefined, onNote = () => undefined } = run;
  const inFlight = options.concurrency.at(-1) ?? 64;
  const dir = await mkdtemp(join(tmpdir(), 'modelserve-cache-'));
  const servers: RunningServer[] = [];
  const admins: AdminClient[] = [];
  const clients: grpc.Client[] = [];
  let redis: Awaited<ReturnType<typeof startRedis>>;
  const start = async (repository: string, cached: boolean): Promise<{ server: RunningServer; admin: AdminClient }> => {
    const server = await startModelserve(repository, () => undefined, { extraArgs: ['--metrics-port', '0'] }).catch((error: unknown) => {
      if (!cached) throw error;
      throw new Error(`modelserve did not start with a response_cache block (has the cache landed in core? \`grep -n response_cache packages/core/src/config.ts\`, then \`pnpm build\`): ${(error as Error).message}`);
    });
    const admin = new AdminClient(server.address);
    servers.push(server);
    admins.push(admin);
    return { server, admin };
  };
  try {
    const generated = slowMlp();
    const off = await start(await writeCacheRepository(join(dir, 'off'), generated.bytes, ''), false);
    const on = await start(await writeCacheRepository(join(dir, 'on'), generated.bytes, 'response_cache: {}\n'), true);
    redis = await startRedis();
    const sharedSkipped = redis === undefined ? '/usr/bin/redis-server is not installed or did not start' : undefined;
    const pair = redis === undefined ? [] : await Promise.all(['a', 'b'].map(async (name) => start(await writeCacheRepository(join(dir, `shared-${name}`), generated.bytes, `response_cache:\n  shared: ${redis!.url}\n`), true)));
    if (sharedSkipped !== undefined) onNote(`shared tier skipped: ${sharedSkipped}`);

    const zipfPayloads: (Buffer | undefined)[] = new Array<Buffer | undefined>(inputs);
    let distinct = 0;
    const draw = zipfSampler(inputs, ZIPF_EXPONENT, mulberry32(ZIPF_EXPONENT * 1000));
    const pick: Record<CacheWindow['workload'], () => Buffer> = {
      zipf: () => {
        const rank = draw();
        return (zipfPayloads[rank] ??= Buffer.from(encodedRequest(model, ZIPF_SEEDS + rank), 'base64'));
      },
      // Every request a new input, across windows and servers too.
      distinct: () => Buffer.from(encodedRequest(model, DISTINCT_SEEDS + distinct++), 'base64'),
    };
    const target: Record<CacheWindow['cache'], { server: RunningServer; admin: AdminClient }> = { on, off };
    for (const side of [on, off]) clients.push(openClient(side.server.address), openClient(side.server.address));
    const clientsOf = (cache: CacheWindow['cache']): grpc.Client[] => (cache === 'on' ? clients.slice(0, 2) : clients.slice(2, 4));
    const keys = [['zipf', 'on'], ['zipf', 'off'], ['distinct', 'on'], ['distinct', 'off']] as const;
    const result: CacheRun = { windows: [], coalesce: [], shared: [], sharedSkipped };
    const reference = (input: Float32Array): Float32Array => generated.forward(input, 1);
    // The Zipf windows measure a cache in its steady state: one unrecorded window fills it first.
    const filling = await cacheCounters(target.on.admin);
    await closedLoopWindow(pickingSender(clientsOf('on'), pick.zipf), inFlight, { warmupMs: 0, durationMs: options.durationMs + options.warmupMs });
    onNote(`cache filled by one Zipf window: hit ratio ${fixed(hitRatio([filling], [await cacheCounters(target.on.admin)]), 3)} while filling`);
    for (let round = 0; round < rounds; round++) {
      const order = [...keys.slice(round % keys.length), ...keys.slice(0, round % keys.length)];
      for (const [workload, cache] of order) {
        const before = await cacheCounters(target[cache].admin);
        const measured = await closedLoopWindow(pickingSender(clientsOf(cache), pick[workload]), inFlight, { warmupMs: options.warmupMs, durationMs: options.durationMs });
        const hits = cache === 'on' ? hitRatio([before], [await cacheCounters(target[cache].admin)]) : undefined;
        const window: CacheWindow = { round, workload, cache, requestsPerSecond: measured.requestsPerSecond, p99Ms: measured.p99Ms, errors: measured.errors, hitRatio: hits };
        result.windows.push(window);
        onWindow(window);
      }
      const coalesce = await coalesceCheck(on.server, on.admin, reference, round);
      result.coalesce.push(coalesce);
      onNote(`round ${round + 1}/${rounds} 64 identical: ${coalesce.runs ?? 'n/a'} runs, ${coalesce.correct}/${coalesce.answers} correct`);
      if (pair.length === 2) {
        // Each side on inputs nobody has seen, the same Zipf sequence and request count; the order alternates.
        const requests = 2 * inputs;
        const sides = { single: () => sharedSide([on.server], [on.admin], SHARED_SEEDS + 2 * round * inputs, inputs, requests, inFlight, round), pair: () => sharedSide(pair.map((p) => p.server), pair.map((p) => p.admin), SHARED_SEEDS + (2 * round + 1) * inputs, inputs, requests, inFlight, round) };
        const first = round % 2 === 0 ? 'single' : 'pair';
        const ratios: Partial<Record<'single' | 'pair', number | undefined>> = {};
        ratios[first] = await sides[first]();
        const second = first === 'single' ? 'pair' : 'single';
        ratios[second] = await sides[second]();
        const check: SharedCheck = { round, requests, singleHitRatio: ratios.single, pairHitRatio: ratios.pair };
        result.shared.push(check);
        onNote(`round ${round + 1}/${rounds} shared tier: hit ratio ${fixed(check.pairHitRatio, 3)} with 2 replicas, ${fixed(check.singleHitRatio, 3)} with 1`);
      }
    }
    return result;
  } finally {
    for (const client of clients) client.close();
    for (const admin of admins) admin.close();
    await Promise.all(servers.map((s) => s.stop()));
    await redis?.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
