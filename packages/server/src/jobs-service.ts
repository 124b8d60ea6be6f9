/**
 * modelserve.v1.Jobs over a `JobsApi` (the batch job engine of @modelserve/jobs): requests are
 * checked against jobs.proto's contract (enum values, the source oneof, 64-bit counts, page sizes)
 * and decoded with the tensor codec; job records and row results are encoded back. The two
 * streams, WatchJob and GetJobResults, are written at the pace the client reads them and stop when
 * it cancels. What a job may run (models, shapes, paths, limits) is the engine's to check.
 */
import { Metadata, status, type ServerWritableStream } from '@grpc/grpc-js';
import { invalidArgument, ModelServeError, type Logger } from '@modelserve/core';
import type { DatasetFormat, DatasetRef, JobRecord, JobsApi, JobState, ListOptions, ResultsOptions, RowResult, SubmitOptions } from '@modelserve/jobs';
import {
  encodeTensor,
  type Dataset__Output,
  type DatasetFormat__Output,
  type GetJobResultsRequest__Output,
  type Job,
  type JobResultRow,
  type JobsHandlers,
  type JobState__Output,
  type ListJobsRequest__Output,
  type OutputFormat__Output,
  type SubmitJobRequest__Output,
} from '@modelserve/proto';
import { fromWireTensor, outputEncodingOf, type OutputEncoding } from './convert.js';
import type { InflightRequests } from './inference-calls.js';
import { answer, callStatusOf } from './status.js';
import type { OpenStreams } from './stream.js';

/** ListJobs's largest page (jobs.proto: "at most 1000"). */
export const maxJobsPageSize = 1000;

/** Each engine state as the wire spells it. */
const wireStates: Readonly<Record<JobState, JobState__Output>> = {
  QUEUED: 'JOB_STATE_QUEUED',
  RUNNING: 'JOB_STATE_RUNNING',
  SUCCEEDED: 'JOB_STATE_SUCCEEDED',
  FAILED: 'JOB_STATE_FAILED',
  CANCELLED: 'JOB_STATE_CANCELLED',
};
const statesOfWire = new Map<unknown, JobState>(Object.entries(wireStates).map(([state, wire]) => [wire, state as JobState]));

/** Each wire dataset format as the engine names it; undefined: from the path. */
const datasetFormats: Readonly<Record<DatasetFormat__Output, DatasetFormat | undefined>> = {
  DATASET_FORMAT_UNSPECIFIED: undefined,
  DATASET_FORMAT_NPY: 'npy',
  DATASET_FORMAT_JSONL: 'jsonl',
  DATASET_FORMAT_NPY_DIR: 'npy-dir',
};

const outputFormats: readonly OutputFormat__Output[] = ['OUTPUT_FORMAT_UNSPECIFIED', 'OUTPUT_FORMAT_TYPED', 'OUTPUT_FORMAT_RAW'];

/** `value` if it is one of `known`; an enum value this server does not know (it arrives as its number) is INVALID_ARGUMENT. */
function known<T>(field: string, value: unknown, values: readonly T[]): T {
  if (values.includes(value as T)) return value as T;
  throw invalidArgument(`${field}: expected one of ${values.join(', ')}, got ${String(value)}`);
}

/** A uint64 field (a decimal string, as the loader's `longs: String` gives it) as a number; past 2^53 - 1 is INVALID_ARGUMENT. */
function uint64(field: string, value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw invalidArgument(`${field}: expected at most ${Number.MAX_SAFE_INTEGER}, got ${value}`);
  return n;
}

function jobId(id: string): string {
  if (id === '') throw invalidArgument('id: expected a job id, got an empty string');
  return id;
}

function datasetRef(field: string, dataset: Dataset__Output): DatasetRef {
  if (dataset.path === '') throw invalidArgument(`${field}.path: expected a path under --jobs-data-dir, got an empty string`);
  const format = known(`${field}.format`, dataset.format, Object.keys(datasetFormats) as DatasetFormat__Output[]);
  return { path: dataset.path, format: datasetFormats[format] };
}

