/**
 * `modelserve jobs submit|status|watch|results|cancel|list`: asynchronous batch inference jobs over
 * modelserve.v1.Jobs. A job's rows are a dataset under the server's --jobs-data-dir, or a local JSONL
 * file sent in the request; its results are collected as JSON lines.
 */
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { readFile, rename, rm } from 'node:fs/promises';
import { Metadata, type ServiceError } from '@grpc/grpc-js';
import { InvalidArgumentError } from 'commander';
import type { DatasetFormat, Job__Output, JobResultRow__Output, ListJobsResponse__Output, ModelMetadata__Output, SubmitJobRequest } from '@modelserve/proto';
import { decodeTensor } from '@modelserve/proto';
import { call, connect } from '../client.js';
import { valuesOf } from '../tensor-json.js';
import { duration, percentDone, ProgressDisplay, rowsAnswered, stateName } from './jobs-progress.js';
import { rowsFromJsonl } from './jobs-rows.js';

/** Job states as the commands print and take them. */
export const jobStateNames = ['QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED'] as const;
export type JobStateName = (typeof jobStateNames)[number];

/** Dataset formats as the commands take them. */
export const datasetFormatNames = ['npy', 'jsonl', 'npy-dir'] as const;
const wireFormats: Readonly<Record<(typeof datasetFormatNames)[number], DatasetFormat>> = {
  npy: 'DATASET_FORMAT_NPY',
  jsonl: 'DATASET_FORMAT_JSONL',
  'npy-dir': 'DATASET_FORMAT_NPY_DIR',
};

