/**
 * The job engine: submission, chunked execution through the registry's queues below every online
 * priority level, exactly-once commits, and the read side (get, watch, list, results).
 *
 * A chunk is `chunkRows` consecutive rows. Running one reads its rows (from the dataset or the
 * job's inline rows), sets aside the rows that cannot be used (each fails with its reason), runs
 * the others in batches of at most the model's max_batch_size as `background` requests of the
 * pinned version, and commits the chunk's results in one store transaction. A batch the model
 * refuses is run again row by row, so one poisoned row fails alone. A full model queue hands the
 * chunk back for later (no attempt counted); any other failure is retried, and a chunk that fails
 * `maxAttempts` times is dead-lettered: its rows fail with the reason.
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import {
  type DataType,
  detailsOf,
  formatShape,
  invalidArgument,
  type Logger,
  type ModelRegistry,
  ModelServeError,
  type NamedTensor,
  numericArrayOf,
  silentLogger,
  type TensorData,
  type TensorSpec,
} from '@modelserve/core';
import { decodeRows, encodeChunk, decodeChunk, encodeRows } from './chunk-codec.js';
import { datasetFormat, openDataset, openResultWriter, resolveDataPath } from './datasets.js';
import { LocalChunkQueue } from './local-queue.js';
import { NatsChunkQueue } from './nats-queue.js';
import { NatsJobStore } from './nats-store.js';
import {
  type ChunkQueue,
  type ChunkTask,
  chunkCount,
  chunkRange,
  type DatasetRef,
  isTerminal,
  type JobRecord,
  type JobsApi,
  type JobStore,
  type ListOptions,
  type ResultsOptions,
  RetryLater,
  type RowError,
  type RowInputs,
  type RowResult,
  type RowSource,
  type RowTensorSpec,
  type SubmitOptions,
} from './types.js';

export interface JobsOptions {
  registry: ModelRegistry;
  /** Where the embedded store lives (`jobs.sqlite`). Needed unless `queueUrl`. */
  jobsDir?: string | undefined;
  /** Dataset paths are relative to it; undefined: only inline rows. */
  dataDir?: string | undefined;
  /** `nats://host:port`: chunks on a JetStream work queue, state in its key-value store. */
  queueUrl?: string | undefined;
  /** Chunks this replica runs at once (default 4). */
  concurrency?: number | undefined;
  /** Rows one job may have (default 10,000,000). */
  maxRowsPerJob?: number | undefined;
  /** Jobs QUEUED or RUNNING at once (default 100). */
  maxActiveJobs?: number | undefined;
  /** With `queueUrl`: how long a chunk a replica took may go unacknowledged (its replica died) before another replica gets it (default 30 s). */
  ackWaitMs?: number | undefined;
  /** How often a watch reads the store for changes made by other replicas (default 500 ms). */
  watchPollMs?: number | undefined;
  /**
   * While online requests arrive, the fraction of the time chunks may run (default 0.08): each
   * chunk, run alone, is followed by a pause that keeps it to this share; 1, no pause.
   */
  busyShare?: number | undefined;
  logger?: Logger | undefined;
}

/** The store and queue an engine runs on, and what it owns. */
export interface JobsBackend {
  store: JobStore;
  queue: ChunkQueue;
  /** Every chunk of every job lives in this replica's queue only (embedded): queue again, after a restart, what the store has not committed. */
  requeueOnStart: boolean;
}

export const defaultJobsConcurrency = 4;
export const defaultMaxRowsPerJob = 10_000_000;
export const defaultMaxActiveJobs = 100;
/**
 * Measured (issue 19): at 3 (a pause three times each chunk's time, 0.25), online p50 rose 20-35%
 * beside a job on a 2-core VM and p99 by a median 1.27×; at about 12 (0.08) neither moved.
 */
export const defaultJobsBusyShare = 0.08;
const maxChunkRows = 65_536;
const maxPageSize = 1000;
const defaultPageSize = 50;
/** Online requests this recent (ms) make jobs yield. */
const onlineRecentMs = 100;
/** Row sources and inline rows kept open for running jobs. */
const openSourcesKept = 16;

