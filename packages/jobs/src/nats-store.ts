/**
 * The job store on NATS JetStream, shared by every replica pointed at one nats-server.
 *
 * - KV bucket `modelserve_jobs` (JSON values):
 *   - `job.<id>`: the job without its progress (spec, state, times, message). Changed by
 *     `transition` only, by compare-and-set on the key's revision.
 *   - `progress.<id>`: rowsDone, rowsFailed, chunksDone, the first errors and `counted`, a bitmap of
 *     the chunks those counters include (base64, bit `c % 8` of byte `c / 8` is chunk c: 2 KB for
 *     15,625 chunks). Changed by `commit` only, by compare-and-set.
 *   - `idem.<sha256 hex of the idempotency key>`: the id of the job created with that key.
 * - KV bucket `modelserve_job_results`: `<id>.<chunk>`, a chunk's encoded results, written once.
 * - Object store `modelserve_job_inputs`: object `<id>`, a job's encoded inline rows (any size).
 *
 * A commit is exactly once without a transaction across keys: (1) create the results key, which
 * fails if it exists: an earlier attempt, perhaps on a replica that died since, stored them; (2)
 * compare-and-set the progress: a chunk whose bit is set is counted already, so nothing changes and
 * the answer is `committed: false`; otherwise the bit is set and the rows and errors of the results
 * *stored* are added (decoded again when an earlier attempt stored them), so the counters always
 * describe the results kept. A process that dies before (1) left nothing; between (1) and (2), left
 * results that the chunk's redelivery counts, once; after (2), left nothing for the redelivery to do.
 * Two replicas committing one chunk at once: one create wins, and the bit lets one CAS count it.
 *
 * A create checks the idempotency key first (kv.create of `idem.<hash>`: the first job wins), then
 * stores the inline rows, `progress.<id>` and last `job.<id>`, so a job is visible only once all it
 * needs exists. A create that finds the key claimed waits for the winner's job; a claim whose job
 * does not appear within `idempotencyWaitMs` (its replica died) is taken over by CAS, and a creator
 * that finds its claim taken over after all removes its job and answers with the winner's.
 */
import { createHash } from 'node:crypto';
import { DeliverPolicy } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { type ObjectStore, Objm, StorageType } from '@nats-io/obj';
import type { NatsConnection } from '@nats-io/transport-node';
import { decodeChunk } from './chunk-codec.js';
import { casBackoff, connectJetStream, type JetStreamConnection, headerAllowance, isWrongLastSequence, maxValueBytes } from './nats-connect.js';
import { type ChunkCommit, type JobRecord, type JobState, type JobStore, type ListFilter, mergeErrors, type RowError } from './types.js';

/** Where the store keeps things, and how long a create trusts another's idempotency claim. */
export interface NatsJobStoreOptions {
  /** KV bucket of jobs, their progress and idempotency keys (default `modelserve_jobs`). */
  jobsBucket?: string | undefined;
  /** KV bucket of chunk results (default `modelserve_job_results`). */
  resultsBucket?: string | undefined;
  /** Object store of inline rows (default `modelserve_job_inputs`). */
  inputsBucket?: string | undefined;
  /** Stream replicas of each bucket, for a nats-server cluster (default 1). */
  replicas?: number | undefined;
  /** How long a create waits for the job of an idempotency key another create claimed before it takes the key over (default 10,000 ms). */
  idempotencyWaitMs?: number | undefined;
}

/** `job.<id>`: a job without its progress. */
type JobHead = Omit<JobRecord, 'rowsDone' | 'rowsFailed' | 'chunksDone' | 'errors'>;

/** `progress.<id>`: the counters and which chunks they include. */
interface Progress {
  rowsDone: number;
  rowsFailed: number;
  chunksDone: number;
  errors: RowError[];
  /** Base64 bitmap of the counted chunks. */
  counted: string;
}

/** Room the first errors and the counters leave beside a progress's bitmap. */
const progressAllowance = 64 * 1024;
/** Concurrent reads of a listing. */
const readWindow = 64;

const jobKey = (id: string): string => `job.${id}`;
const progressKey = (id: string): string => `progress.${id}`;
const resultsKey = (id: string, chunk: number): string => `${id}.${chunk}`;
const idempotencyKeyOf = (key: string): string => `idem.${createHash('sha256').update(key).digest('hex')}`;

function headOf(job: JobRecord): JobHead {
  const { rowsDone: _rowsDone, rowsFailed: _rowsFailed, chunksDone: _chunksDone, errors: _errors, ...head } = job;
  return head;
}

const recordOf = (head: JobHead, progress: Progress | undefined): JobRecord => ({
  ...head,
  rowsDone: progress?.rowsDone ?? 0,
  rowsFailed: progress?.rowsFailed ?? 0,
  chunksDone: progress?.chunksDone ?? 0,
  errors: progress?.errors ?? [],
});

