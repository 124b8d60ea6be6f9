/**
 * The vocabulary of batch jobs, shared by the engine, its two stores (SQLite, NATS JetStream), the
 * dataset readers and writers, and the server's Jobs service.
 */
import type { DataType, NamedTensor } from '@modelserve/core';

export type JobState = 'QUEUED' | 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'CANCELLED';

export const jobStates: readonly JobState[] = ['QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED'];

/** A job that has ended keeps its state. */
export const isTerminal = (state: JobState): boolean => state === 'SUCCEEDED' || state === 'FAILED' || state === 'CANCELLED';

/** How a dataset holds rows (see jobs.proto's DatasetFormat). */
export type DatasetFormat = 'npy' | 'jsonl' | 'npy-dir';

/** A dataset file or directory, relative to the jobs data directory. */
export interface DatasetRef {
  path: string;
  /** Undefined: from the path (a directory, *.npy, *.jsonl). */
  format?: DatasetFormat | undefined;
}

export interface RowError {
  row: number;
  message: string;
}

/** The first row errors a job keeps (GetJob's `errors`). */
export const firstErrorsKept = 10;

/** The first `firstErrorsKept` errors of both lists, by row. */
export function mergeErrors(kept: readonly RowError[], added: readonly RowError[]): RowError[] {
  if (added.length === 0 || (kept.length >= firstErrorsKept && added[0]!.row > kept[kept.length - 1]!.row)) return [...kept];
  return [...kept, ...added].sort((a, b) => a.row - b.row).slice(0, firstErrorsKept);
}

/** What a job runs: fixed at submission. */
export interface JobSpec {
  model: string;
  /** Pinned at submission (the default version then, when the request named none). */
  version: number;
  /** A dataset under the data directory, or undefined for inline rows (kept by the store). */
  input?: DatasetRef | undefined;
  output?: DatasetRef | undefined;
  idempotencyKey?: string | undefined;
  /** Among jobs, 1 first. */
  priority: number;
  maxFailedRows: number;
  /** Outputs kept; all when empty. */
  outputs: string[];
  /** Rows per chunk (the last chunk may have fewer). */
  chunkRows: number;
  rowsTotal: number;
}

/** A job as stored. */
export interface JobRecord extends JobSpec {
  id: string;
  state: JobState;
  rowsDone: number;
  rowsFailed: number;
  chunksTotal: number;
  chunksDone: number;
  /** `Date.now()` ms; 0 until it happens. */
  createdMs: number;
  startedMs: number;
  finishedMs: number;
  errors: RowError[];
  /** Why it FAILED or was CANCELLED. */
  message: string;
}

/** Chunk `index` of a job covers rows [start, end). */
export function chunkRange(job: Pick<JobSpec, 'chunkRows' | 'rowsTotal'>, index: number): { start: number; end: number } {
  const start = index * job.chunkRows;
  return { start, end: Math.min(job.rowsTotal, start + job.chunkRows) };
}

export const chunkCount = (job: Pick<JobSpec, 'chunkRows' | 'rowsTotal'>): number => Math.ceil(job.rowsTotal / job.chunkRows);

/** One row's result: its outputs (without the batch dimension) or its error. */
export type RowResult = { row: number; outputs: NamedTensor[]; error?: undefined } | { row: number; outputs?: undefined; error: string };

/** A chunk's committed results, encoded by chunk-codec.ts. */
export interface ChunkCommit {
  jobId: string;
  chunk: number;
  /** Rows that succeeded and failed in the chunk. */
  rowsOk: number;
  rowErrors: RowError[];
  /** encodeChunk's bytes. */
  results: Uint8Array;
}

export interface ListFilter {
  states?: readonly JobState[] | undefined;
  model?: string | undefined;
  /** Jobs created before this job (a page token: the last id of the previous page). */
  before?: string | undefined;
  limit: number;
}

/**
 * Where job records, inline inputs and chunk results live (SQLite embedded, or NATS JetStream's
 * key-value store shared by replicas). Every method may be called from many chunks at once.
 */
export interface JobStore {
  /**
   * Stores a new job (state QUEUED) with its inline rows' encoded inputs (chunk-codec's
   * encodeRows), unless a job with the same idempotency key exists: then that one, `created` false.
   */
  create(job: JobRecord, inline?: Uint8Array): Promise<{ job: JobRecord; created: boolean }>;
  get(id: string): Promise<JobRecord | undefined>;
  /** The job created with this idempotency key. */
  byIdempotencyKey(key: string): Promise<JobRecord | undefined>;
  /** Newest first. */
  list(filter: ListFilter): Promise<JobRecord[]>;
  /** Jobs QUEUED or RUNNING. */
  countActive(): Promise<number>;
  /** The encoded inline rows of a job submitted with them. */
  inline(id: string): Promise<Uint8Array | undefined>;
  /**
   * Commits a chunk's results exactly once: true the first time; false, changing nothing, when the
   * chunk was committed before (a retried or redelivered chunk). Adds its rows to the job's counts
   * and its errors to the job's first errors, atomically with storing the results.
   */
  commit(commit: ChunkCommit): Promise<{ committed: boolean; job: JobRecord | undefined }>;
  /** A committed chunk's encoded results. */
  results(id: string, chunk: number): Promise<Uint8Array | undefined>;
  /** The chunks of a job committed so far. */
  committedChunks(id: string): Promise<Set<number>>;
  /**
   * Moves a job to `to` (and applies `patch`) if its state is one of `from`: the job after, or
   * undefined when it was not in one of those states (another replica got there first).
   */
  transition(id: string, from: readonly JobState[], to: JobState, patch?: Partial<Pick<JobRecord, 'startedMs' | 'finishedMs' | 'message'>>): Promise<JobRecord | undefined>;
  close(): Promise<void>;
}