/** A time-ordered id: ms since the epoch (13 digits) and 40 random bits. */
function newJobId(): string {
  return `${String(Date.now()).padStart(13, '0')}-${randomBytes(5).toString('hex')}`;
}

const shapeKey = (inputs: readonly NamedTensor[]): string => inputs.map((t) => t.shape.join(',')).join(';');

function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function nonNegativeInteger(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 0) throw invalidArgument(`${name}: expected a non-negative integer, got ${value}`);
  return value;
}

/** Why `inputs` cannot be one row of a model taking `specs`, or undefined. */
function rowProblem(specs: readonly RowTensorSpec[], inputs: readonly NamedTensor[]): string | undefined {
  if (inputs.length !== specs.length || specs.some((s) => !inputs.some((t) => t.name === s.name))) {
    const got = inputs.map((t) => t.name).join(', ') || 'none';
    return `expected inputs ${specs.map((s) => s.name).join(', ')}, got ${got}`;
  }
  for (const spec of specs) {
    const tensor = inputs.find((t) => t.name === spec.name)!;
    if (tensor.datatype !== spec.datatype) return `input ${spec.name}: expected ${spec.datatype}, got ${tensor.datatype}`;
    const fits = tensor.shape.length === spec.shape.length && spec.shape.every((d, i) => d < 0 || d === tensor.shape[i]);
    if (!fits) return `input ${spec.name}: expected shape ${formatShape(spec.shape)}, got ${formatShape(tensor.shape)}`;
    const length = tensor.data.length;
    if (length !== elementCount(tensor.shape)) return `input ${spec.name}: shape ${formatShape(tensor.shape)} needs ${elementCount(tensor.shape)} elements, got ${length}`;
  }
  return undefined;
}

/** Rows' tensors of one name stacked along a new first dimension. */
function stack(name: string, datatype: DataType, rows: readonly NamedTensor[]): NamedTensor {
  const shape = [rows.length, ...rows[0]!.shape];
  if (datatype === 'BYTES') return { name, datatype, shape, data: rows.flatMap((t) => t.data as Uint8Array[]) };
  const per = rows[0]!.data.length;
  const adjacent = adjacentRows(rows.map((t) => t.data as Exclude<TensorData, Uint8Array[]>));
  if (adjacent !== undefined) return { name, datatype, shape, data: adjacent } as NamedTensor;
  const data = new numericArrayOf[datatype](rows.length * per) as unknown as { set(a: ArrayLike<number | bigint>, at: number): void };
  rows.forEach((t, i) => data.set(t.data as ArrayLike<number | bigint>, i * per));
  return { name, datatype, shape, data } as NamedTensor;
}

/**
 * The rows as one array when they are views of one buffer, each right after the one before (an
 * NPY dataset's rows, read together): the batch is then a view too, with nothing copied.
 */
function adjacentRows(rows: readonly Exclude<TensorData, Uint8Array[]>[]): Exclude<TensorData, Uint8Array[]> | undefined {
  const first = rows[0]!;
  for (let i = 1; i < rows.length; i++) {
    const row = rows[i]!;
    if (row.buffer !== first.buffer || row.constructor !== first.constructor || row.byteOffset !== first.byteOffset + i * first.byteLength || row.byteLength !== first.byteLength) return undefined;
  }
  const Typed = first.constructor as new (buffer: ArrayBufferLike, byteOffset: number, length: number) => Exclude<TensorData, Uint8Array[]>;
  return new Typed(first.buffer, first.byteOffset, first.length * rows.length);
}

/** Row `i` of a batched output: a view of it (results are encoded, then dropped). */
function rowOf(tensor: NamedTensor, i: number, rows: number): NamedTensor {
  const shape = tensor.shape.slice(1);
  const per = tensor.data.length / rows;
  const data = Array.isArray(tensor.data) ? tensor.data.slice(i * per, (i + 1) * per) : (tensor.data as Exclude<TensorData, Uint8Array[]>).subarray(i * per, (i + 1) * per);
  return { name: tensor.name, datatype: tensor.datatype, shape, data } as NamedTensor;
}

