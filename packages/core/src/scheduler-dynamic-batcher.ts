import type { ModelInstance } from './backend.js';
import { batchKey, batchSizeOf, concatInputs, splitOutputs } from './batch-tensors.js';
import { internalError, ModelServeError } from './errors.js';
import { formBatch, halves, type BatchRules } from './scheduler-batch.js';
import type { RunTrace } from './trace.js';
import { systemClock, type Clock } from './scheduler-clock.js';
import { RequestQueue, type QueuedRequest } from './scheduler-queue.js';
import type { InferenceJob, Scheduler } from './scheduler.js';
import type { VersionStats } from './statistics.js';
import type { NamedTensor } from './tensor.js';

/** How a model version's requests are queued and gathered into runs (Triton's dynamic_batching). */
export interface DynamicBatcherOptions {
  /** `model/version`, for messages. */
  label: string;
  /** Gather queued requests into one run. When false, each run serves one request (batching off). */
  batching: boolean;
  /** Largest sum of first dimensions per run; 0: the model is not batched. */
  maxBatchSize: number;
  /** How long the oldest request may wait for a fuller batch; 0 (default): never wait. */
  maxQueueDelayUs?: number;
  /** Batch sizes to prefer when more requests wait than one run can take. */
  preferredBatchSizes?: readonly number[];
  /**
   * A batch of at least this many samples runs as two halves, back to back on its instance: the
   * first half is answered on the event loop while the second computes, instead of the loop waiting
   * on the whole batch and then the instance waiting on the loop. 0 (default here; config.yaml's
   * default is 16): never. Never with preferred batch sizes, whose runs keep their size.
   */
  splitFrom?: number;
  /** Requests waiting beyond which new ones get `ResourceExhausted`. Default 1024. */
  maxQueueSize?: number;
  /** Priority levels, 1 the highest. Default 1. */
  priorityLevels?: number;
  /** Level of a request that names none. Default 1. */
  defaultPriorityLevel?: number;
  /**
   * Refuse a request with a deadline at once (`ResourceExhausted`) when the work queued ahead of it
   * would not let it finish in time, and answer `DeadlineExceeded` as soon as a queued request can
   * no longer finish in time. Default true.
   */
  shedByDeadline?: boolean;
  /** Where counts and durations are recorded. */
  stats?: VersionStats;
  /** Time and timers. Default: the system's. */
  clock?: Clock;
}

/** The runs a batch was dispatched as; its instance is idle again when all have finished. */
interface RunGroup {
  runs: number;
}

/**
 * Runs requests on idle instances, highest priority first, oldest first. While every instance is
 * busy, requests wait in a bounded queue (`RequestQueue`); when an instance frees, it takes the head
 * request and, with batching on, every queued request that can join it (`formBatch`). An idle
 * instance never waits for more requests unless max_queue_delay_us asks it to, so batching costs
 * nothing at low load. Expired and cancelled requests leave the queue without running.
 */
export class DynamicBatcher implements Scheduler {
  private readonly idle: ModelInstance[];
  private readonly queue: RequestQueue;
  private readonly rules: BatchRules;
  private readonly clock: Clock;
  /** Instances that can still run: idle or busy, not removed. */
  private live: number;
  /** Instances removed (see `remove`): never idle again. */
  private readonly removed = new Set<ModelInstance>();
  private running = 0;
  /** Why new requests are refused: draining, or no instance left. */
  private refusal: ModelServeError | undefined;
  private drained: (() => void) | undefined;
  private delayTimer: unknown;

