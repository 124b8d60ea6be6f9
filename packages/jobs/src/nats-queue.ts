/**
 * The chunk queue on NATS JetStream, shared by every replica pointed at one nats-server.
 *
 * - Stream `MODELSERVE_JOB_CHUNKS` (subjects `modelserve.jobs.chunks.>`, work-queue retention, file
 *   storage): one message per chunk, `{"jobId","chunk"}` on `modelserve.jobs.chunks.<jobId>`,
 *   removed once acknowledged.
 * - Durable pull consumer `modelserve-job-workers` on it, one for every replica (explicit ack,
 *   `ackWaitMs`, no delivery limit: attempts are counted here).
 * - Stream `MODELSERVE_JOB_DEAD` (subjects `modelserve.jobs.dead.>`, limits retention, 30 days):
 *   `{"jobId","chunk","attempts","reason"}` on `modelserve.jobs.dead.<jobId>` for every chunk given
 *   up on, for operators to read.
 *
 * Each of `concurrency` slots pulls one message at a time (no prefetch: no message waits in a
 * replica's buffer while its ack timer runs) and, while the run lasts, tells the server every third
 * of `ackWaitMs` that it is still working. A chunk's attempt is the `Modelserve-Prior-Attempts`
 * header (0 when enqueued) plus the message's delivery count, so a delivery that never finished
 * (the replica died or lost its connection; the ack timer expired) counts as an attempt too. Then:
 * - `run` resolves: ack.
 * - `run` throws `RetryLater`: after `retryLaterMs` the chunk is published again at the back of
 *   the queue, its header saying this delivery was no attempt, and the message is acked. Publish
 *   before ack: a replica dying in between leaves the message to be redelivered, and the copy
 *   published again is deduplicated by its message id (within the stream's 2 minute window).
 * - `run` throws anything else, below `maxAttempts`: nak, redelivered after `retryBackoffMs`
 *   doubled per attempt.
 * - `run` throws at attempt `maxAttempts`, or a delivery comes beyond it (the replicas running it
 *   kept dying): the chunk goes to the dead-letter stream (deduplicated by message id), `deadLetter`
 *   is called, and the message is acked; if either fails, nak and both are tried again.
 *
 * The stream is first in, first out: job priorities do not reorder chunks here.
 */
import { detailsOf } from '@modelserve/core';
import { AckPolicy, type Consumer, type ConsumerMessages, DeliverPolicy, type JsMsg, RetentionPolicy, StorageType } from '@nats-io/jetstream';
import { headers, type NatsConnection, nanos } from '@nats-io/transport-node';
import { connectJetStream, ensureStream, type JetStreamConnection } from './nats-connect.js';
import { type ChunkQueue, type ChunkTask, type JobRecord, maxAttempts, RetryLater } from './types.js';

/** The work-queue stream of chunks to run. */
export const chunkStream = 'MODELSERVE_JOB_CHUNKS';
/** A job's chunks are published on `<prefix>.<jobId>`. */
export const chunkSubjectPrefix = 'modelserve.jobs.chunks';
/** The stream of chunks given up on, kept 30 days for operators. */
export const deadLetterStream = 'MODELSERVE_JOB_DEAD';
/** A job's dead chunks are published on `<prefix>.<jobId>`. */
export const deadLetterSubjectPrefix = 'modelserve.jobs.dead';
/** The durable pull consumer every replica shares. */
export const workersConsumer = 'modelserve-job-workers';
/** Attempts a chunk had before its message was published (a `RetryLater` publishes it again without counting the delivery). */
export const priorAttemptsHeader = 'Modelserve-Prior-Attempts';

/** A dead-lettered chunk as the dead-letter stream holds it. */
export interface DeadChunk {
  jobId: string;
  chunk: number;
  attempts: number;
  reason: string;
}

/** Timings of the queue; the defaults suit chunks that run for seconds. */
export interface NatsChunkQueueOptions {
  /** How long the server waits for a chunk's ack (or a progress signal) before handing it to another replica (default 30,000 ms). The last replica to start sets it for all. */
  ackWaitMs?: number | undefined;
  /** How long a chunk whose run threw `RetryLater` waits before it is queued again (default 250 ms). */
  retryLaterMs?: number | undefined;
  /** The wait before a failed chunk's second attempt, doubled for each further one (default 1,000 ms). */
  retryBackoffMs?: number | undefined;
  /** How long one pull waits for a message before it asks again (default 10,000 ms, at least 1,000). */
  pullExpiresMs?: number | undefined;
  /** Chunk messages `enqueue` publishes before it waits for their acks (default 1,024). */
  publishWindow?: number | undefined;
  /** Stream replicas, for a nats-server cluster (default 1). */
  replicas?: number | undefined;
}