/** The rows of one job: its dataset, or its inline rows. */
interface OpenRows {
  read(start: number, end: number): Promise<RowInputs[]>;
  close(): Promise<void>;
}

export class JobEngine implements JobsApi {
  private readonly registry: ModelRegistry;
  private readonly logger: Logger;
  private readonly changes = new EventEmitter();
  private readonly sources = new Map<string, Promise<OpenRows>>();
  private readonly finalizing = new Set<string>();
  private readonly concurrency: number;
  /** While jobs yield, each chunk is followed by a pause this many times as long as it took. */
  private readonly yieldPauseFactor: number;
  private readonly maxRowsPerJob: number;
  private readonly maxActiveJobs: number;
  private readonly watchPollMs: number;
  private closed = false;
  /** Settles when the chunk running while online requests are about has finished and paused. */
  private yielding: Promise<void> = Promise.resolve();

  constructor(
    private readonly backend: JobsBackend,
    private readonly options: JobsOptions,
  ) {
    this.registry = options.registry;
    this.logger = options.logger ?? silentLogger;
    this.concurrency = options.concurrency ?? defaultJobsConcurrency;
    this.maxRowsPerJob = options.maxRowsPerJob ?? defaultMaxRowsPerJob;
    this.maxActiveJobs = options.maxActiveJobs ?? defaultMaxActiveJobs;
    this.watchPollMs = options.watchPollMs ?? 500;
    this.yieldPauseFactor = 1 / checkBusyShare(options.busyShare) - 1;
    this.changes.setMaxListeners(0);
  }

  private get store(): JobStore {
    return this.backend.store;
  }

  /** Queues again what was left (embedded), finishes jobs whose chunks are all committed, and starts running chunks. */
  async start(): Promise<void> {
    const active = await this.store.list({ states: ['QUEUED', 'RUNNING'], limit: Number.MAX_SAFE_INTEGER });
    for (const job of active.reverse()) {
      if (job.chunksDone >= job.chunksTotal) {
        await this.finalize(job);
        continue;
      }
      if (!this.backend.requeueOnStart) continue;
      const committed = await this.store.committedChunks(job.id);
      const left: number[] = [];
      for (let c = 0; c < job.chunksTotal; c++) if (!committed.has(c)) left.push(c);
      this.logger.info({ job: job.id, model: job.model, chunksLeft: left.length, chunksTotal: job.chunksTotal }, `resuming job ${job.id}: ${left.length} of ${job.chunksTotal} chunks left`);
      await this.backend.queue.enqueue(job, left);
    }
    this.backend.queue.start({ run: (task) => this.runChunk(task), deadLetter: (task, reason) => this.deadLetter(task, reason) }, this.concurrency);
  }

  // ---- submission ----

  /** The model's inputs and outputs as one row sees them (no batch dimension). */
  private rowSpecs(specs: readonly TensorSpec[], batches: boolean, what: string): RowTensorSpec[] {
    return specs.map((spec) => {
      if (spec.shape === null) throw invalidArgument(`${what} ${spec.name} has no fixed rank; jobs need one`);
      return { name: spec.name, datatype: spec.datatype, shape: batches ? spec.shape.slice(1) : [...spec.shape] };
    });
  }