/** A whole number from `min` to `max` in digits only: "1.5", "-1", "1e3", "0x10" and "" are refused, never rounded. */
export function count(min: number, max: number): (value: string) => number {
  return (value) => {
    const n = /^[0-9]+$/.test(value) ? Number(value) : Number.NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}, got ${JSON.stringify(value)}`);
    return n;
  };
}

/** `--state`, repeatable: a state as printed (RUNNING) or in lower case (running). */
export function collectState(value: string, previous: JobStateName[] = []): JobStateName[] {
  const state = jobStateNames.find((s) => s === value || s.toLowerCase() === value);
  if (state === undefined) throw new InvalidArgumentError(`expected one of ${jobStateNames.join(', ')}, got ${JSON.stringify(value)}`);
  return [...previous, state];
}

/** `--outputs a,b`: output names, none empty. */
export function outputNames(value: string): string[] {
  const names = value.split(',').map((n) => n.trim());
  if (names.some((n) => n === '')) throw new InvalidArgumentError(`expected output names separated by commas (e.g. --outputs scores,labels), got ${JSON.stringify(value)}`);
  return names;
}

/** What every jobs command takes: the server and the inference token. */
export interface JobsCommandOptions {
  address: string;
  /** Inference bearer token; default $MODELSERVE_INFERENCE_TOKEN (sent by client.ts). */
  token?: string;
  json?: boolean;
}

function tokenMetadata(token: string | undefined): Metadata {
  const metadata = new Metadata();
  if (token !== undefined && token !== '') metadata.set('authorization', `Bearer ${token}`);
  return metadata;
}

/** A job with stable key names, as `--json` prints it: the wire fields, counts and times as numbers, the state as printed. */
export function jobJson(job: Job__Output): Record<string, unknown> {
  return {
    id: job.id,
    model_name: job.model_name,
    model_version: job.model_version,
    state: stateName(job.state),
    rows_total: Number(job.rows_total),
    rows_done: Number(job.rows_done),
    rows_failed: Number(job.rows_failed),
    chunks_total: Number(job.chunks_total),
    chunks_done: Number(job.chunks_done),
    chunk_rows: job.chunk_rows,
    priority: job.priority,
    max_failed_rows: Number(job.max_failed_rows),
    idempotency_key: job.idempotency_key,
    input_path: job.input_path,
    output_path: job.output_path,
    created_unix_ms: Number(job.created_unix_ms),
    started_unix_ms: Number(job.started_unix_ms),
    finished_unix_ms: Number(job.finished_unix_ms),
    message: job.message,
    errors: job.errors.map((e) => ({ row: Number(e.row), message: e.message })),
  };
}

const time = (ms: string): string => (Number(ms) === 0 ? '-' : new Date(Number(ms)).toISOString());

/** A job for people: a heading line, then one line per field worth reading. */
export function describeJob(job: Job__Output): string {
  const lines = [
    `job ${job.id}  ${stateName(job.state)}  ${percentDone(job)}`,
    `model     ${job.model_name} version ${job.model_version}`,
    `rows      ${rowsAnswered(job)} of ${job.rows_total} answered: ${job.rows_done} done, ${job.rows_failed} failed (at most ${job.max_failed_rows} may fail)`,
    `chunks    ${job.chunks_done} of ${job.chunks_total}, ${job.chunk_rows} rows each`,
    `input     ${job.input_path === '' ? 'inline rows' : job.input_path}`,
    `output    ${job.output_path === '' ? 'none (jobs results)' : job.output_path}`,
    `priority  ${job.priority}`,
    ...(job.idempotency_key === '' ? [] : [`key       ${job.idempotency_key}`]),
    `created   ${time(job.created_unix_ms)}`,
    `started   ${time(job.started_unix_ms)}`,
    `finished  ${time(job.finished_unix_ms)}`,
    ...(job.message === '' ? [] : [`message   ${job.message}`]),
    ...job.errors.map((e, i) => `${i === 0 ? 'errors    ' : '          '}row ${e.row}: ${e.message}`),
  ];
  return lines.join('\n');
}

/** The last line of a job that ended: its state, rows and time; and whether it SUCCEEDED. */
function summary(job: Job__Output): { line: string; ok: boolean } {
  const state = stateName(job.state);
  const took = Number(job.started_unix_ms) > 0 && Number(job.finished_unix_ms) > 0 ? ` in ${duration((Number(job.finished_unix_ms) - Number(job.started_unix_ms)) / 1000)}` : '';
  const why = job.message === '' ? '' : `: ${job.message}`;
  return { line: `job ${job.id} ${state}${took}: ${job.rows_done} rows done, ${job.rows_failed} failed, of ${job.rows_total}${why}`, ok: state === 'SUCCEEDED' };
}

type Client = ReturnType<typeof connect>;

/** Follows a job with WatchJob until it ends, showing its progress on stderr; the job as it ended. */
function follow(client: Client, id: string, metadata: Metadata): Promise<Job__Output> {
  const display = new ProgressDisplay();
  return new Promise<Job__Output>((resolve, reject) => {
    const stream = client.jobs.WatchJob({ id }, metadata);
    let last: Job__Output | undefined;
    stream.on('data', (job: Job__Output) => {
      last = job;
      display.update(job);
    });
    stream.on('error', (error: ServiceError) => reject(error));
    stream.on('end', () => {
      const state = last === undefined ? undefined : stateName(last.state);
      if (last !== undefined && (state === 'SUCCEEDED' || state === 'FAILED' || state === 'CANCELLED')) resolve(last);
      else reject(new Error(`the watch of job ${id} ended before the job did${last === undefined ? '' : ` (last seen ${state})`}`));
    });
  }).finally(() => display.stop());
}

/** Watches to the end, prints the summary (or the job, with --json) and sets a failing exit code unless the job SUCCEEDED. */
async function watchToEnd(client: Client, id: string, metadata: Metadata, json: boolean): Promise<void> {
  const job = await follow(client, id, metadata);
  const { line, ok } = summary(job);
  console.log(json ? JSON.stringify(jobJson(job), null, 2) : line);
  if (!ok) process.exitCode = 1;
}

/** Options of `modelserve jobs submit`. */
export interface SubmitJobOptions extends JobsCommandOptions {
  model: string;
  modelVersion?: string;
  dataset?: string;
  format?: (typeof datasetFormatNames)[number];
  rows?: string;
  output?: string;
  outputFormat?: (typeof datasetFormatNames)[number];
  idempotencyKey?: string;
  priority?: number;
  maxFailedRows?: number;
  chunkRows?: number;
  outputs?: string[];
  watch?: boolean;
}

/** Submits a job and prints its id (the job, with --json); with --watch, follows it to the end. */
export async function submitJob(options: SubmitJobOptions): Promise<void> {
  if ((options.dataset === undefined) === (options.rows === undefined)) {
    const got = options.dataset === undefined ? 'neither' : 'both';
    throw new Error(`expected --dataset PATH (a dataset under the server's --jobs-data-dir) or --rows FILE.jsonl (local rows sent in the request), got ${got}`);
  }
  if (options.format !== undefined && options.dataset === undefined) throw new Error('--format needs --dataset: it says how the dataset holds rows (--rows files are JSONL)');
  if (options.outputFormat !== undefined && options.output === undefined) throw new Error('--output-format needs --output');
  const metadata = tokenMetadata(options.token);
  const client = connect(options.address);
  try {
    const request: SubmitJobRequest = {
      model_name: options.model,
      model_version: options.modelVersion ?? '',
      ...(options.output === undefined ? {} : { output: { path: options.output, format: options.outputFormat === undefined ? 'DATASET_FORMAT_UNSPECIFIED' : wireFormats[options.outputFormat] } }),
      idempotency_key: options.idempotencyKey ?? '',
      priority: options.priority ?? 0,
      max_failed_rows: options.maxFailedRows ?? 0,
      outputs: options.outputs ?? [],
      chunk_rows: options.chunkRows ?? 0,
    };
    if (options.dataset !== undefined) {
      request.dataset = { path: options.dataset, format: options.format === undefined ? 'DATASET_FORMAT_UNSPECIFIED' : wireFormats[options.format] };
    } else {
      const file = options.rows!;
      const text = await readFile(file, 'utf8').catch((error: Error) => {
        throw new Error(`--rows ${file}: ${error.message}`);
      });
      const model = await call<ModelMetadata__Output>((cb) => client.admin.GetModelMetadata({ name: options.model, version: options.modelVersion ?? '' }, metadata, cb));
      request.inline = { rows: rowsFromJsonl(text, file, model) };
    }
    const job = await call<Job__Output>((cb) => client.jobs.SubmitJob(request, metadata, cb));
    if (options.watch !== true) {
      console.log(options.json === true ? JSON.stringify(jobJson(job), null, 2) : job.id);
      return;
    }
    if (options.json === true) console.error(`job ${job.id} ${stateName(job.state)}`);
    else console.log(job.id);
    await watchToEnd(client, job.id, metadata, options.json === true);
  } finally {
    client.close();
  }
}