/** SubmitJob's request as the engine takes it. Inline rows are decoded here: a malformed tensor refuses the request. */
export function fromSubmitJobRequest(request: SubmitJobRequest__Output): SubmitOptions {
  if (request.model_name === '') throw invalidArgument('model_name: expected a model name, got an empty string');
  const inline = request.inline ?? undefined;
  const dataset = request.dataset ?? undefined;
  // A oneof on the wire keeps its last member, but a decoder may keep both: refuse rather than pick one.
  if ((inline === undefined) === (dataset === undefined)) {
    throw invalidArgument(`expected one source, inline rows (inline) or a dataset (dataset), got ${inline === undefined ? 'neither' : 'both'}`);
  }
  return {
    model: request.model_name,
    version: request.model_version,
    rows: inline?.rows.map((row, r) => row.inputs.map((tensor) => fromWireTensor(tensor, `inline row ${r} input '${tensor.name}'`))),
    input: dataset === undefined ? undefined : datasetRef('dataset', dataset),
    output: request.output === null ? undefined : datasetRef('output', request.output),
    idempotencyKey: request.idempotency_key === '' ? undefined : request.idempotency_key,
    priority: request.priority,
    maxFailedRows: uint64('max_failed_rows', request.max_failed_rows),
    outputs: request.outputs,
    chunkRows: request.chunk_rows,
  };
}

/** ListJobs's request as the engine takes it. */
export function fromListJobsRequest(request: ListJobsRequest__Output): ListOptions {
  if (request.page_size > maxJobsPageSize) throw invalidArgument(`page_size: expected at most ${maxJobsPageSize} (0 for the default, 50), got ${request.page_size}`);
  const states = request.states.map((state, i) => {
    const found = statesOfWire.get(state);
    if (found === undefined) throw invalidArgument(`states[${i}]: expected one of ${Object.values(wireStates).join(', ')}, got ${String(state)}`);
    return found;
  });
  return {
    states: states.length === 0 ? undefined : states,
    model: request.model_name === '' ? undefined : request.model_name,
    pageToken: request.page_token === '' ? undefined : request.page_token,
    pageSize: request.page_size === 0 ? undefined : request.page_size,
  };
}

/** GetJobResults's request as the engine takes it, and how its outputs are encoded (RAW unless TYPED is asked for). */
export function fromGetJobResultsRequest(request: GetJobResultsRequest__Output): { id: string; options: ResultsOptions; encoding: OutputEncoding } {
  const format = known('output_format', request.output_format, outputFormats);
  return {
    id: jobId(request.id),
    options: { startRow: uint64('start_row', request.start_row), maxRows: uint64('max_rows', request.max_rows), allowPartial: request.allow_partial },
    encoding: outputEncodingOf(format, 'raw'),
  };
}

/** A job record on the wire: 64-bit counts and times as decimal strings, the version as a string. */
export function toWireJob(job: JobRecord): Job {
  return {
    id: job.id,
    model_name: job.model,
    model_version: String(job.version),
    state: wireStates[job.state],
    rows_total: String(job.rowsTotal),
    rows_done: String(job.rowsDone),
    rows_failed: String(job.rowsFailed),
    chunks_total: String(job.chunksTotal),
    chunks_done: String(job.chunksDone),
    created_unix_ms: String(job.createdMs),
    started_unix_ms: String(job.startedMs),
    finished_unix_ms: String(job.finishedMs),
    errors: job.errors.map((e) => ({ row: String(e.row), message: e.message })),
    message: job.message,
    idempotency_key: job.idempotencyKey ?? '',
    priority: job.priority,
    max_failed_rows: String(job.maxFailedRows),
    input_path: job.input?.path ?? '',
    output_path: job.output?.path ?? '',
    chunk_rows: job.chunkRows,
  };
}

/** A row's result on the wire: its outputs, or its error. */
export function toWireResultRow(row: RowResult, encoding: OutputEncoding): JobResultRow {
  if (row.error !== undefined) return { row: String(row.row), outputs: [], error: row.error };
  return { row: String(row.row), outputs: row.outputs.map((t) => encodeTensor(t, encoding)), error: '' };
}

/**
 * Why a server has no engine to answer with: `off`, it was started without jobs (UNIMPLEMENTED,
 * saying how to turn them on); `starting`, the engine opens once the repository has loaded (UNAVAILABLE).
 */
export function jobsNotServed(reason: 'off' | 'starting'): ModelServeError {
  if (reason === 'starting') return new ModelServeError('Unavailable', 'batch jobs start once the model repository has loaded: retry shortly');
  return new ModelServeError(
    'Unimplemented',
    'batch jobs are off on this server: start it with --jobs-dir DIR (an embedded SQLite store) or --jobs-queue nats://host:port (NATS JetStream, shared by replicas)',
  );
}

