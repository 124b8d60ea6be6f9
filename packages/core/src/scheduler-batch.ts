/**
 * Batch formation: which waiting requests run together. Pure functions of the queue and the
 * rules, so each rule is tested on its own; the dynamic batcher applies them when an instance frees.
 */

/** What batch formation reads of a waiting request. */
export interface Batchable {
  /** Requests merge only with others of the same key: same inputs, datatypes and dimensions after the first. */
  readonly key: string;
  /** Samples (its first dimension). */
  readonly size: number;
  /** When it was queued, ms (`Clock.monotonic`). */
  readonly enqueuedAt: number;
}

/** How requests are gathered into runs (Triton's dynamic_batching). */
export interface BatchRules {
  /** Gather requests into one run. When false, each run serves one request. */
  batching: boolean;
  /** Largest sum of first dimensions per run; 0: the model is not batched. */
  maxBatchSize: number;
  /** How long the oldest request may wait for a fuller batch; 0: never wait. */
  maxQueueDelayUs: number;
  /** Batch sizes to prefer when more requests wait than one run can take. */
  preferredBatchSizes: readonly number[];
  /** A batch of at least this many samples runs as two halves; 0: never (nor with preferred sizes). */
  splitFrom: number;
}

/** A batch to run now, or how long to hold the head back for a fuller one. */
export type Formed<T> = { batch: T[]; waitMs?: undefined } | { batch?: undefined; waitMs: number };

/**
 * The requests to run with `head` (the oldest of the highest level), `levels` in queue order: with
 * batching on, every waiting request of head's key that fits under max_batch_size, cut to the
 * longest preferred size when one is reached; or, with max_queue_delay_us and room left, a wait.
 * `now` is `Clock.monotonic`.
 */
export function formBatch<T extends Batchable>(head: T, levels: readonly (readonly T[])[], rules: BatchRules, now: number): Formed<T> {
  const { batching, maxBatchSize } = rules;
  const chosen = [head];
  if (!batching || maxBatchSize <= 0) return { batch: chosen };
  let total = head.size;
  gathering: for (const queue of levels) {
    for (const request of queue) {
      if (total === maxBatchSize) break gathering;
      if (request !== head && request.key === head.key && total + request.size <= maxBatchSize) {
        chosen.push(request);
        total += request.size;
      }
    }
  }
  const preferred = preferredPrefix(chosen, rules.preferredBatchSizes);
  if (preferred !== undefined) return { batch: preferred };
  const waitMs = holdMs(head, total, rules, now);
  return waitMs > 0 ? { waitMs } : { batch: chosen };
}

/** The longest prefix of `chosen` whose size is a preferred batch size, if any. */
export function preferredPrefix<T extends Batchable>(chosen: T[], preferred: readonly number[]): T[] | undefined {
  if (preferred.length === 0) return undefined;
  let best: number | undefined;
  let total = 0;
  chosen.forEach((request, i) => {
    total += request.size;
    if (preferred.includes(total)) best = i + 1;
  });
  return best === undefined ? undefined : chosen.slice(0, best);
}

/** How long `head` should still wait for a batch fuller than `total` samples, ms (whole, rounded up); 0: run now. */
export function holdMs(head: Batchable, total: number, rules: BatchRules, now: number): number {
  const delayUs = rules.maxQueueDelayUs;
  if (delayUs <= 0 || total >= rules.maxBatchSize) return 0;
  const waitedUs = (now - head.enqueuedAt) * 1000;
  return waitedUs >= delayUs ? 0 : Math.ceil((delayUs - waitedUs) / 1000);
}

/** `batch` cut where half its samples are, when it is to run as two halves (see `BatchRules.splitFrom`). */
export function halves<T extends Batchable>(batch: T[], rules: BatchRules): [T[], T[]] | undefined {
  const { batching, splitFrom, preferredBatchSizes } = rules;
  if (!batching || splitFrom <= 0 || batch.length < 2 || preferredBatchSizes.length > 0) return undefined;
  let total = 0;
  for (const request of batch) total += request.size;
  if (total < splitFrom) return undefined;
  let cut = 0;
  for (let samples = 0; cut < batch.length - 1 && samples * 2 < total; cut++) samples += batch[cut]!.size;
  return [batch.slice(0, cut), batch.slice(cut)];
}