type Handlers = Parameters<ChunkQueue['start']>[0];

/** Acks, naks or signals progress; a connection lost meanwhile makes it a no-op (the server redelivers after the ack wait). */
function settle(signal: () => void): void {
  try {
    signal();
  } catch {
    // the connection is closed
  }
}

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function parseChunk(data: Uint8Array): { jobId: string; chunk: number } | undefined {
  try {
    const body = JSON.parse(new TextDecoder().decode(data)) as { jobId?: unknown; chunk?: unknown };
    if (typeof body.jobId === 'string' && body.jobId !== '' && Number.isSafeInteger(body.chunk) && (body.chunk as number) >= 0) return { jobId: body.jobId, chunk: body.chunk as number };
  } catch {
    // not JSON: fall through
  }
  return undefined;
}

/** Chunks on a JetStream work queue that every replica consumes (see the file's comment). */
export class NatsChunkQueue implements ChunkQueue {
  private readonly ackWaitMs: number;
  private readonly retryLaterMs: number;
  private readonly retryBackoffMs: number;
  private readonly pullExpiresMs: number;
  private readonly publishWindow: number;
  private closing = false;
  private readonly slots: Promise<void>[] = [];
  /** Pulls waiting for a message, stopped by `close`. */
  private readonly pulls = new Set<ConsumerMessages>();

  private constructor(
    private readonly connection: JetStreamConnection,
    private consumer: Consumer,
    private readonly options: NatsChunkQueueOptions,
  ) {
    this.ackWaitMs = options.ackWaitMs ?? 30_000;
    this.retryLaterMs = options.retryLaterMs ?? 250;
    this.retryBackoffMs = options.retryBackoffMs ?? 1000;
    this.pullExpiresMs = Math.max(1000, options.pullExpiresMs ?? 10_000);
    this.publishWindow = Math.max(1, options.publishWindow ?? 1024);
  }

  /** Connects to `target` (a URL, or a connection the caller keeps and closes) and creates the streams and the consumer that are missing. */
  static async open(target: string | NatsConnection, options: NatsChunkQueueOptions = {}): Promise<NatsChunkQueue> {
    const connection = await connectJetStream(target, 'modelserve-job-queue');
    try {
      return new NatsChunkQueue(connection, await setUp(connection, options), options);
    } catch (error) {
      if (connection.owned) await connection.nc.close().catch(() => undefined);
      throw error;
    }
  }

  async enqueue(job: JobRecord, chunks: readonly number[]): Promise<void> {
    const subject = `${chunkSubjectPrefix}.${job.id}`;
    for (let at = 0; at < chunks.length; at += this.publishWindow) {
      const window = chunks.slice(at, at + this.publishWindow);
      // The message id makes a retried enqueue (within the stream's duplicate window) add nothing.
      await Promise.all(window.map((chunk) => this.connection.js.publish(subject, JSON.stringify({ jobId: job.id, chunk }), { msgID: `${job.id}.${chunk}` })));
    }
  }

  start(handlers: Handlers, concurrency: number): void {
    if (this.closing || this.slots.length > 0) return;
    for (let i = 0; i < Math.max(1, concurrency); i++) this.slots.push(this.slot(handlers));
  }

  /** Pulls and runs one chunk at a time until the queue closes or loses its connection for good. */
  private async slot(handlers: Handlers): Promise<void> {
    for (let failures = 0; !this.closing && !this.connection.nc.isClosed(); ) {
      let message: JsMsg | undefined;
      try {
        const pull = await this.consumer.fetch({ max_messages: 1, expires: this.pullExpiresMs });
        this.pulls.add(pull);
        try {
          for await (const m of pull) {
            message = m;
            break;
          }
        } finally {
          this.pulls.delete(pull);
        }
        failures = 0;
      } catch {
        // The consumer or its stream went away, or the connection is reconnecting: make sure they exist, then pull again.
        if (this.closing || this.connection.nc.isClosed()) break;
        await pause(Math.min(5000, 250 * 2 ** failures++));
        this.consumer = await setUp(this.connection, this.options).catch(() => this.consumer);
        continue;
      }
      if (message === undefined) continue;
      if (this.closing) {
        settle(() => message.nak());
        break;
      }
      await this.handle(handlers, message);
    }
  }