/** Options of the Jobs service. */
export interface JobsServiceOptions {
  /** The server's open streams: a drain ends each WatchJob with UNAVAILABLE, so its client watches again on another replica. Default: none. */
  streams?: OpenStreams | undefined;
  /** What a drain waits for: each GetJobResults stream counts as a request in flight until it has sent its rows. Default: none. */
  inflight?: InflightRequests | undefined;
}

/** Resolves once the client has read what was written (`drain`), or `signal` aborts. */
function drained(call: ServerWritableStream<unknown, unknown>, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      call.off('drain', done);
      signal.removeEventListener('abort', done);
      resolve();
    };
    call.once('drain', done);
    signal.addEventListener('abort', done);
  });
}

/**
 * Writes `open(signal)`'s items to a server stream, waiting for 'drain' whenever the client has
 * not read what was written; ends the call once they are all written, or with the status of what
 * was thrown. When the client cancels, `signal` aborts and nothing more is read or written.
 */
function serveItems<T, W>(
  call: ServerWritableStream<unknown, W>,
  logger: Logger,
  open: (signal: AbortSignal) => AsyncIterable<T>,
  encode: (item: T) => W,
  hooks: { onDrain?: { streams: OpenStreams | undefined; details: string }; inflight?: InflightRequests | undefined },
): void {
  const abort = new AbortController();
  let ended = false;
  const finish = (result?: { code: number; details: string }): void => {
    if (ended) return;
    ended = true;
    abort.abort();
    if (result === undefined) call.end();
    else call.emit('error', { ...result, metadata: new Metadata() });
  };
  call.on('cancelled', () => {
    ended = true;
    abort.abort();
  });
  const drain = hooks.onDrain;
  const unregister = drain?.streams?.add(() => finish({ code: status.UNAVAILABLE, details: drain.details })) ?? (() => undefined);
  const inflight = hooks.inflight;
  if (inflight !== undefined) inflight.active++;
  const { signal } = abort;
  (async () => {
    for await (const item of open(signal)) {
      if (signal.aborted) return;
      if (!call.write(encode(item))) await drained(call, signal);
      if (signal.aborted) return;
    }
  })()
    .then(
      () => finish(),
      (error: unknown) => finish(callStatusOf(error, logger)),
    )
    .finally(() => {
      unregister();
      if (inflight !== undefined) inflight.active--;
    });
}

/**
 * `modelserve.v1.Jobs` over the job engine `engine()` returns; it throws (a ModelServeError) when
 * there is none to answer with, e.g. `jobsNotServed('off')`. Unary errors are answered as statuses
 * by status.ts's table, as every other service's are.
 */
export function jobsService(engine: () => JobsApi, logger: Logger, options: JobsServiceOptions = {}): JobsHandlers {
  return {
    SubmitJob(call, callback) {
      answer(callback, logger, async () => {
        const jobs = engine();
        return toWireJob(await jobs.submit(fromSubmitJobRequest(call.request)));
      });
    },
    GetJob(call, callback) {
      answer(callback, logger, async () => {
        const jobs = engine();
        return toWireJob(await jobs.get(jobId(call.request.id)));
      });
    },
    CancelJob(call, callback) {
      answer(callback, logger, async () => {
        const jobs = engine();
        return toWireJob(await jobs.cancel(jobId(call.request.id)));
      });
    },
    ListJobs(call, callback) {
      answer(callback, logger, async () => {
        const jobs = engine();
        const page = await jobs.list(fromListJobsRequest(call.request));
        return { jobs: page.jobs.map(toWireJob), next_page_token: page.nextPageToken };
      });
    },
    WatchJob(call) {
      serveItems(
        call,
        logger,
        (signal) => {
          const jobs = engine();
          return jobs.watch(jobId(call.request.id), signal);
        },
        toWireJob,
        { onDrain: { streams: options.streams, details: 'the server is draining: watch the job again on another replica (the job goes on)' } },
      );
    },
    GetJobResults(call) {
      let encoding: OutputEncoding = 'raw';
      serveItems(
        call,
        logger,
        (signal) => {
          const jobs = engine();
          const request = fromGetJobResultsRequest(call.request);
          encoding = request.encoding;
          return jobs.results(request.id, request.options, signal);
        },
        (row: RowResult) => toWireResultRow(row, encoding),
        { inflight: options.inflight },
      );
    },
  };
}