/** A chunk to run, as a queue hands it over. */
export interface ChunkTask {
  jobId: string;
  chunk: number;
  /** 1 the first time it is handed over. */
  attempt: number;
}

/**
 * How chunks reach the replicas that run them: in-process (embedded), or a NATS JetStream
 * work-queue stream every replica consumes.
 */
export interface ChunkQueue {
  /** Queues chunks of a job (after `store.create`). */
  enqueue(job: JobRecord, chunks: readonly number[]): Promise<void>;
  /**
   * Starts handing chunks to `run`, at most `concurrency` at once. `run` resolving acknowledges the
   * chunk (after its commit); throwing `RetryLater` puts it back without counting an attempt
   * (e.g. the model's queue is full); throwing anything else retries it, up to `maxAttempts`
   * attempts; then `deadLetter` is called with the last error and the chunk is acknowledged.
   */
  start(handlers: { run(task: ChunkTask): Promise<void>; deadLetter(task: ChunkTask, reason: string): Promise<void> }, concurrency: number): void;
  /** Stops handing chunks over; chunks in flight finish first. */
  close(): Promise<void>;
}

export const maxAttempts = 3;

/** Thrown by a chunk's run to have it handed over again later without counting an attempt. */
export class RetryLater extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RetryLater';
  }
}

/** A model input or output as the datasets see it: the shape of one row (no batch dimension; -1 for a variable dimension). */
export interface RowTensorSpec {
  name: string;
  datatype: DataType;
  shape: number[];
}

/** Rows read from a dataset: each row's tensors (shapes without the batch dimension), or why the row cannot be used. */
export type RowInputs = { row: number; inputs: NamedTensor[]; error?: undefined } | { row: number; inputs?: undefined; error: string };

/** A dataset opened for reading rows by index (random access: a resumed job starts anywhere). */
export interface RowSource {
  readonly rows: number;
  /** Rows [start, end), in order. */
  read(start: number, end: number): Promise<RowInputs[]>;
  close(): Promise<void>;
}

/** A results file being written, rows in order, made visible (renamed into place) by `close`. */
export interface ResultWriter {
  write(rows: readonly RowResult[]): Promise<void>;
  /** Finishes the file(s) and renames them into place. */
  close(): Promise<void>;
  /** Removes what was written. */
  abort(): Promise<void>;
}

/** What `JobsApi.submit` takes (the server's SubmitJobRequest, decoded). */
export interface SubmitOptions {
  model: string;
  /** Undefined or empty: the model's default version now. */
  version?: string | number | undefined;
  /** Inline rows: each row's inputs without the batch dimension. Either this or `input`. */
  rows?: NamedTensor[][] | undefined;
  input?: DatasetRef | undefined;
  output?: DatasetRef | undefined;
  idempotencyKey?: string | undefined;
  /** 0 or undefined: 1. */
  priority?: number | undefined;
  maxFailedRows?: number | undefined;
  outputs?: readonly string[] | undefined;
  /** 0 or undefined: the model's max_batch_size (1 without batching). */
  chunkRows?: number | undefined;
}

export interface ListOptions {
  states?: readonly JobState[] | undefined;
  model?: string | undefined;
  pageToken?: string | undefined;
  /** Default 50, at most 1,000. */
  pageSize?: number | undefined;
}

export interface ResultsOptions {
  startRow?: number | undefined;
  /** 0 or undefined: every row from startRow. */
  maxRows?: number | undefined;
  /** Rows committed so far of a job that has not ended. */
  allowPartial?: boolean | undefined;
}

/**
 * The job API the server's Jobs service calls. Errors are core's `ModelServeError`s with the
 * status to answer (InvalidArgument, NotFound, ResourceExhausted, FailedPrecondition).
 */
export interface JobsApi {
  submit(options: SubmitOptions): Promise<JobRecord>;
  get(id: string): Promise<JobRecord>;
  /** The job now, then on every change, ending after the job ends or when `signal` aborts. */
  watch(id: string, signal: AbortSignal): AsyncIterable<JobRecord>;
  cancel(id: string): Promise<JobRecord>;
  list(options: ListOptions): Promise<{ jobs: JobRecord[]; nextPageToken: string }>;
  /** Row results in row order. */
  results(id: string, options: ResultsOptions, signal: AbortSignal): AsyncIterable<RowResult>;
}