  constructor(
    instances: readonly ModelInstance[],
    private readonly options: DynamicBatcherOptions,
  ) {
    this.idle = [...instances];
    this.live = instances.length;
    this.clock = options.clock ?? systemClock;
    const batched = options.batching && options.maxBatchSize > 0;
    this.rules = {
      batching: options.batching,
      maxBatchSize: options.maxBatchSize,
      maxQueueDelayUs: options.maxQueueDelayUs ?? 0,
      preferredBatchSizes: options.preferredBatchSizes ?? [],
      splitFrom: options.splitFrom ?? 0,
    };
    this.queue = new RequestQueue({
      label: options.label,
      maxQueueSize: options.maxQueueSize ?? 1024,
      priorityLevels: options.priorityLevels ?? 1,
      defaultPriorityLevel: options.defaultPriorityLevel ?? 1,
      shedByDeadline: options.shedByDeadline !== false,
      samplesPerRun: batched ? options.maxBatchSize : 1,
      clock: this.clock,
      stats: options.stats,
      onDropped: () => this.maybeDrained(),
    });
  }

  get inflight(): number {
    return this.running + this.queue.length;
  }

  /** Requests waiting in the queue. */
  get queued(): number {
    return this.queue.length;
  }

  /** Instances that can still run requests. */
  get instances(): number {
    return this.live;
  }

  enqueue(job: InferenceJob): Promise<NamedTensor[]> {
    const { label, maxBatchSize, batching } = this.options;
    if (this.refusal !== undefined) return Promise.reject(this.refusal);
    if (job.signal?.aborted) return Promise.reject(new ModelServeError('Cancelled', `${label}: request cancelled`));
    const size = maxBatchSize > 0 ? batchSizeOf(job.inputs) : 1;
    let level: number;
    try {
      level = this.queue.admit(job, size, this.idle.length === 0, this.live);
    } catch (error) {
      return Promise.reject(error as Error);
    }
    if (job.trace !== undefined) job.trace.queuedAt = performance.now();
    return new Promise<NamedTensor[]>((resolve, reject) => {
      // The merge key matters only when requests can merge.
      const key = batching && maxBatchSize > 0 ? batchKey(job.inputs) : '';
      const request = this.queue.push(job, key, size, level, resolve, reject);
      this.dispatch();
      // Still queued (every instance is busy): answer at the deadline or on cancellation.
      if (request.waiting) this.queue.watch(request);
    });
  }

