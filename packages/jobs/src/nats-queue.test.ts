import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, headers, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { chunkStream, type DeadChunk, deadLetterStream, NatsChunkQueue, type NatsChunkQueueOptions, priorAttemptsHeader, workersConsumer } from './nats-queue.js';
import { type NatsServer, startNatsServer } from './testing/index.js';
import { type ChunkTask, type JobRecord, maxAttempts, RetryLater } from './types.js';

let server: NatsServer;
let admin: NatsConnection;
let jsm: JetStreamManager;
const opened: NatsChunkQueue[] = [];
const connections: NatsConnection[] = [];

beforeAll(async () => {
  server = await startNatsServer();
  admin = await connect({ servers: server.url });
  jsm = await jetstreamManager(admin);
});

afterEach(async () => {
  await Promise.all(opened.splice(0).map((q) => q.close()));
  await Promise.all(connections.splice(0).map((nc) => nc.close()));
  for (const stream of [chunkStream, deadLetterStream]) await jsm.streams.delete(stream).catch(() => undefined);
});

afterAll(async () => {
  await admin?.close();
  await server?.stop();
});

/** Quick retries; an ack wait no busy CI machine outlasts between a delivery and its ack. */
const fast: NatsChunkQueueOptions = { ackWaitMs: 10_000, retryLaterMs: 10, retryBackoffMs: 10, pullExpiresMs: 1000 };
/** Chunks whose replica vanished come back after 2 s. */
const shortAckWait: NatsChunkQueueOptions = { ...fast, ackWaitMs: 2000 };

async function openQueue(options: NatsChunkQueueOptions = fast, target: string | NatsConnection = server.url): Promise<NatsChunkQueue> {
  const queue = await NatsChunkQueue.open(target, options);
  opened.push(queue);
  return queue;
}

const jobOf = (id: string): JobRecord => ({ id, chunksTotal: 0 }) as JobRecord;
const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

