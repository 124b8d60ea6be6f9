/**
 * The client side of `--sdk` (a forked process, so the parent's event loop does not disturb it):
 * runs each job's closed loop with either one bare grpc-js client (grpc-js's own round_robin over
 * every address) or @modelserve/client with a policy, on the same MLP request, and answers with
 * counts, latency and its own CPU time per call. Both serialize the request with protobuf on every
 * call; each kind of client is created once and kept for later jobs (see `clients`).
 */
import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import * as grpc from '@grpc/grpc-js';
import { createClient, type ModelServeClient } from '@modelserve/client';
import { loadGrpcObject } from '@modelserve/proto';
import { exitWithParent } from './children.js';
import { summarize } from './histogram.js';
import { LoadRecord, runClosedLoop } from './load-loops.js';
import { statusName, type Sender } from './load-senders.js';
import { benchModels, inputValues, predictRequest } from './payloads.js';
import type { FromSdkWorker, SdkClientKind, SdkJob, SdkPolicy, SdkRun, ToSdkWorker } from './types-sdk.js';

const model = benchModels.mlp;
const SEED = 1000;

/** A sender plus what must be awaited before the window and closed after it. */
interface ClientUnderTest extends Sender {
  /** Resolves once the client can take calls (connected, and for the SDK every endpoint eligible). */
  ready(deadline: number): Promise<void>;
}

/**
 * Clients stay connected across jobs, one per kind: a job measures a warm client on open
 * connections, so short windows, interleaved many times, compare the clients and not their
 * start-up (connecting, JIT, first buffers).
 */
const clients = new Map<SdkClientKind, ClientUnderTest>();

function send(message: FromSdkWorker): void {
  process.send?.(message);
}

const deadlineOf = (job: SdkJob): number => Date.now() + (job.deadlineMs > 0 ? job.deadlineMs : 30_000);

/** The baseline: one grpc-js client, grpc-js's round_robin over a static ipv4 target of every address. */
function grpcClient(job: SdkJob): ClientUnderTest {
  const Predictor = loadGrpcObject(grpc.loadPackageDefinition).modelserve.v1.Predictor;
  const client = new Predictor(`ipv4:${job.addresses.join(',')}`, grpc.credentials.createInsecure(), {
    'grpc.service_config': JSON.stringify({ loadBalancingConfig: [{ round_robin: {} }] }),
    'grpc.max_receive_message_length': 64 * 1024 * 1024,
    'grpc.use_local_subchannel_pool': 1,
  });
  const request = predictRequest(model, SEED);
  let inFlight = 0;
  return {
    send(done) {
      inFlight++;
      client.Predict(request, { deadline: deadlineOf(job) }, (error, response) => {
        inFlight--;
        if (error !== null) done(statusName(error.code));
        else done(response !== undefined && response.outputs.length > 0 ? undefined : 'NO_OUTPUTS');
      });
    },
    inFlight: () => inFlight,
    ready: (deadline) =>
      new Promise<void>((resolve, reject) => {
        client.waitForReady(deadline, (error) => (error === undefined || error === null ? resolve() : reject(new Error(`grpc-js client not ready: ${error.message}`))));
      }),
    close: () => client.close(),
  };
}

/**
 * The SDK with `policy` over every address (weights 1). No health watch: the echo servers do not
 * serve grpc.health.v1, and the SDK's watch (as of this writing) takes the UNIMPLEMENTED answer as
 * SERVING but then the stream's 'end' as UNREACHABLE, so the endpoints would flap out of rotation.
 */
function sdkClient(job: SdkJob, policy: SdkPolicy): ClientUnderTest {
  const client: ModelServeClient = createClient({ endpoints: job.addresses.map((address) => ({ address, weight: 1 })), policy, healthCheck: false });
  const input = { data: inputValues(model, 1, SEED), shape: [1, ...model.sampleDims] };
  const timeoutMs = job.deadlineMs > 0 ? job.deadlineMs : 30_000;
  let inFlight = 0;
  return {
    send(done) {
      inFlight++;
      client.predict(model.name, { [model.inputName]: input }, { timeoutMs }).then(
        (result) => {
          inFlight--;
          done(result.outputs[model.outputName] !== undefined ? undefined : 'NO_OUTPUTS');
        },
        (error: unknown) => {
          inFlight--;
          done(statusName((error as { code?: number }).code));
        },
      );
    },
    inFlight: () => inFlight,
    async ready(deadline) {
      for (;;) {
        const endpoints = client.stats().endpoints;
        if (endpoints.length === job.addresses.length && endpoints.every((e) => e.health === 'SERVING')) break;
        if (Date.now() > deadline) throw new Error(`SDK endpoints not serving: ${endpoints.map((e) => `${e.address} ${e.health}`).join(', ')}`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      // One call first, so that a wrong setup fails here with the SDK's message rather than as errors in the window.
      await client.predict(model.name, { [model.inputName]: input }, { timeoutMs: Math.max(1, deadline - Date.now()) });
    },
    close: () => void client.close(),
  };
}

/** CPU time (µs) and event-loop utilization between `start()` and the first `stop()`. */
class WindowMeter {
  cpuUs: number | undefined;
  utilization = 0;
  private cpu: NodeJS.CpuUsage | undefined;
  private elu: EventLoopUtilization | undefined;

  start(): void {
    this.cpu = process.cpuUsage();
    this.elu = performance.eventLoopUtilization();
  }

  stop(): void {
    if (this.cpu === undefined || this.cpuUs !== undefined) return;
    const cpu = process.cpuUsage(this.cpu);
    this.cpuUs = cpu.user + cpu.system;
    this.utilization = performance.eventLoopUtilization(this.elu).utilization;
  }
}

async function run(job: SdkJob): Promise<SdkRun> {
  let client = clients.get(job.client);
  if (client === undefined) {
    client = job.client === 'grpc' ? grpcClient(job) : sdkClient(job, job.client);
    clients.set(job.client, client);
    await client.ready(Date.now() + 10_000);
  }
  // A job without a window (the parent's warm-up pass) counts everything it answers.
  const origin = performance.now();
  const start = job.durationMs > 0 ? origin + job.warmupMs : origin;
  const end = origin + job.warmupMs + job.durationMs;
  const windowMs = end - start;
  const record = new LoadRecord({ start, end, requests: 0 });
  const drainMs = job.deadlineMs > 0 ? Math.min(job.deadlineMs, 10_000) : 10_000;
  // CPU time and event-loop utilization over the window, read by timers at its edges.
  const meter = new WindowMeter();
  const atStart = setTimeout(() => meter.start(), start - origin);
  const atEnd = setTimeout(() => meter.stop(), end - origin);
  await runClosedLoop(Array.from({ length: job.concurrency }, () => client), record, drainMs);
  clearTimeout(atStart);
  clearTimeout(atEnd);
  meter.stop();
  const result: SdkRun = {
    requestsPerSecond: windowMs > 0 ? record.completed / (windowMs / 1000) : 0,
    completed: record.completed,
    errors: record.errors,
    windowMs,
    latency: summarize(record.histogram),
    cpuPerCallUs: meter.cpuUs === undefined || record.completed === 0 ? undefined : meter.cpuUs / record.completed,
    eventLoopUtilization: meter.utilization,
  };
  record.destroy();
  return result;
}

exitWithParent(() => {
  for (const client of clients.values()) client.close();
});
process.on('message', (message: ToSdkWorker) => {
  run(message.job).then(
    (result) => send({ type: 'result', result }),
    (error: unknown) => send({ type: 'failed', message: error instanceof Error ? error.message : String(error) }),
  );
});
send({ type: 'ready' });
