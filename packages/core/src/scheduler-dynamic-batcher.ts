import type { ModelInstance } from './backend.js';
import { batchKey, batchSizeOf, concatInputs, splitOutputs } from './batch-tensors.js';
import { invalidArgument, ModelServeError } from './errors.js';
import type { InferenceJob, Scheduler } from './scheduler.js';
import type { VersionStats } from './statistics.js';
import type { NamedTensor } from './tensor.js';

/**
 * A queued request whose deadline is further off than this gets no timer of its own: a sweep
 * every half of it arms one once the deadline nears. Requests usually leave the queue within
 * milliseconds, and a timer per request (set, then cleared) costs the event loop more than that.
 */
const farDeadlineMs = 1000;

/** Microseconds since `start` (a `performance.now()` reading). */
const sinceUs = (start: number): number => (performance.now() - start) * 1000;

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
}

interface Entry {
  job: InferenceJob;
  key: string;
  size: number;
  level: number;
  enqueuedAt: number;
  resolve(outputs: NamedTensor[]): void;
  reject(error: Error): void;
  /** In a queue (not yet taken, dropped or run). */
  waiting: boolean;
  /** Armed only while the entry waits in the queue. */
  timer: NodeJS.Timeout | undefined;
  /** Waiting with a deadline too far off for a timer of its own yet (see `farDeadlineMs`). */
  far: boolean;
  onAbort: (() => void) | undefined;
}

/** The runs a batch was dispatched as; its instance is idle again when all have finished. */
interface RunGroup {
  runs: number;
}

/**
 * Runs requests on idle instances, highest priority first, oldest first. While every instance is
 * busy, requests wait in a bounded queue; when an instance frees, it takes the head request and,
 * with batching on, every queued request that can join it (same non-batch dimensions, up to
 * max_batch_size). An idle instance never waits for more requests unless max_queue_delay_us asks it
 * to, so batching costs nothing at low load. Expired and cancelled requests leave the queue
 * without running.
 */
export class DynamicBatcher implements Scheduler {
  private readonly idle: ModelInstance[];
  private levels: Entry[][];
  private queued = 0;
  private running = 0;
  private draining = false;
  private drained: (() => void) | undefined;
  private delayTimer: NodeJS.Timeout | undefined;
  /** Arms the timers of waiting entries whose deadlines near; runs while any `far` entry may wait. */
  private sweepTimer: NodeJS.Timeout | undefined;
  /** Waiting entries marked `far`. */
  private farEntries = 0;
  private readonly maxQueueSize: number;
  private readonly defaultLevel: number;
  private readonly instanceCount: number;
  /** Samples queued per priority level (what a new request of that level waits behind). */
  private readonly levelSamples: number[];
  /** Recent runs' duration, ms (exponentially weighted); 0 until the first run. */
  private runMs = 0;

  constructor(
    instances: readonly ModelInstance[],
    private readonly options: DynamicBatcherOptions,
  ) {
    this.idle = [...instances];
    this.maxQueueSize = options.maxQueueSize ?? 1024;
    this.levels = Array.from({ length: options.priorityLevels ?? 1 }, () => []);
    this.levelSamples = this.levels.map(() => 0);
    this.defaultLevel = options.defaultPriorityLevel ?? 1;
    this.instanceCount = instances.length;
  }

  get inflight(): number {
    return this.running + this.queued;
  }