  private async handle(handlers: Handlers, m: JsMsg): Promise<void> {
    const body = parseChunk(m.data);
    if (body === undefined) {
      m.term('not a {"jobId","chunk"} message');
      return;
    }
    const prior = Number(m.headers?.get(priorAttemptsHeader) ?? '0') || 0;
    const attempt = prior + m.info.deliveryCount;
    const working = setInterval(() => settle(() => m.working()), Math.max(100, this.ackWaitMs / 3));
    try {
      if (attempt > maxAttempts) {
        const task = { ...body, attempt: attempt - 1 };
        await this.bury(handlers, m, task, `handed over ${task.attempt} times without finishing: the replicas running it stopped or lost their connection`);
        return;
      }
      const task: ChunkTask = { ...body, attempt };
      try {
        await handlers.run(task);
        settle(() => m.ack());
      } catch (error) {
        if (error instanceof RetryLater) await this.retryLater(m, task);
        else if (attempt < maxAttempts) settle(() => m.nak(this.retryBackoffMs * 2 ** (attempt - 1)));
        else await this.bury(handlers, m, task, detailsOf(error));
      }
    } finally {
      clearInterval(working);
    }
  }

  /** Publishes the chunk again, this delivery not counted, and acks this copy. */
  private async retryLater(m: JsMsg, task: ChunkTask): Promise<void> {
    await pause(this.retryLaterMs);
    const h = headers();
    h.set(priorAttemptsHeader, String(task.attempt - 1));
    try {
      await this.connection.js.publish(m.subject, m.data, { headers: h, msgID: `${task.jobId}.${task.chunk}.later.${m.info.streamSequence}` });
      settle(() => m.ack());
    } catch {
      // Not queued again: have this copy redelivered instead (that delivery counts as an attempt).
      settle(() => m.nak(this.retryLaterMs));
    }
  }

  /** Gives up on a chunk: the dead-letter stream, then `deadLetter`, then the ack. */
  private async bury(handlers: Handlers, m: JsMsg, task: ChunkTask, reason: string): Promise<void> {
    const dead: DeadChunk = { jobId: task.jobId, chunk: task.chunk, attempts: task.attempt, reason };
    try {
      await this.connection.js.publish(`${deadLetterSubjectPrefix}.${task.jobId}`, JSON.stringify(dead), { msgID: `${task.jobId}.${task.chunk}.dead.${m.info.streamSequence}` });
      await handlers.deadLetter(task, reason);
      settle(() => m.ack());
    } catch {
      settle(() => m.nak(this.retryBackoffMs));
    }
  }

  /** Stops pulling, lets the chunks in flight finish (and be acked), then drains the connection if the queue opened it. */
  async close(): Promise<void> {
    this.closing = true;
    for (const pull of this.pulls) pull.stop();
    await Promise.all(this.slots);
    if (this.connection.owned && !this.connection.nc.isClosed()) await this.connection.nc.drain();
  }
}

/** Creates the streams and the workers' consumer unless they exist; the consumer's ack wait becomes `ackWaitMs`. */
async function setUp(connection: JetStreamConnection, options: NatsChunkQueueOptions): Promise<Consumer> {
  const { jsm, js } = connection;
  const replicas = options.replicas ?? 1;
  await Promise.all([
    ensureStream(jsm, { name: chunkStream, subjects: [`${chunkSubjectPrefix}.>`], retention: RetentionPolicy.Workqueue, storage: StorageType.File, num_replicas: replicas }),
    ensureStream(jsm, { name: deadLetterStream, subjects: [`${deadLetterSubjectPrefix}.>`], retention: RetentionPolicy.Limits, storage: StorageType.File, num_replicas: replicas, max_age: nanos(30 * 24 * 3600 * 1000) }),
  ]);
  const config = {
    durable_name: workersConsumer,
    ack_policy: AckPolicy.Explicit,
    ack_wait: nanos(options.ackWaitMs ?? 30_000),
    max_deliver: -1,
    deliver_policy: DeliverPolicy.All,
    filter_subject: `${chunkSubjectPrefix}.>`,
  };
  try {
    await jsm.consumers.add(chunkStream, config);
  } catch {
    // It exists with another configuration (another replica's ack wait): take this one's.
    await jsm.consumers.update(chunkStream, workersConsumer, { ack_wait: config.ack_wait }).catch(() => jsm.consumers.info(chunkStream, workersConsumer));
  }
  return js.consumers.get(chunkStream, workersConsumer);
}