  drain(): Promise<void> {
    this.refusal ??= new ModelServeError('Unavailable', `${this.options.label} is unloading`);
    if (this.inflight === 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.drained = resolve;
    });
  }

  /**
   * Gives `instance` no more runs (it can no longer run: its worker died and could not restart).
   * Once no instance is left, answers every queued request, and refuses new ones, with
   * `Unavailable` and `reason`.
   */
  remove(instance: ModelInstance, reason: string): void {
    if (this.removed.has(instance)) return;
    this.removed.add(instance);
    const at = this.idle.indexOf(instance);
    if (at >= 0) this.idle.splice(at, 1);
    this.live--;
    if (this.live > 0) return;
    const error = new ModelServeError('Unavailable', `${this.options.label}: ${reason}`);
    this.refusal ??= error;
    this.queue.dropAll(error);
  }

  private dispatch(): void {
    while (this.idle.length > 0 && this.queue.length > 0) {
      const head = this.queue.head();
      if (head === undefined) return;
      const formed = formBatch(head, this.queue.byLevel, this.rules, this.clock.monotonic());
      if (formed.batch === undefined) {
        this.delayTimer ??= this.clock.setTimeout(() => {
          this.delayTimer = undefined;
          this.dispatch();
        }, formed.waitMs);
        return;
      }
      const batch = this.queue.take(formed.batch);
      const instance = this.idle.pop()!;
      const parts = halves(batch, this.rules) ?? [batch];
      const group = { runs: parts.length };
      for (const part of parts) this.run(instance, part, group);
    }
  }

  private run(instance: ModelInstance, batch: QueuedRequest[], group: RunGroup): void {
    const { stats, label } = this.options;
    const now = this.clock.monotonic();
    const wallNow = this.clock.now();
    const giveUpAt = wallNow + this.queue.giveUpMs;
    const live: QueuedRequest[] = [];
    for (const request of batch) {
      const { deadline, signal } = request.job;
      if (deadline !== undefined && deadline <= giveUpAt) {
        stats?.request(false, this.sinceUs(request.enqueuedAt));
        request.reject(new ModelServeError('DeadlineExceeded', `${label}: ${this.queue.expiredWhy(deadline > wallNow)}`));
      } else if (signal?.aborted) {
        stats?.request(false, this.sinceUs(request.enqueuedAt));
        request.reject(new ModelServeError('Cancelled', `${label}: request cancelled`));
      } else {
        stats?.queued((now - request.enqueuedAt) * 1000);
        live.push(request);
      }
    }
    if (live.length === 0) {
      // Called from dispatch(), which goes on with the instance when it is idle again.
      this.release(instance, 0, group, false);
      return;
    }
    this.running += live.length;
    const sizes: number[] = [];
    let samples = 0;
    let wantsAll = false;
    const wanted = new Set<string>();
    for (const request of live) {
      sizes.push(request.size);
      samples += request.size;
      if (request.job.outputs.length === 0) wantsAll = true;
      else for (const name of request.job.outputs) wanted.add(name);
    }
    if (this.options.maxBatchSize === 0) samples = live.length;
    // concatInputs copies into fresh arrays, so the instance may move them to its thread.
    const inputs = concatInputs(live.map((r) => r.job.inputs));
    const traced = stats?.observer?.tracedRun === undefined ? undefined : tracedRun(live, samples);
    instance.run(inputs, wantsAll ? [] : [...wanted]).then(
      (result) => {
        stats?.ran(samples, this.sinceUs(now), live.length);
        if (traced !== undefined) this.tracedRunEnded(traced);
        this.queue.observeRun(this.clock.monotonic() - now);
        this.release(instance, live.length, group);
        let parts: NamedTensor[][];
        try {
          parts = splitOutputs(label, result, sizes);
        } catch (error) {
          this.answerAll(live, internalError(error));
          return;
        }
        for (let i = 0; i < live.length; i++) {
          const request = live[i]!;
          const outputs = request.job.outputs;
          stats?.request(true, this.sinceUs(request.enqueuedAt));
          request.resolve(outputs.length === 0 || outputs.length === parts[i]!.length ? parts[i]! : parts[i]!.filter((t) => outputs.includes(t.name)));
        }
      },
      (error: unknown) => {
        stats?.ran(samples, this.sinceUs(now), live.length);
        if (traced !== undefined) this.tracedRunEnded(traced);
        this.release(instance, live.length, group);
        this.answerAll(live, internalError(error));
      },
    );
  }

  private tracedRunEnded(run: RunTrace): void {
    run.endedAt = performance.now();
    this.options.stats?.observer?.tracedRun?.(run);
  }

  /** Microseconds since `start` (a `Clock.monotonic` reading). */
  private sinceUs(start: number): number {
    return (this.clock.monotonic() - start) * 1000;
  }

  private answerAll(requests: QueuedRequest[], error: ModelServeError): void {
    for (const request of requests) {
      this.options.stats?.request(false, this.sinceUs(request.enqueuedAt));
      request.reject(error);
    }
  }

  /** Ends one run of `group`; after its last, returns the instance to the idle set and (`next`) hands it the next batch. */
  private release(instance: ModelInstance, finished: number, group: RunGroup, next = true): void {
    this.running -= finished;
    if (--group.runs === 0) {
      // An instance removed while busy never runs again.
      if (!this.removed.has(instance)) {
        this.idle.push(instance);
        if (next) this.dispatch();
      }
    }
    this.maybeDrained();
  }

  private maybeDrained(): void {
    if (this.refusal !== undefined && this.inflight === 0 && this.drained !== undefined) {
      const done = this.drained;
      this.drained = undefined;
      done();
    }
  }
}

/** The run's trace when some of `live` are traced (each of their traces points to it), else undefined. */
function tracedRun(live: readonly QueuedRequest[], samples: number): RunTrace | undefined {
  let run: RunTrace | undefined;
  for (const request of live) {
    const trace = request.job.trace;
    if (trace === undefined) continue;
    run ??= { startedAt: performance.now(), samples, traces: [] };
    run.traces.push(trace);
    trace.run = run;
  }
  return run;
}
