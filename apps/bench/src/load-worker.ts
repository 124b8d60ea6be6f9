/**
 * A load worker process (forked by load-generator.ts): runs the jobs it is sent with its own
 * grpc-js connections and answers each with counts and an HDR latency histogram.
 */
import { performance } from 'node:perf_hooks';
import type * as grpc from '@grpc/grpc-js';
import { exitWithParent } from './children.js';
import { encodeHistogram } from './histogram.js';
import { LoadRecord, runClosedLoop, runOpenLoop, type LoadWindow } from './load-loops.js';
import { openClient, streamSender, unarySender, type Sender } from './load-senders.js';
import type { FromLoadWorker, LoadJob, ToLoadWorker, WorkerResult } from './types.js';

let clients: grpc.Client[] = [];
let clientsAddress = '';

function send(message: FromLoadWorker): void {
  process.send?.(message);
}

function closeClients(): void {
  for (const client of clients) client.close();
  clients = [];
}

/** The job's connections, reused while the address stays the same (new servers get new ones). */
function clientsFor(job: LoadJob): grpc.Client[] {
  if (clientsAddress !== job.address || clients.length !== job.channels) {
    closeClients();
    clientsAddress = job.address;
    clients = Array.from({ length: Math.max(1, job.channels) }, () => openClient(job.address));
  }
  return clients;
}

/** One sender per loop (closed loop) or per connection or stream (open loop). */
function senders(job: LoadJob, payloads: Buffer[]): { loops: Sender[]; all: Sender[] } {
  const conns = clientsFor(job);
  if (job.method === 'unary') {
    const all = conns.map((client) => unarySender(client, payloads, job.deadlineMs));
    const loops = Array.from({ length: job.concurrency }, (_, i) => all[i % all.length]!);
    return { loops, all };
  }
  const all = job.streams.map((_, i) => streamSender(conns[i % conns.length]!, payloads));
  const loops = job.streams.flatMap((inFlight, i) => Array.from({ length: inFlight }, () => all[i]!));
  return { loops, all };
}

async function run(job: LoadJob): Promise<WorkerResult> {
  const payloads = job.payloads.map((p) => Buffer.from(p, 'base64'));
  const { loops, all } = senders(job, payloads);
  const origin = performance.now();
  const window: LoadWindow =
    job.requests > 0
      ? { start: origin, end: Infinity, requests: job.requests }
      : { start: origin + job.warmupMs, end: origin + job.warmupMs + job.durationMs, requests: 0, countDrained: job.countDrained };
  const record = new LoadRecord(window, job.deadlineMs);
  const progress = setInterval(() => send({ type: 'progress', completed: record.completed }), 500);
  // A second past the deadline, so that a call sent last can still end with its DEADLINE_EXCEEDED.
  const drainMs = job.deadlineMs > 0 ? Math.min(job.deadlineMs + 1000, 10_000) : 10_000;
  try {
    if (job.rate > 0) await runOpenLoop(all, job.rate, job.maxInFlight, record, drainMs);
    else await runClosedLoop(loops, record, drainMs);
  } finally {
    clearInterval(progress);
    for (const sender of all) sender.close();
  }
  const windowMs = job.requests > 0 ? record.lastAt - origin : job.durationMs;
  const result: WorkerResult = {
    completed: record.completed,
    errors: record.errors,
    dropped: record.dropped,
    unanswered: record.unanswered,
    withinDeadline: record.withinDeadline,
    windowMs,
    histogram: encodeHistogram(record.histogram),
    sendLag: encodeHistogram(record.sendLag),
    errorHistograms: Object.fromEntries(Object.entries(record.errorHistograms).map(([name, histogram]) => [name, encodeHistogram(histogram)])),
  };
  record.destroy();
  return result;
}

exitWithParent(closeClients);
process.on('message', (message: ToLoadWorker) => {
  run(message.job).then(
    (result) => send({ type: 'result', result }),
    (error: unknown) => send({ type: 'failed', message: error instanceof Error ? error.message : String(error) }),
  );
});
send({ type: 'ready' });