/** Prints a job's state and progress. */
export async function jobStatus(id: string, options: JobsCommandOptions): Promise<void> {
  const client = connect(options.address);
  try {
    const job = await call<Job__Output>((cb) => client.jobs.GetJob({ id }, tokenMetadata(options.token), cb));
    console.log(options.json === true ? JSON.stringify(jobJson(job), null, 2) : describeJob(job));
  } finally {
    client.close();
  }
}

/** Follows a job until it ends (progress on stderr); exits 0 when it SUCCEEDED, 1 when it FAILED or was CANCELLED. */
export async function watchJob(id: string, options: JobsCommandOptions): Promise<void> {
  const client = connect(options.address);
  try {
    await watchToEnd(client, id, tokenMetadata(options.token), options.json === true);
  } finally {
    client.close();
  }
}

/** Cancels a job that has not ended. */
export async function cancelJob(id: string, options: JobsCommandOptions): Promise<void> {
  const client = connect(options.address);
  try {
    const job = await call<Job__Output>((cb) => client.jobs.CancelJob({ id }, tokenMetadata(options.token), cb));
    console.log(options.json === true ? JSON.stringify(jobJson(job), null, 2) : `job ${job.id} ${stateName(job.state)} after ${rowsAnswered(job)} of ${job.rows_total} rows`);
  } finally {
    client.close();
  }
}

/** Options of `modelserve jobs list`. */
export interface ListJobsOptions extends JobsCommandOptions {
  state?: JobStateName[];
  model?: string;
  pageSize?: number;
  all?: boolean;
}