const bitmapBytes = (chunks: number): number => Math.ceil(chunks / 8);
const base64Length = (bytes: number): number => 4 * Math.ceil(bytes / 3);

/** Jobs, inline rows and chunk results in JetStream's key-value and object stores (see the file's comment). */
export class NatsJobStore implements JobStore {
  private constructor(
    private readonly connection: JetStreamConnection,
    private readonly jobsBucket: string,
    private readonly jobs: KV,
    private readonly chunkResults: KV,
    private readonly inputs: ObjectStore,
    private readonly idempotencyWaitMs: number,
  ) {}

  /** Connects to `target` (a URL, or a connection the caller keeps and closes) and creates the buckets that are missing. */
  static async open(target: string | NatsConnection, options: NatsJobStoreOptions = {}): Promise<NatsJobStore> {
    const connection = await connectJetStream(target, 'modelserve-job-store');
    try {
      const kvm = new Kvm(connection.js);
      const objm = new Objm(connection.js);
      const replicas = options.replicas ?? 1;
      const storage = StorageType.File;
      const jobsBucket = options.jobsBucket ?? 'modelserve_jobs';
      const [jobs, results, inputs] = await Promise.all([
        openOnce(() => kvm.create(jobsBucket, { history: 1, storage, replicas, description: 'modelserve batch jobs: records, progress, idempotency keys' })),
        openOnce(() => kvm.create(options.resultsBucket ?? 'modelserve_job_results', { history: 1, storage, replicas, description: 'modelserve batch jobs: chunk results' })),
        openOnce(() => objm.create(options.inputsBucket ?? 'modelserve_job_inputs', { storage, replicas, description: 'modelserve batch jobs: inline rows' })),
      ]);
      return new NatsJobStore(connection, jobsBucket, jobs, results, inputs, options.idempotencyWaitMs ?? 10_000);
    } catch (error) {
      if (connection.owned) await connection.nc.close().catch(() => undefined);
      throw error;
    }
  }

  async create(job: JobRecord, inline?: Uint8Array): Promise<{ job: JobRecord; created: boolean }> {
    const room = maxValueBytes(this.connection.nc) - progressAllowance;
    if (base64Length(bitmapBytes(job.chunksTotal)) > room) {
      throw new Error(`job ${job.id} has ${job.chunksTotal} chunks; the NATS server's max_payload allows at most ${Math.floor((room * 3) / 4) * 8} per job (one bit each in the job's progress): use larger chunks`);
    }
    const claim = job.idempotencyKey === undefined ? undefined : idempotencyKeyOf(job.idempotencyKey);
    if (claim !== undefined) {
      const winner = await this.claim(claim, job.id);
      if (winner !== undefined) return { job: winner, created: false };
    }
    if (inline !== undefined) await this.inputs.putBlob({ name: job.id }, inline);
    const progress: Progress = { rowsDone: 0, rowsFailed: 0, chunksDone: 0, errors: [], counted: Buffer.alloc(bitmapBytes(job.chunksTotal)).toString('base64') };
    await this.jobs.create(progressKey(job.id), JSON.stringify(progress));
    await this.jobs.create(jobKey(job.id), JSON.stringify(headOf(job)));
    if (claim !== undefined) {
      const owner = (await this.jobs.get(claim))?.string();
      if (owner !== undefined && owner !== job.id) {
        // This create stalled past idempotencyWaitMs and another took the key over: that job wins.
        await this.remove(job.id);
        const winner = await this.waitForJob(owner);
        if (winner !== undefined) return { job: winner, created: false };
        throw new Error(`job ${job.id}: idempotency key ${job.idempotencyKey} was taken over by job ${owner}, which has not appeared; submit again`);
      }
    }
    return { job: recordOf(headOf(job), progress), created: true };
  }