  enqueue(job: InferenceJob): Promise<NamedTensor[]> {
    const { label } = this.options;
    if (this.draining) return Promise.reject(new ModelServeError('Unavailable', `${label} is unloading`));
    if (job.signal?.aborted) return Promise.reject(new ModelServeError('Cancelled', `${label}: request cancelled`));
    const level = job.priority === undefined || job.priority === 0 ? this.defaultLevel : job.priority;
    if (!Number.isInteger(level) || level < 1 || level > this.levels.length) {
      return Promise.reject(
        invalidArgument(`${label}: priority ${job.priority} is out of range: expected 1 (highest) to ${this.levels.length}, or 0 for the default`),
      );
    }
    if (this.queued >= this.maxQueueSize) {
      return Promise.reject(new ModelServeError('ResourceExhausted', `${label}: queue is full (${this.maxQueueSize} requests waiting)`));
    }
    const size = this.options.maxBatchSize > 0 ? batchSizeOf(job.inputs) : 1;
    if (job.deadline !== undefined && this.idle.length === 0 && this.giveUpMs > 0) {
      const finishMs = this.expectedFinishMs(level, size);
      const leftMs = job.deadline - Date.now();
      if (finishMs > leftMs) {
        return Promise.reject(
          new ModelServeError(
            'ResourceExhausted',
            `${label}: overloaded: the ${this.queued} requests queued ahead would finish it in about ${Math.ceil(finishMs)} ms, its deadline is in ${Math.max(0, Math.floor(leftMs))} ms`,
          ),
        );
      }
    }
    return new Promise<NamedTensor[]>((resolve, reject) => {
      // The merge key matters only when requests can merge.
      const key = this.options.batching && this.options.maxBatchSize > 0 ? batchKey(job.inputs) : '';
      const entry: Entry = { job, key, size, level, enqueuedAt: performance.now(), resolve, reject, waiting: true, timer: undefined, far: false, onAbort: undefined };
      this.levels[level - 1]!.push(entry);
      this.levelSamples[level - 1]! += size;
      this.queued++;
      this.dispatch();
      // Still queued (every instance is busy): answer at the deadline or on cancellation.
      if (entry.waiting) this.watch(entry);
    });
  }

  /**
   * When a request of `level` and `size` queued now would finish, in ms from now, at worst: the runs
   * in progress end, then the runs that take the samples queued ahead of it and its own, spread
   * over the instances, each taking as long as recent runs.
   */
  private expectedFinishMs(level: number, size: number): number {
    let samples = size;
    for (let i = 0; i < level; i++) samples += this.levelSamples[i]!;
    const perRun = this.options.batching && this.options.maxBatchSize > 0 ? this.options.maxBatchSize : 1;
    return this.runMs * (1 + Math.ceil(Math.ceil(samples / perRun) / this.instanceCount));
  }

  /** How long before its deadline a queued request can no longer finish: one run, when shedding. */
  private get giveUpMs(): number {
    return this.options.shedByDeadline === false ? 0 : this.runMs;
  }

  private watch(entry: Entry): void {
    const { deadline, signal } = entry.job;
    if (deadline !== undefined) {
      const delayMs = deadline - this.giveUpMs - Date.now();
      if (delayMs > farDeadlineMs) {
        entry.far = true;
        this.farEntries++;
        this.sweepTimer ??= setInterval(() => this.sweep(), farDeadlineMs / 2);
      } else {
        this.arm(entry, delayMs);
      }
    }
    if (signal !== undefined) {
      entry.onAbort = () => this.drop(entry, 'Cancelled', 'request cancelled');
      signal.addEventListener('abort', entry.onAbort);
    }
  }

  private arm(entry: Entry, delayMs: number): void {
    entry.timer = setTimeout(() => this.expire(entry), Math.max(0, delayMs));
  }

  /** Arms the timers of `far` entries whose deadlines are now near; stops once none waits. */
  private sweep(): void {
    if (this.farEntries === 0) {
      clearInterval(this.sweepTimer);
      this.sweepTimer = undefined;
      return;
    }
    const now = Date.now();
    for (const queue of this.levels) {
      for (const entry of queue) {
        if (!entry.far) continue;
        const delayMs = entry.job.deadline! - this.giveUpMs - now;
        if (delayMs > farDeadlineMs) continue;
        entry.far = false;
        this.farEntries--;
        this.arm(entry, delayMs);
      }
    }
  }

  private unwatch(entry: Entry): void {
    if (entry.timer !== undefined) clearTimeout(entry.timer);
    if (entry.far) {
      entry.far = false;
      this.farEntries--;
    }
    if (entry.onAbort !== undefined) entry.job.signal?.removeEventListener('abort', entry.onAbort);
    entry.timer = undefined;
    entry.onAbort = undefined;
  }