  async submit(options: SubmitOptions): Promise<JobRecord> {
    if (this.closed) throw new ModelServeError('Unavailable', 'the job engine is shutting down');
    if (options.model === '') throw invalidArgument('model_name: expected a model name, got an empty string');
    const metadata = this.registry.metadata(options.model, options.version === '' ? undefined : options.version);
    const batches = metadata.maxBatchSize > 0;
    const inputs = this.rowSpecs(metadata.inputs, batches, 'input');
    const outputs = [...(options.outputs ?? [])];
    for (const name of outputs) {
      if (!metadata.outputs.some((o) => o.name === name)) throw invalidArgument(`outputs: ${options.model} has no output "${name}"; expected one of ${metadata.outputs.map((o) => o.name).join(', ')}`);
    }
    const kept = this.rowSpecs(outputs.length === 0 ? metadata.outputs : metadata.outputs.filter((o) => outputs.includes(o.name)), batches, 'output');
    const chunkRows = nonNegativeInteger('chunk_rows', options.chunkRows, 0) || Math.max(1, metadata.maxBatchSize);
    if (chunkRows > maxChunkRows) throw invalidArgument(`chunk_rows: expected at most ${maxChunkRows}, got ${chunkRows}`);
    const priority = nonNegativeInteger('priority', options.priority, 0) || 1;
    const maxFailedRows = nonNegativeInteger('max_failed_rows', options.maxFailedRows, 0);

    if ((options.rows === undefined) === (options.input === undefined)) {
      throw invalidArgument(`expected either inline rows or a dataset, got ${options.rows === undefined ? 'neither' : 'both'}`);
    }
    let rowsTotal: number;
    let inline: Uint8Array | undefined;
    let input: DatasetRef | undefined;
    if (options.rows !== undefined) {
      rowsTotal = options.rows.length;
      if (rowsTotal > this.maxRowsPerJob) throw new ModelServeError('ResourceExhausted', `the job has ${rowsTotal} rows, more than this server's limit of ${this.maxRowsPerJob} per job`);
      inline = encodeRows(options.rows);
    } else {
      const dataDir = this.dataDir('the dataset');
      const source = await openDataset(dataDir, options.input!, inputs);
      rowsTotal = source.rows;
      await source.close();
      input = { path: options.input!.path, format: options.input!.format };
    }
    if (rowsTotal === 0) throw invalidArgument('expected at least one row, got none');
    if (rowsTotal > this.maxRowsPerJob) throw new ModelServeError('ResourceExhausted', `the job has ${rowsTotal} rows, more than this server's limit of ${this.maxRowsPerJob} per job`);
    let output: DatasetRef | undefined;
    if (options.output !== undefined) {
      const dataDir = this.dataDir('the output');
      await resolveDataPath(dataDir, options.output.path, 'output');
      const directory = options.output.format === 'npy-dir' || !/\.(npy|jsonl)$/.test(options.output.path);
      const format = datasetFormat(options.output, directory);
      if (format === 'npy' && kept.length !== 1) throw invalidArgument(`output ${options.output.path}: one .npy file holds one output, the job keeps ${kept.length} (${kept.map((o) => o.name).join(', ')}); use a directory (npy-dir) or jsonl`);
      if (format !== 'jsonl' && kept.some((o) => o.datatype === 'BYTES')) throw invalidArgument(`output ${options.output.path}: NPY holds no BYTES outputs; use jsonl`);
      output = { path: options.output.path, format };
    }

    const key = options.idempotencyKey === '' ? undefined : options.idempotencyKey;
    if (key !== undefined) {
      const existing = await this.store.byIdempotencyKey(key);
      if (existing !== undefined) return existing;
    }
    const active = await this.store.countActive();
    if (active >= this.maxActiveJobs) throw new ModelServeError('ResourceExhausted', `${active} jobs are queued or running, this server's limit is ${this.maxActiveJobs}; retry once some have ended`);

    const spec = { model: options.model, version: metadata.version, input, output, idempotencyKey: key, priority, maxFailedRows, outputs, chunkRows, rowsTotal };
    const job: JobRecord = {
      ...spec,
      id: newJobId(),
      state: 'QUEUED',
      rowsDone: 0,
      rowsFailed: 0,
      chunksTotal: chunkCount(spec),
      chunksDone: 0,
      createdMs: Date.now(),
      startedMs: 0,
      finishedMs: 0,
      errors: [],
      message: '',
    };
    const { job: stored, created } = await this.store.create(job, inline);
    if (!created) return stored;
    await this.backend.queue.enqueue(stored, Array.from({ length: stored.chunksTotal }, (_, i) => i));
    this.logger.info({ job: stored.id, model: stored.model, version: stored.version, rows: rowsTotal, chunks: stored.chunksTotal }, `job ${stored.id} queued: ${rowsTotal} rows of ${stored.model}/${stored.version}`);
    return stored;
  }