  /**
   * Claims `claim` for job `id`: undefined once claimed, or the job that holds it. Waits for a
   * claimed job that is not stored yet; takes over a claim whose job never appears.
   */
  private async claim(claim: string, id: string): Promise<JobRecord | undefined> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.jobs.create(claim, id);
        return undefined;
      } catch (error) {
        if (!isWrongLastSequence(error)) throw error;
      }
      const entry = await this.jobs.get(claim);
      if (entry === null || entry.operation !== 'PUT') continue;
      const holder = entry.string();
      if (holder === id) return undefined;
      const job = await this.waitForJob(holder);
      if (job !== undefined) return job;
      try {
        await this.jobs.update(claim, id, entry.revision);
        return undefined;
      } catch (error) {
        if (!isWrongLastSequence(error)) throw error;
        await casBackoff(attempt);
      }
    }
  }

  /** Job `id`, waiting up to `idempotencyWaitMs` for it to be stored. */
  private async waitForJob(id: string): Promise<JobRecord | undefined> {
    const deadline = Date.now() + this.idempotencyWaitMs;
    for (let pause = 10; ; pause = Math.min(pause * 2, 500)) {
      const job = await this.get(id);
      if (job !== undefined || Date.now() >= deadline) return job;
      await new Promise((resolve) => setTimeout(resolve, Math.min(pause, deadline - Date.now())));
    }
  }

  /** Removes a job that lost its idempotency key after all (before anyone was told of it). */
  private async remove(id: string): Promise<void> {
    await this.jobs.purge(jobKey(id));
    await this.jobs.purge(progressKey(id));
    await this.inputs.delete(id).catch(() => undefined);
  }

  async get(id: string): Promise<JobRecord | undefined> {
    const [head, progress] = await Promise.all([this.head(id), this.progress(id)]);
    return head === undefined ? undefined : recordOf(head.value, progress?.value);
  }

  private async head(id: string): Promise<{ value: JobHead; revision: number } | undefined> {
    const entry = await this.jobs.get(jobKey(id));
    return entry === null || entry.operation !== 'PUT' ? undefined : { value: entry.json<JobHead>(), revision: entry.revision };
  }

  private async progress(id: string): Promise<{ value: Progress; revision: number } | undefined> {
    const entry = await this.jobs.get(progressKey(id));
    return entry === null || entry.operation !== 'PUT' ? undefined : { value: entry.json<Progress>(), revision: entry.revision };
  }

  async byIdempotencyKey(key: string): Promise<JobRecord | undefined> {
    const entry = await this.jobs.get(idempotencyKeyOf(key));
    return entry === null || entry.operation !== 'PUT' ? undefined : this.get(entry.string());
  }

  async list(filter: ListFilter): Promise<JobRecord[]> {
    const states = filter.states !== undefined && filter.states.length > 0 ? new Set(filter.states) : undefined;
    const heads = (await this.heads())
      .filter((h) => (states === undefined || states.has(h.state)) && (filter.model === undefined || h.model === filter.model) && (filter.before === undefined || h.id < filter.before))
      .sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0))
      .slice(0, filter.limit);
    const jobs: JobRecord[] = [];
    for (let at = 0; at < heads.length; at += readWindow) {
      const window = heads.slice(at, at + readWindow);
      const progress = await Promise.all(window.map((h) => this.progress(h.id)));
      window.forEach((h, i) => jobs.push(recordOf(h, progress[i]?.value)));
    }
    return jobs;
  }

  async countActive(): Promise<number> {
    return (await this.heads()).filter((h) => h.state === 'QUEUED' || h.state === 'RUNNING').length;
  }

  /**
   * Every job's head, read in one pass over the bucket's stream: an ordered consumer of each
   * `job.*` key's last value (a head changed during the pass comes twice; the later one wins).
   */
  private async heads(): Promise<JobHead[]> {
    const subject = `$KV.${this.jobsBucket}.job.>`;
    const consumer = await this.connection.js.consumers.get(`KV_${this.jobsBucket}`, { filter_subjects: subject, deliver_policy: DeliverPolicy.LastPerSubject });
    try {
      const heads = new Map<string, JobHead>();
      let left = (await consumer.info(true)).num_pending;
      if (left === 0) return [];
      const messages = await consumer.fetch({ max_messages: left, expires: 10_000 });
      for await (const m of messages) {
        left = m.info.pending;
        const id = m.subject.slice(subject.length - 1);
        if ((m.headers?.get('KV-Operation') ?? '') === '') heads.set(id, m.json<JobHead>());
        else heads.delete(id);
        if (left === 0) break;
      }
      if (left > 0) throw new Error(`listing jobs: the NATS server stopped sending ${subject} with ${left} keys left`);
      return [...heads.values()];
    } finally {
      await consumer.delete().catch(() => undefined);
    }
  }

  async inline(id: string): Promise<Uint8Array | undefined> {
    return (await this.inputs.getBlob(id)) ?? undefined;
  }

  async commit(commit: ChunkCommit): Promise<{ committed: boolean; job: JobRecord | undefined }> {
    const { jobId, chunk } = commit;
    const head = await this.head(jobId);
    if (head === undefined) return { committed: false, job: undefined };
    if (!Number.isSafeInteger(chunk) || chunk < 0 || chunk >= head.value.chunksTotal) throw new Error(`job ${jobId} has chunks 0 to ${head.value.chunksTotal - 1}, not ${chunk}`);
    const limit = maxValueBytes(this.connection.nc);
    if (commit.results.byteLength > limit) {
      throw new Error(
        `job ${jobId} chunk ${chunk}: its results take ${commit.results.byteLength} bytes, more than the ${limit} a NATS message holds (max_payload ${limit + headerAllowance} less ${headerAllowance} for headers): use smaller chunks or fewer outputs`,
      );
    }
    let counts: { rowsOk: number; rowErrors: readonly RowError[] } | undefined;
    try {
      await this.chunkResults.create(resultsKey(jobId, chunk), commit.results);
      counts = commit;
    } catch (error) {
      if (!isWrongLastSequence(error)) throw error;
    }
    return this.count(jobId, chunk, counts);
  }

  /**
   * Counts chunk `chunk` of job `jobId` in its progress unless it is counted: with `counts` (the
   * results this call stored) or, undefined, those of the results stored before.
   */
  private async count(jobId: string, chunk: number, counts: { rowsOk: number; rowErrors: readonly RowError[] } | undefined): Promise<{ committed: boolean; job: JobRecord | undefined }> {
    for (let attempt = 0; ; attempt++) {
      const [head, progress] = await Promise.all([this.head(jobId), this.progress(jobId)]);
      if (head === undefined || progress === undefined) return { committed: false, job: undefined };
      const counted = Buffer.from(progress.value.counted, 'base64');
      const bit = 1 << (chunk % 8);
      if ((counted[chunk >> 3]! & bit) !== 0) return { committed: false, job: recordOf(head.value, progress.value) };
      counts ??= await this.storedCounts(jobId, chunk);
      counted[chunk >> 3]! |= bit;
      const next: Progress = {
        rowsDone: progress.value.rowsDone + counts.rowsOk,
        rowsFailed: progress.value.rowsFailed + counts.rowErrors.length,
        chunksDone: progress.value.chunksDone + 1,
        errors: mergeErrors(progress.value.errors, counts.rowErrors),
        counted: counted.toString('base64'),
      };
      try {
        await this.jobs.update(progressKey(jobId), JSON.stringify(next), progress.revision);
        return { committed: true, job: recordOf(head.value, next) };
      } catch (error) {
        if (!isWrongLastSequence(error)) throw error;
        await casBackoff(attempt);
      }
    }
  }

  /** The rows and errors of a chunk's stored results. */
  private async storedCounts(jobId: string, chunk: number): Promise<{ rowsOk: number; rowErrors: RowError[] }> {
    const bytes = await this.results(jobId, chunk);
    if (bytes === undefined) throw new Error(`job ${jobId} chunk ${chunk}: its results key exists but holds no results`);
    const rowErrors: RowError[] = [];
    let rowsOk = 0;
    for (const r of decodeChunk(bytes)) {
      if (r.error === undefined) rowsOk++;
      else rowErrors.push({ row: r.row, message: r.error });
    }
    return { rowsOk, rowErrors };
  }

  async results(id: string, chunk: number): Promise<Uint8Array | undefined> {
    const entry = await this.chunkResults.get(resultsKey(id, chunk));
    return entry === null || entry.operation !== 'PUT' ? undefined : entry.value;
  }

  /** The chunks counted in the job's progress (a chunk whose results are stored but not counted yet is not committed: its redelivery counts it). */
  async committedChunks(id: string): Promise<Set<number>> {
    const progress = await this.progress(id);
    const chunks = new Set<number>();
    if (progress === undefined) return chunks;
    const counted = Buffer.from(progress.value.counted, 'base64');
    for (let byte = 0; byte < counted.length; byte++) {
      if (counted[byte] === 0) continue;
      for (let bit = 0; bit < 8; bit++) if ((counted[byte]! & (1 << bit)) !== 0) chunks.add(byte * 8 + bit);
    }
    return chunks;
  }

  async transition(id: string, from: readonly JobState[], to: JobState, patch?: Partial<Pick<JobRecord, 'startedMs' | 'finishedMs' | 'message'>>): Promise<JobRecord | undefined> {
    for (let attempt = 0; ; attempt++) {
      const head = await this.head(id);
      if (head === undefined || !from.includes(head.value.state)) return undefined;
      const next: JobHead = { ...head.value, ...patch, state: to };
      try {
        await this.jobs.update(jobKey(id), JSON.stringify(next), head.revision);
        return recordOf(next, (await this.progress(id))?.value);
      } catch (error) {
        if (!isWrongLastSequence(error)) throw error;
        await casBackoff(attempt);
      }
    }
  }

  /** Drains the connection if the store opened it; a connection passed in stays open. */
  async close(): Promise<void> {
    if (this.connection.owned && !this.connection.nc.isClosed()) await this.connection.nc.drain();
  }
}

/** Opens a bucket, trying once more if another replica was creating it at the same moment. */
async function openOnce<T>(open: () => Promise<T>): Promise<T> {
  try {
    return await open();
  } catch {
    return open();
  }
}