function deferred<T = void>(): { promise: Promise<T>; resolve(value: T): void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** Polls `check` until it holds (a server's counters settle after acks it receives asynchronously). */
async function eventually(check: () => Promise<boolean>, what: string): Promise<void> {
  for (const deadline = Date.now() + 20_000; !(await check()); ) {
    if (Date.now() > deadline) throw new Error(`still not ${what} after 20 s`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const settled = (): Promise<void> =>
  eventually(async () => {
    const info = await jsm.consumers.info(chunkStream, workersConsumer);
    return info.num_pending === 0 && info.num_ack_pending === 0;
  }, 'every chunk acknowledged');

async function deadLetters(): Promise<{ subject: string; body: DeadChunk }[]> {
  const consumer = await jetstream(admin).consumers.get(deadLetterStream);
  const count = (await consumer.info(true)).num_pending;
  const found: { subject: string; body: DeadChunk }[] = [];
  if (count === 0) return found;
  for await (const m of await consumer.fetch({ max_messages: count, expires: 2000 })) {
    found.push({ subject: m.subject, body: m.json<DeadChunk>() });
    if (m.info.pending === 0) break;
  }
  return found;
}

const noDeadLetters = { deadLetter: (task: ChunkTask, reason: string) => Promise.reject(new Error(`chunk ${task.chunk} dead-lettered: ${reason}`)) };

describe('NatsChunkQueue', () => {
  it('hands every chunk to exactly one of two replicas', async () => {
    const [a, b] = await Promise.all([openQueue(), openQueue()]);
    const runs = new Map<number, { replica: string; attempt: number }[]>();
    const total = 200;
    const all = deferred();
    // Each replica's first runs wait until both have one: so both take part, whatever the timing.
    const both = deferred();
    const started = new Set<string>();
    const handlers = (replica: string) => ({
      ...noDeadLetters,
      run: async (task: ChunkTask) => {
        started.add(replica);
        if (started.size === 2) both.resolve();
        await both.promise;
        runs.set(task.chunk, [...(runs.get(task.chunk) ?? []), { replica, attempt: task.attempt }]);
        if (runs.size === total) all.resolve();
      },
    });
    await a.enqueue(jobOf('0000000000001-aaaaaaaaaa'), range(total));
    a.start(handlers('a'), 4);
    b.start(handlers('b'), 4);
    await all.promise;
    await Promise.all([a.close(), b.close()]);
    await settled();
    expect([...runs.keys()].sort((x, y) => x - y)).toEqual(range(total));
    expect([...runs.values()].every((r) => r.length === 1 && r[0]!.attempt === 1)).toBe(true);
    expect(new Set([...runs.values()].map((r) => r[0]!.replica))).toEqual(new Set(['a', 'b']));
  });

  it('enqueues a large job quickly, and an enqueue retried adds nothing', async () => {
    const queue = await openQueue();
    const job = jobOf('0000000000002-bbbbbbbbbb');
    await queue.enqueue(job, range(15_625));
    await queue.enqueue(job, range(100));
    expect((await jsm.streams.info(chunkStream)).state.messages).toBe(15_625);
  });

  it('hands a chunk that throws RetryLater over again without counting an attempt', async () => {
    const queue = await openQueue();
    const attempts: number[] = [];
    const done = deferred();
    await queue.enqueue(jobOf('0000000000003-cccccccccc'), [0]);
    queue.start(
      {
        ...noDeadLetters,
        run: (task) => {
          attempts.push(task.attempt);
          if (attempts.length <= maxAttempts + 2) return Promise.reject(new RetryLater('the model queue is full'));
          done.resolve();
          return Promise.resolve();
        },
      },
      1,
    );
    await done.promise;
    await queue.close();
    await settled();
    expect(attempts).toEqual(Array(maxAttempts + 3).fill(1));
    expect(await deadLetters()).toEqual([]);
  });

  it('dead-letters a chunk that fails maxAttempts times, with the last error, and keeps it on the dead-letter stream', async () => {
    const queue = await openQueue();
    const attempts: number[] = [];
    const buried = deferred<{ task: ChunkTask; reason: string }>();
    await queue.enqueue(jobOf('0000000000004-dddddddddd'), [7]);
    queue.start(
      {
        run: (task) => {
          attempts.push(task.attempt);
          return Promise.reject(new Error(`row ${task.chunk * 4} poisoned the model (attempt ${task.attempt})`));
        },
        deadLetter: (task, reason) => {
          buried.resolve({ task, reason });
          return Promise.resolve();
        },
      },
      2,
    );
    const { task, reason } = await buried.promise;
    await queue.close();
    await settled();
    expect(attempts).toEqual([1, 2, 3].slice(0, maxAttempts));
    expect(task).toEqual({ jobId: '0000000000004-dddddddddd', chunk: 7, attempt: maxAttempts });
    expect(reason).toBe(`row 28 poisoned the model (attempt ${maxAttempts})`);
    expect(await deadLetters()).toEqual([{ subject: 'modelserve.jobs.dead.0000000000004-dddddddddd', body: { jobId: '0000000000004-dddddddddd', chunk: 7, attempts: maxAttempts, reason } }]);
  });

  it('hands a chunk to another replica after the ack wait when the one running it loses its connection', async () => {
    const nc = await connect({ servers: server.url });
    connections.push(nc);
    const a = await openQueue(shortAckWait, nc);
    const b = await openQueue(shortAckWait);
    const takenByA = deferred<ChunkTask>();
    const neverEnds = deferred();
    const takenByB = deferred<ChunkTask>();
    await a.enqueue(jobOf('0000000000005-eeeeeeeeee'), [3]);
    a.start(
      {
        ...noDeadLetters,
        run: (task) => {
          takenByA.resolve(task);
          return neverEnds.promise;
        },
      },
      1,
    );
    expect(await takenByA.promise).toEqual({ jobId: '0000000000005-eeeeeeeeee', chunk: 3, attempt: 1 });
    // As if the process were killed: the connection goes, the chunk is never acknowledged.
    await nc.close();
    b.start(
      {
        ...noDeadLetters,
        run: (task) => {
          takenByB.resolve(task);
          return Promise.resolve();
        },
      },
      1,
    );
    expect(await takenByB.promise).toEqual({ jobId: '0000000000005-eeeeeeeeee', chunk: 3, attempt: 2 });
    neverEnds.resolve();
    await settled();
  });

  it('dead-letters without running it a chunk handed over more than maxAttempts times', async () => {
    const queue = await openQueue();
    const h = headers();
    h.set(priorAttemptsHeader, String(maxAttempts));
    await jetstream(admin).publish('modelserve.jobs.chunks.0000000000006-ffffffffff', JSON.stringify({ jobId: '0000000000006-ffffffffff', chunk: 1 }), { headers: h });
    const buried = deferred<{ task: ChunkTask; reason: string }>();
    queue.start(
      {
        run: (task) => Promise.reject(new Error(`chunk ${task.chunk} ran`)),
        deadLetter: (task, reason) => {
          buried.resolve({ task, reason });
          return Promise.resolve();
        },
      },
      1,
    );
    const { task, reason } = await buried.promise;
    expect(task).toEqual({ jobId: '0000000000006-ffffffffff', chunk: 1, attempt: maxAttempts });
    expect(reason).toMatch(/handed over 3 times without finishing/);
    await queue.close();
    await settled();
  });

  it('keeps a run longer than the ack wait its own by telling the server it is still working', async () => {
    const [a, b] = await Promise.all([openQueue(shortAckWait), openQueue(shortAckWait)]);
    const runs: string[] = [];
    const finished = deferred();
    const handlers = (replica: string) => ({
      ...noDeadLetters,
      run: async (task: ChunkTask) => {
        runs.push(`${replica} ${task.chunk}`);
        // Two and a half ack waits: without progress signals the server would hand the chunk to b meanwhile.
        await new Promise((resolve) => setTimeout(resolve, 5000));
        finished.resolve();
      },
    });
    await a.enqueue(jobOf('0000000000008-8888888888'), [0]);
    a.start(handlers('a'), 1);
    await eventually(() => Promise.resolve(runs.length === 1), 'running');
    b.start(handlers('b'), 1);
    await finished.promise;
    await settled();
    expect(runs).toEqual(['a 0']);
  });

  it('closes after the chunks in flight finish and are acknowledged, then pulls nothing more', async () => {
    const shared = await connect({ servers: server.url });
    connections.push(shared);
    const queue = await openQueue(fast, shared);
    const running = deferred();
    const release = deferred();
    const events: string[] = [];
    await queue.enqueue(jobOf('0000000000007-0000000000'), [0]);
    queue.start(
      {
        ...noDeadLetters,
        run: async (task) => {
          events.push(`run ${task.chunk}`);
          running.resolve();
          await release.promise;
          events.push(`finished ${task.chunk}`);
        },
      },
      2,
    );
    await running.promise;
    const closed = queue.close().then(() => events.push('closed'));
    release.resolve();
    await closed;
    expect(events).toEqual(['run 0', 'finished 0', 'closed']);
    expect(shared.isClosed()).toBe(false);
    await settled();
    // The other slot's pull was waiting when the queue closed: a chunk queued now stays queued.
    await (await openQueue()).enqueue(jobOf('0000000000007-0000000000'), [1]);
    await eventually(async () => {
      const info = await jsm.consumers.info(chunkStream, workersConsumer);
      return info.num_pending === 1 && info.num_ack_pending === 0 && info.num_waiting === 0;
    }, 'chunk 1 left queued');
    expect(events).toEqual(['run 0', 'finished 0', 'closed']);
  });
});