  private dataDir(what: string): string {
    if (this.options.dataDir === undefined) throw invalidArgument(`${what} names a file, but this server has no --jobs-data-dir; send the rows inline or start it with one`);
    return this.options.dataDir;
  }

  // ---- execution ----

  private rows(job: JobRecord): Promise<OpenRows> {
    let rows = this.sources.get(job.id);
    if (rows === undefined) {
      rows = this.openRows(job);
      this.sources.set(job.id, rows);
      rows.catch(() => this.sources.delete(job.id));
      if (this.sources.size > openSourcesKept) {
        const oldest = this.sources.keys().next().value!;
        this.forget(oldest);
      }
    }
    return rows;
  }

  private async openRows(job: JobRecord): Promise<OpenRows> {
    if (job.input === undefined) {
      const bytes = await this.store.inline(job.id);
      if (bytes === undefined) throw new Error(`job ${job.id}: its inline rows are missing from the store`);
      const all = decodeRows(bytes);
      return {
        read: (start, end) => Promise.resolve(all.slice(start, end).map((inputs, i) => ({ row: start + i, inputs }))),
        close: () => Promise.resolve(),
      };
    }
    const metadata = this.registry.metadata(job.model, job.version);
    const source: RowSource = await openDataset(this.dataDir('the dataset'), job.input, this.rowSpecs(metadata.inputs, metadata.maxBatchSize > 0, 'input'));
    return source;
  }

  private forget(jobId: string): void {
    const rows = this.sources.get(jobId);
    this.sources.delete(jobId);
    rows?.then((r) => r.close()).catch(() => undefined);
  }

  /**
   * Runs a chunk, yielding to online requests: while any arrived in the last `onlineRecentMs`,
   * chunks run one at a time, each followed by a pause that keeps them to `busyShare` of the time
   * (default 0.08: a pause 11.5 times as long as the chunk took; the queue puts online requests first, but the CPU a
   * chunk's reading, batching and commit take on the event loop, and its runs on the pool's
   * threads, are not preemptible).
   */
  private async runChunk(task: ChunkTask): Promise<void> {
    if (this.registry.foregroundIdleMs() > onlineRecentMs) return this.runChunkNow(task);
    const previous = this.yielding;
    let release!: () => void;
    this.yielding = new Promise((resolve) => (release = resolve));
    await previous;
    const started = performance.now();
    try {
      await this.runChunkNow(task);
    } finally {
      setTimeout(release, (performance.now() - started) * this.yieldPauseFactor);
    }
  }

  private async runChunkNow(task: ChunkTask): Promise<void> {
    let job = await this.store.get(task.jobId);
    if (job === undefined || isTerminal(job.state)) return;
    if (job.state === 'QUEUED') {
      job = (await this.store.transition(job.id, ['QUEUED'], 'RUNNING', { startedMs: Date.now() })) ?? job;
      this.changed(job.id);
    }
    const { start, end } = chunkRange(job, task.chunk);
    const rows = await (await this.rows(job)).read(start, end);
    const results = await this.infer(job, rows);
    await this.commit(job, task.chunk, results);
  }

  /** Runs the usable rows in batches; every row gets a result or its error. */
  private async infer(job: JobRecord, rows: readonly RowInputs[]): Promise<RowResult[]> {
    const metadata = this.registry.metadata(job.model, job.version);
    const batches = metadata.maxBatchSize > 0;
    const specs = this.rowSpecs(metadata.inputs, batches, 'input');
    const results: RowResult[] = [];
    const groups: { key: string; rows: { row: number; inputs: NamedTensor[] }[] }[] = [];
    for (const r of rows) {
      const problem = r.error ?? rowProblem(specs, r.inputs!);
      if (problem !== undefined) {
        results.push({ row: r.row, error: problem });
        continue;
      }
      const key = shapeKey(r.inputs!);
      const last = groups[groups.length - 1];
      if (batches && last !== undefined && last.key === key && last.rows.length < metadata.maxBatchSize) last.rows.push({ row: r.row, inputs: r.inputs! });
      else groups.push({ key, rows: [{ row: r.row, inputs: r.inputs! }] });
    }
    const answered = await Promise.all(groups.map((group) => this.inferGroup(job, specs, batches, group.rows)));
    for (const list of answered) results.push(...list);
    return results.sort((a, b) => a.row - b.row);
  }