/** Lists jobs, newest first, as a table (JSON with --json): one page, or with --all every page. */
export async function listJobs(options: ListJobsOptions): Promise<void> {
  const client = connect(options.address);
  const metadata = tokenMetadata(options.token);
  try {
    const jobs: Job__Output[] = [];
    let token = '';
    do {
      const request = { page_size: options.pageSize ?? 0, page_token: token, states: (options.state ?? []).map((s) => `JOB_STATE_${s}` as const), model_name: options.model ?? '' };
      const page = await call<ListJobsResponse__Output>((cb) => client.jobs.ListJobs(request, metadata, cb));
      jobs.push(...page.jobs);
      token = page.next_page_token;
    } while (options.all === true && token !== '');
    if (options.json === true) console.log(JSON.stringify(jobs.map(jobJson), null, 2));
    else {
      const rows = [['ID', 'MODEL', 'VERSION', 'STATE', 'DONE', 'ROWS', 'FAILED', 'CREATED']];
      for (const j of jobs) rows.push([j.id, j.model_name, j.model_version, stateName(j.state), percentDone(j), j.rows_total, j.rows_failed, time(j.created_unix_ms)]);
      const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
      for (const row of rows) console.log(row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd());
    }
    if (token !== '') console.error(`modelserve: more jobs than --page-size ${options.pageSize ?? 50}; --all lists every page`);
  } finally {
    client.close();
  }
}

/** Options of `modelserve jobs results`. */
export interface JobResultsOptions extends JobsCommandOptions {
  out?: string;
  start?: number;
  max?: number;
  partial?: boolean;
}

/** A result row as a JSON line: `{"row": 0, "outputs": {"<name>": {"datatype", "shape", "data"}}}` (infer's tensors) or `{"row": 0, "error": "..."}`. */
export function resultJson(row: JobResultRow__Output): Record<string, unknown> {
  if (row.error !== '') return { row: Number(row.row), error: row.error };
  const outputs = row.outputs.map((wire) => {
    const tensor = decodeTensor(wire, wire.raw_contents.length > 0 ? wire.raw_contents : null, `row ${row.row} output '${wire.name}'`);
    return [tensor.name, { datatype: tensor.datatype, shape: tensor.shape, data: valuesOf(tensor) }] as const;
  });
  return { row: Number(row.row), outputs: Object.fromEntries(outputs) };
}

/**
 * Writes a job's results as JSON lines to stdout or --out (written aside, then renamed into place
 * once complete), reading no faster than they are written.
 */
export async function jobResults(id: string, options: JobResultsOptions): Promise<void> {
  const client = connect(options.address);
  const temporary = options.out === undefined ? undefined : `${options.out}.${process.pid}.partial`;
  const file = temporary === undefined ? undefined : createWriteStream(temporary);
  const sink: NodeJS.WritableStream = file ?? process.stdout;
  const stream = client.jobs.GetJobResults(
    { id, start_row: options.start ?? 0, max_rows: options.max ?? 0, allow_partial: options.partial === true, output_format: 'OUTPUT_FORMAT_RAW' },
    tokenMetadata(options.token),
  );
  // A reader that goes away (`| head`) ends the results quietly; any other write error ends them with it.
  let readerGone = false;
  const onSinkError = (error: NodeJS.ErrnoException): void => {
    if (error.code === 'EPIPE') {
      readerGone = true;
      stream.cancel();
    } else stream.destroy(error);
  };
  sink.on('error', onSinkError);
  let rows = 0;
  let failed = 0;
  try {
    for await (const row of stream as AsyncIterable<JobResultRow__Output>) {
      rows++;
      if (row.error !== '') failed++;
      if (!sink.write(`${JSON.stringify(resultJson(row))}\n`)) await once(sink, 'drain');
    }
    if (file !== undefined) {
      await new Promise<void>((resolve, reject) => file.end((error?: Error | null) => (error ? reject(error) : resolve())));
      await rename(temporary!, options.out!);
      console.log(`${rows} rows (${failed} failed) written to ${options.out}`);
    }
  } catch (error) {
    if (!readerGone) throw error;
  } finally {
    sink.off('error', onSinkError);
    if (file !== undefined) {
      file.destroy();
      await rm(temporary!, { force: true });
    }
    client.close();
  }
}
