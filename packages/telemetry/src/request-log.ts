/**
 * Sampled request records: for a share of the requests the registry answers, one log record with
 * the model, version, request id, status and time, and optionally a digest of each input's bytes
 * or the inputs themselves. On the request's path only the sampling draw and a push happen; the
 * records are built and written in a later turn of the event loop, a batch at a time.
 *
 * A record carries what the request's tensors hold and nothing of its call: never its metadata, so
 * never a token or other credential.
 */
import { createHash } from 'node:crypto';
import type { InferenceObserver, InferenceRequest, Logger, NamedTensor, Outcome, VersionObserver } from '@modelserve/core';
import { statusNameOf } from '@modelserve/core/errors';

/** What a record says of the request's inputs: nothing, a sha256 digest of each, or their values. */
export type RequestLogPayloads = 'none' | 'digest' | 'full';

export interface RequestLogOptions {
  /** Share of requests logged, 0 to 1. */
  sampleRate: number;
  /** Default `none`. */
  payloads?: RequestLogPayloads;
  /** Where records go, at `info` with the message `request`. */
  logger: Logger;
  /** Draws in [0, 1); default Math.random (tests pass a seeded one). */
  random?: () => number;
  /** Records held for writing at most; beyond it records are dropped and counted. Default 10,000. */
  maxPending?: number;
}

/** One input as a record shows it. */
export interface LoggedInput {
  name: string;
  datatype: string;
  shape: number[];
  /** sha256 of the input's bytes (BYTES: each element's length as 4 bytes little-endian, then its bytes), hex. */
  sha256?: string;
  /** Numbers; 64-bit integers as decimal strings (exactly); BYTES elements as base64 strings. */
  values?: Array<number | string>;
}

/** One record, as logged. */
export interface RequestRecord {
  model: string;
  version: number | null;
  id: string;
  status: string;
  durationMs: number;
  inputs?: LoggedInput[];
}

interface Pending {
  request: InferenceRequest;
  version: number | undefined;
  outcome: Outcome;
  seconds: number;
}

const noVersionHooks: VersionObserver = { queued: () => undefined, ran: () => undefined };

/** An observer that logs a sample of the requests; `dropped` counts records lost to a full buffer. */
export class RequestLog implements InferenceObserver {
  dropped = 0;
  private pending: Pending[] = [];
  private scheduled = false;
  private readonly payloads: RequestLogPayloads;
  private readonly random: () => number;
  private readonly maxPending: number;

  constructor(private readonly options: RequestLogOptions) {
    if (!(options.sampleRate >= 0 && options.sampleRate <= 1)) throw new RangeError(`request log sample rate: expected a number from 0 to 1, got ${options.sampleRate}`);
    this.payloads = options.payloads ?? 'none';
    this.random = options.random ?? Math.random;
    this.maxPending = options.maxPending ?? 10_000;
  }

  version(): VersionObserver {
    return noVersionHooks;
  }

  finished(request: InferenceRequest, version: number | undefined, outcome: Outcome, seconds: number): void {
    if (this.options.sampleRate === 0 || this.random() >= this.options.sampleRate) return;
    if (this.pending.length >= this.maxPending) {
      this.dropped++;
      return;
    }
    this.pending.push({ request, version, outcome, seconds });
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** Writes every record held. */
  flush(): void {
    this.scheduled = false;
    const batch = this.pending;
    this.pending = [];
    for (const p of batch) this.options.logger.info({ request: this.record(p) }, 'request');
  }

  private record({ request, version, outcome, seconds }: Pending): RequestRecord {
    const record: RequestRecord = {
      model: request.model,
      version: version ?? null,
      id: request.id ?? '',
      status: outcome === 'OK' ? 'OK' : statusNameOf(outcome),
      durationMs: Math.round(seconds * 1e6) / 1000,
    };
    if (this.payloads !== 'none') record.inputs = request.inputs.map((t) => this.input(t));
    return record;
  }

  private input(t: NamedTensor): LoggedInput {
    const logged: LoggedInput = { name: t.name, datatype: t.datatype, shape: [...t.shape] };
    if (this.payloads === 'digest') logged.sha256 = digest(t);
    else logged.values = values(t);
    return logged;
  }
}

function digest(t: NamedTensor): string {
  const hash = createHash('sha256');
  if (t.datatype === 'BYTES') {
    const length = Buffer.alloc(4);
    for (const element of t.data as Uint8Array[]) {
      length.writeUInt32LE(element.byteLength);
      hash.update(length).update(element);
    }
  } else {
    const view = t.data as ArrayBufferView;
    hash.update(new Uint8Array(view.buffer, view.byteOffset, view.byteLength));
  }
  return hash.digest('hex');
}

function values(t: NamedTensor): Array<number | string> {
  if (t.datatype === 'BYTES') return (t.data as Uint8Array[]).map((b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64'));
  return Array.from(t.data as ArrayLike<number | bigint | boolean>, (v) => (typeof v === 'bigint' ? v.toString() : Number(v)));
}