  private async inferGroup(job: JobRecord, specs: readonly RowTensorSpec[], batches: boolean, rows: readonly { row: number; inputs: NamedTensor[] }[]): Promise<RowResult[]> {
    const inputs = batches ? specs.map((s) => stack(s.name, s.datatype, rows.map((r) => r.inputs.find((t) => t.name === s.name)!))) : rows[0]!.inputs;
    try {
      const response = await this.registry.infer({ model: job.model, version: job.version, inputs, outputs: job.outputs, background: true });
      if (!batches) return [{ row: rows[0]!.row, outputs: response.outputs }];
      return rows.map((r, i) => ({ row: r.row, outputs: response.outputs.map((o) => rowOf(o, i, rows.length)) }));
    } catch (error) {
      const code = error instanceof ModelServeError ? error.errorCode : undefined;
      if (code === 'ResourceExhausted') throw new RetryLater(detailsOf(error));
      if (code !== 'InvalidArgument' && code !== 'Internal' && code !== 'OutOfRange' && code !== 'FailedPrecondition') throw error;
      // The model refused the batch: run its rows one at a time, so only the rows at fault fail.
      if (rows.length === 1) return [{ row: rows[0]!.row, error: detailsOf(error) }];
      const each = await Promise.all(rows.map((r) => this.inferGroup(job, specs, batches, [r])));
      return each.flat();
    }
  }

  private async commit(job: JobRecord, chunk: number, results: readonly RowResult[]): Promise<void> {
    const rowErrors: RowError[] = [];
    for (const r of results) if (r.error !== undefined) rowErrors.push({ row: r.row, message: r.error });
    const { committed, job: after } = await this.store.commit({ jobId: job.id, chunk, rowsOk: results.length - rowErrors.length, rowErrors, results: encodeChunk(results) });
    if (after === undefined) return;
    if (!committed) {
      // Committed before, by a replica that died before it finished the job: finish it now.
      if (after.chunksDone >= after.chunksTotal && !isTerminal(after.state)) await this.finalize(after);
      return;
    }
    this.changed(job.id);
    if (after.rowsFailed > after.maxFailedRows && !isTerminal(after.state)) {
      const failed = await this.store.transition(job.id, ['QUEUED', 'RUNNING'], 'FAILED', {
        finishedMs: Date.now(),
        message: `${after.rowsFailed} rows failed, more than max_failed_rows ${after.maxFailedRows} (first: row ${after.errors[0]?.row}: ${after.errors[0]?.message})`,
      });
      if (failed !== undefined) this.ended(failed);
      return;
    }
    if (after.chunksDone >= after.chunksTotal) await this.finalize(after);
  }

  private async deadLetter(task: ChunkTask, reason: string): Promise<void> {
    const job = await this.store.get(task.jobId);
    if (job === undefined || isTerminal(job.state)) return;
    const { start, end } = chunkRange(job, task.chunk);
    this.logger.error({ job: job.id, model: job.model, chunk: task.chunk, reason }, `job ${job.id}: chunk ${task.chunk} (rows ${start}-${end - 1}) failed ${task.attempt} times: ${reason}`);
    const message = `chunk ${task.chunk} failed ${task.attempt} times: ${reason}`;
    const results: RowResult[] = [];
    for (let row = start; row < end; row++) results.push({ row, error: message });
    await this.commit(job, task.chunk, results);
  }