  drain(): Promise<void> {
    this.draining = true;
    if (this.inflight === 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.drained = resolve;
    });
  }

  /** A queued entry that cannot finish before its deadline: answered now, before the caller gives up on it. */
  private expire(entry: Entry): void {
    // Timers may fire a millisecond early: only a deliberate early answer says so.
    const early = this.giveUpMs > 0 && entry.job.deadline! > Date.now() + 1;
    this.drop(entry, 'DeadlineExceeded', this.expiredWhy(early));
  }

  /** Why a queued request is answered DEADLINE_EXCEEDED: its deadline passed, or (`early`) it would pass before a run could finish. */
  private expiredWhy(early: boolean): string {
    return early ? `deadline would pass before a run could finish (runs take about ${Math.ceil(this.runMs)} ms)` : 'deadline passed while queued';
  }

  /** Removes a queued entry and answers it with an error. */
  private drop(entry: Entry, code: 'DeadlineExceeded' | 'Cancelled', why: string): void {
    const queue = this.levels[entry.level - 1]!;
    const at = queue.indexOf(entry);
    if (at < 0) return;
    queue.splice(at, 1);
    this.queued--;
    this.levelSamples[entry.level - 1]! -= entry.size;
    entry.waiting = false;
    this.unwatch(entry);
    this.options.stats?.request(false, sinceUs(entry.enqueuedAt));
    entry.reject(new ModelServeError(code, `${this.options.label}: ${why}`));
    this.maybeDrained();
  }

  private dispatch(): void {
    while (this.idle.length > 0 && this.queued > 0) {
      const head = this.head();
      if (head === undefined) return;
      const batch = this.gather(head);
      if (batch === undefined) return;
      const instance = this.idle.pop()!;
      const parts = this.halves(batch) ?? [batch];
      const group = { runs: parts.length };
      for (const part of parts) this.run(instance, part, group);
    }
  }

  /** The oldest request of the highest non-empty priority level. */
  private head(): Entry | undefined {
    for (const queue of this.levels) if (queue.length > 0) return queue[0];
    return undefined;
  }

  /** The requests to run with `head`, or undefined to wait for more (only with max_queue_delay_us). */
  private gather(head: Entry): Entry[] | undefined {
    const { batching, maxBatchSize } = this.options;
    const chosen = [head];
    let total = head.size;
    if (batching && maxBatchSize > 0) {
      gathering: for (const queue of this.levels) {
        for (const entry of queue) {
          if (total === maxBatchSize) break gathering;
          if (entry !== head && entry.key === head.key && total + entry.size <= maxBatchSize) {
            chosen.push(entry);
            total += entry.size;
          }
        }
      }
      const preferred = this.preferredPrefix(chosen);
      if (preferred !== undefined) return this.take(preferred);
      if (this.shouldWait(head, total)) return undefined;
    }
    return this.take(chosen);
  }

  /** `batch` cut where half its samples are, when it is to run as two halves (see `splitFrom`). */
  private halves(batch: Entry[]): [Entry[], Entry[]] | undefined {
    const { batching, splitFrom = 0, preferredBatchSizes = [] } = this.options;
    if (!batching || splitFrom <= 0 || batch.length < 2 || preferredBatchSizes.length > 0) return undefined;
    let total = 0;
    for (const entry of batch) total += entry.size;
    if (total < splitFrom) return undefined;
    let cut = 0;
    for (let samples = 0; cut < batch.length - 1 && samples * 2 < total; cut++) samples += batch[cut]!.size;
    return [batch.slice(0, cut), batch.slice(cut)];
  }

  /** The longest prefix of `chosen` whose size is a preferred batch size, if any. */
  private preferredPrefix(chosen: Entry[]): Entry[] | undefined {
    const preferred = this.options.preferredBatchSizes ?? [];
    if (preferred.length === 0) return undefined;
    let best: number | undefined;
    let total = 0;
    chosen.forEach((entry, i) => {
      total += entry.size;
      if (preferred.includes(total)) best = i + 1;
    });
    return best === undefined ? undefined : chosen.slice(0, best);
  }

  /** Whether to hold `head` back for a fuller batch, arming a timer for when its delay ends. */
  private shouldWait(head: Entry, total: number): boolean {
    const delayUs = this.options.maxQueueDelayUs ?? 0;
    if (delayUs <= 0 || total >= this.options.maxBatchSize) return false;
    const waitedUs = (performance.now() - head.enqueuedAt) * 1000;
    if (waitedUs >= delayUs) return false;
    if (this.delayTimer === undefined) {
      this.delayTimer = setTimeout(() => {
        this.delayTimer = undefined;
        this.dispatch();
      }, Math.ceil((delayUs - waitedUs) / 1000));
    }
    return true;
  }

  /**
   * Removes `entries` (in queue order, highest level first) from their queues. A batch is most
   * often the front of one level; otherwise each level is filtered once.
   */
  private take(entries: Entry[]): Entry[] {
    const first = entries[0]!;
    const queue = this.levels[first.level - 1]!;
    let prefix = 0;
    while (prefix < entries.length && queue[prefix] === entries[prefix]) prefix++;
    if (prefix === entries.length) {
      queue.splice(0, prefix);
    } else {
      const taken = new Set(entries);
      for (let i = 0; i < this.levels.length; i++) this.levels[i] = this.levels[i]!.filter((e) => !taken.has(e));
    }
    for (const entry of entries) {
      entry.waiting = false;
      this.levelSamples[entry.level - 1]! -= entry.size;
      this.unwatch(entry);
    }
    this.queued -= entries.length;
    return entries;
  }

  private run(instance: ModelInstance, batch: Entry[], group: RunGroup): void {
    const { stats, label } = this.options;
    const now = performance.now();
    const wallNow = Date.now();
    const giveUpAt = wallNow + this.giveUpMs;
    const live: Entry[] = [];
    for (const entry of batch) {
      const { deadline, signal } = entry.job;
      if (deadline !== undefined && deadline <= giveUpAt) {
        stats?.request(false, sinceUs(entry.enqueuedAt));
        entry.reject(new ModelServeError('DeadlineExceeded', `${label}: ${this.expiredWhy(deadline > wallNow)}`));
      } else if (signal?.aborted) {
        stats?.request(false, sinceUs(entry.enqueuedAt));
        entry.reject(new ModelServeError('Cancelled', `${label}: request cancelled`));
      } else {
        stats?.queued((now - entry.enqueuedAt) * 1000);
        live.push(entry);
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
    for (const entry of live) {
      sizes.push(entry.size);
      samples += entry.size;
      if (entry.job.outputs.length === 0) wantsAll = true;
      else for (const name of entry.job.outputs) wanted.add(name);
    }
    if (this.options.maxBatchSize === 0) samples = live.length;
    // concatInputs copies into fresh arrays, so the instance may move them to its thread.
    const inputs = concatInputs(live.map((e) => e.job.inputs));
    instance.run(inputs, wantsAll ? [] : [...wanted], { movable: true }).then(
      (result) => {
        stats?.ran(samples, sinceUs(now), live.length);
        this.observeRun(performance.now() - now);
        this.release(instance, live.length, group);
        let parts: NamedTensor[][];
        try {
          parts = splitOutputs(label, result, sizes);
        } catch (error) {
          this.answerAll(live, ModelServeError.from(error));
          return;
        }
        for (let i = 0; i < live.length; i++) {
          const entry = live[i]!;
          const outputs = entry.job.outputs;
          stats?.request(true, sinceUs(entry.enqueuedAt));
          entry.resolve(outputs.length === 0 || outputs.length === parts[i]!.length ? parts[i]! : parts[i]!.filter((t) => outputs.includes(t.name)));
        }
      },
      (error: unknown) => {
        stats?.ran(samples, sinceUs(now), live.length);
        this.release(instance, live.length, group);
        this.answerAll(live, ModelServeError.from(error));
      },
    );
  }

  /** Updates the run time the deadline checks use (weight 0.2 on the newest run). */
  private observeRun(ms: number): void {
    this.runMs = this.runMs === 0 ? ms : 0.8 * this.runMs + 0.2 * ms;
  }

  private answerAll(entries: Entry[], error: ModelServeError): void {
    for (const entry of entries) {
      this.options.stats?.request(false, sinceUs(entry.enqueuedAt));
      entry.reject(error);
    }
  }

  /** Ends one run of `group`; after its last, returns the instance to the idle set and (`next`) hands it the next batch. */
  private release(instance: ModelInstance, finished: number, group: RunGroup, next = true): void {
    this.running -= finished;
    if (--group.runs === 0) {
      this.idle.push(instance);
      if (next) this.dispatch();
    }
    this.maybeDrained();
  }

  private maybeDrained(): void {
    if (this.draining && this.inflight === 0 && this.drained !== undefined) {
      const done = this.drained;
      this.drained = undefined;
      done();
    }
  }
}