  /** Every chunk is committed: writes the output file, if asked, and ends the job. */
  private async finalize(job: JobRecord): Promise<void> {
    if (this.finalizing.has(job.id) || isTerminal(job.state)) return;
    this.finalizing.add(job.id);
    try {
      if (job.output !== undefined) {
        try {
          await this.writeOutput(job);
        } catch (error) {
          const failed = await this.store.transition(job.id, ['QUEUED', 'RUNNING'], 'FAILED', { finishedMs: Date.now(), message: `writing ${job.output.path}: ${detailsOf(error)}` });
          if (failed !== undefined) this.ended(failed);
          return;
        }
      }
      const done = await this.store.transition(job.id, ['QUEUED', 'RUNNING'], 'SUCCEEDED', { finishedMs: Date.now() });
      if (done !== undefined) {
        this.logger.info({ job: job.id, model: job.model, rowsDone: done.rowsDone, rowsFailed: done.rowsFailed }, `job ${job.id} succeeded: ${done.rowsDone} rows done, ${done.rowsFailed} failed`);
        this.ended(done);
      }
    } finally {
      this.finalizing.delete(job.id);
    }
  }

  private async writeOutput(job: JobRecord): Promise<void> {
    const metadata = this.registry.metadata(job.model, job.version);
    const kept = job.outputs.length === 0 ? metadata.outputs : metadata.outputs.filter((o) => job.outputs.includes(o.name));
    const writer = await openResultWriter(this.dataDir('the output'), job.output!, this.rowSpecs(kept, metadata.maxBatchSize > 0, 'output'), job.rowsTotal);
    try {
      for (let c = 0; c < job.chunksTotal; c++) {
        const bytes = await this.store.results(job.id, c);
        if (bytes === undefined) throw new Error(`chunk ${c} has no results`);
        await writer.write(decodeChunk(bytes));
      }
      await writer.close();
    } catch (error) {
      await writer.abort();
      throw error;
    }
  }

  private changed(jobId: string): void {
    this.changes.emit(jobId);
  }

  private ended(job: JobRecord): void {
    this.forget(job.id);
    this.changed(job.id);
  }

  // ---- reading ----

  async get(id: string): Promise<JobRecord> {
    const job = await this.store.get(id);
    if (job === undefined) throw new ModelServeError('NotFound', `job "${id}" not found`);
    return job;
  }

  async *watch(id: string, signal: AbortSignal): AsyncIterable<JobRecord> {
    let job = await this.get(id);
    yield job;
    let seen = JSON.stringify(job);
    while (!isTerminal(job.state) && !signal.aborted) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          this.changes.off(id, done);
          signal.removeEventListener('abort', done);
          resolve();
        };
        const timer = setTimeout(done, this.watchPollMs);
        this.changes.on(id, done);
        signal.addEventListener('abort', done);
      });
      if (signal.aborted) return;
      job = await this.get(id);
      const now = JSON.stringify(job);
      if (now !== seen) {
        seen = now;
        yield job;
      }
    }
  }

  async cancel(id: string): Promise<JobRecord> {
    const job = await this.get(id);
    if (isTerminal(job.state)) throw new ModelServeError('FailedPrecondition', `job ${id} has already ended (${job.state})`);
    const cancelled = await this.store.transition(id, ['QUEUED', 'RUNNING'], 'CANCELLED', { finishedMs: Date.now(), message: 'cancelled' });
    if (cancelled === undefined) {
      const now = await this.get(id);
      throw new ModelServeError('FailedPrecondition', `job ${id} has already ended (${now.state})`);
    }
    this.logger.info({ job: id, rowsDone: cancelled.rowsDone }, `job ${id} cancelled after ${cancelled.rowsDone + cancelled.rowsFailed} of ${cancelled.rowsTotal} rows`);
    this.ended(cancelled);
    return cancelled;
  }

  async list(options: ListOptions): Promise<{ jobs: JobRecord[]; nextPageToken: string }> {
    const pageSize = options.pageSize === undefined || options.pageSize === 0 ? defaultPageSize : options.pageSize;
    if (!Number.isInteger(pageSize) || pageSize < 0 || pageSize > maxPageSize) throw invalidArgument(`page_size: expected 1 to ${maxPageSize} (0 for ${defaultPageSize}), got ${pageSize}`);
    const before = options.pageToken === '' ? undefined : options.pageToken;
    if (before !== undefined && !/^\d{13}-[0-9a-f]{10}$/.test(before)) throw invalidArgument(`page_token: expected a token from a previous ListJobs answer, got "${before}"`);
    const jobs = await this.store.list({ states: options.states, model: options.model === '' ? undefined : options.model, before, limit: pageSize + 1 });
    const more = jobs.length > pageSize;
    const page = jobs.slice(0, pageSize);
    return { jobs: page, nextPageToken: more ? page[page.length - 1]!.id : '' };
  }

  async *results(id: string, options: ResultsOptions, signal: AbortSignal): AsyncIterable<RowResult> {
    const job = await this.get(id);
    if (!isTerminal(job.state) && options.allowPartial !== true) {
      throw new ModelServeError('FailedPrecondition', `job ${id} is ${job.state} (${job.rowsDone + job.rowsFailed} of ${job.rowsTotal} rows); its results are complete once it ends, or ask for the rows so far (allow_partial)`);
    }
    const startRow = nonNegativeInteger('start_row', options.startRow, 0);
    const maxRows = nonNegativeInteger('max_rows', options.maxRows, 0);
    const endRow = maxRows === 0 ? job.rowsTotal : Math.min(job.rowsTotal, startRow + maxRows);
    for (let c = Math.floor(startRow / job.chunkRows); c < job.chunksTotal && c * job.chunkRows < endRow; c++) {
      if (signal.aborted) return;
      const bytes = await this.store.results(id, c);
      if (bytes === undefined) continue;
      for (const row of decodeChunk(bytes)) if (row.row >= startRow && row.row < endRow) yield row;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.backend.queue.close();
    for (const id of [...this.sources.keys()]) this.forget(id);
    await this.store.close();
  }
}

/** `busyShare` (default defaultJobsBusyShare), or a RangeError saying what it expected and got. */
function checkBusyShare(share: number | undefined): number {
  const value = share ?? defaultJobsBusyShare;
  if (!(value > 0 && value <= 1)) throw new RangeError(`busyShare: expected a fraction above 0 and at most 1, got ${value}`);
  return value;
}

/** Opens the store and queue `options` name and starts running chunks. */
export async function openJobs(options: JobsOptions): Promise<JobEngine> {
  checkBusyShare(options.busyShare);
  let backend: JobsBackend;
  if (options.queueUrl !== undefined) {
    backend = await openNatsBackend(options.queueUrl, options);
  } else {
    if (options.jobsDir === undefined) throw invalidArgument('jobs need a directory for their store (--jobs-dir) or a queue (--jobs-queue)');
    backend = { store: await openSqliteStore(options.jobsDir), queue: new LocalChunkQueue(), requeueOnStart: true };
  }
  const engine = new JobEngine(backend, options);
  await engine.start();
  return engine;
}

/**
 * The embedded store. better-sqlite3 is an optional dependency (a native module, compiled where no
 * prebuilt binary fits): a server that runs no jobs installs and starts without it.
 */
async function openSqliteStore(dir: string): Promise<JobStore> {
  const module = await import('./sqlite-store.js').catch((error: unknown) => {
    throw new ModelServeError('FailedPrecondition', `--jobs-dir needs better-sqlite3, which did not install here (${detailsOf(error)}); install it (npm install better-sqlite3@12) or use --jobs-queue`);
  });
  return new module.SqliteJobStore(dir);
}

/** Job state in JetStream's key-value store, chunks on its work-queue stream: every replica pointed at the server shares them. */
async function openNatsBackend(url: string, options: JobsOptions): Promise<JobsBackend> {
  const store = await NatsJobStore.open(url);
  try {
    const queue = await NatsChunkQueue.open(url, { ackWaitMs: options.ackWaitMs });
    return { store, queue, requeueOnStart: false };
  } catch (error) {
    await store.close();
    throw error;
  }
}
