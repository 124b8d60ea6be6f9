import { invalidArgument, ModelServeError } from './errors.js';
import type { Clock } from './scheduler-clock.js';
import type { InferenceJob } from './scheduler.js';
import type { VersionStats } from './statistics.js';
import type { NamedTensor } from './tensor.js';

/**
 * A queued request whose deadline is further off than this gets no timer of its own: a sweep
 * every half of it arms one once the deadline nears. Requests usually leave the queue within
 * milliseconds, and a timer per request (set, then cleared) costs the event loop more than that.
 */
export const farDeadlineMs = 1000;

/** How a model version's requests wait: priorities, bounds and deadlines. */
export interface RequestQueueOptions {
  /** `model/version`, for messages. */
  label: string;
  /** Requests waiting beyond which new ones get `ResourceExhausted`. */
  maxQueueSize: number;
  /** Priority levels, 1 the highest (one more, below them all, holds background work: batch jobs). */
  priorityLevels: number;
  /** Level of a request that names none. */
  defaultPriorityLevel: number;
  /** Refuse requests the queue ahead would make miss their deadline, and expire them a run early. */
  shedByDeadline: boolean;
  /** Most samples one run takes (what the wait forecast divides the queue by). */
  samplesPerRun: number;
  clock: Clock;
  stats?: VersionStats | undefined;
  /** Called after a request leaves the queue without running (expired or cancelled). */
  onDropped(): void;
}

/** A request in the queue, and then in the batch it was taken into. */
export interface QueuedRequest {
  readonly job: InferenceJob;
  /** Requests merge only with others of the same key (see `batchKey`). */
  readonly key: string;
  /** Samples: its first dimension when the model batches, else 1. */
  readonly size: number;
  /** Priority level, 1 the highest. */
  readonly level: number;
  /** When it was queued (`Clock.monotonic`). */
  readonly enqueuedAt: number;
  resolve(outputs: NamedTensor[]): void;
  reject(error: Error): void;
  /** In the queue (not yet taken or dropped). */
  waiting: boolean;
  /** Armed only while the request waits. */
  timer: unknown;
  /** Waiting with a deadline too far off for a timer of its own yet (see `farDeadlineMs`). */
  far: boolean;
  onAbort: (() => void) | undefined;
}

/**
 * The requests waiting for an instance, by priority level then age. Owns what happens to a request
 * while it waits: admission (priority range, queue bound, shedding by deadline), its deadline timer
 * and cancellation, and leaving (taken into a batch, or dropped with an answer).
 */
export class RequestQueue {
  private levels: QueuedRequest[][];
  /** Samples waiting per level (what a new request of that level waits behind). */
  private readonly levelSamples: number[];
  private count = 0;
  /** Re-armed every half `farDeadlineMs` while a `far` request may wait. */
  private sweepTimer: unknown;
  private farCount = 0;
  /** Recent runs' duration, ms (exponentially weighted); 0 until the first run. */
  private runMs = 0;

  constructor(private readonly options: RequestQueueOptions) {
    this.levels = Array.from({ length: options.priorityLevels + 1 }, () => []);
    this.levelSamples = this.levels.map(() => 0);
  }

  /** Requests waiting. */
  get length(): number {
    return this.count;
  }

  /** Every level's requests, oldest first, the highest level first. */
  get byLevel(): readonly (readonly QueuedRequest[])[] {
    return this.levels;
  }

  /** The oldest request of the highest non-empty level. */
  head(): QueuedRequest | undefined {
    for (const queue of this.levels) if (queue.length > 0) return queue[0];
    return undefined;
  }

  /**
   * The level `job` would wait at; throws `InvalidArgument` for a priority out of range and
   * `ResourceExhausted` when the queue is full or, `busy` (no idle instance) and shedding, when the
   * work ahead on `instances` instances would make it miss its deadline.
   */
  admit(job: InferenceJob, size: number, busy: boolean, instances: number): number {
    const { label, maxQueueSize } = this.options;
    const { priorityLevels } = this.options;
    const level = job.background === true ? priorityLevels + 1 : job.priority === undefined || job.priority === 0 ? this.options.defaultPriorityLevel : job.priority;
    if (!Number.isInteger(level) || level < 1 || level > priorityLevels + (job.background === true ? 1 : 0)) {
      throw invalidArgument(`${label}: priority ${job.priority} is out of range: expected 1 (highest) to ${priorityLevels}, or 0 for the default`);
    }
    if (this.count >= maxQueueSize) throw new ModelServeError('ResourceExhausted', `${label}: queue is full (${maxQueueSize} requests waiting)`);
    if (job.deadline !== undefined && busy && this.giveUpMs > 0) {
      const finishMs = this.expectedFinishMs(level, size, instances);
      const leftMs = job.deadline - this.options.clock.now();
      if (finishMs > leftMs) {
        throw new ModelServeError(
          'ResourceExhausted',
          `${label}: overloaded: the ${this.count} requests queued ahead would finish it in about ${Math.ceil(finishMs)} ms, its deadline is in ${Math.max(0, Math.floor(leftMs))} ms`,
        );
      }
    }
    return level;
  }

  /**
   * When a request of `level` and `size` queued now would finish, in ms from now, at worst: the runs
   * in progress end, then the runs that take the samples queued ahead of it and its own, spread
   * over the instances, each taking as long as recent runs.
   */
  private expectedFinishMs(level: number, size: number, instances: number): number {
    let samples = size;
    for (let i = 0; i < level; i++) samples += this.levelSamples[i]!;
    return this.runMs * (1 + Math.ceil(Math.ceil(samples / this.options.samplesPerRun) / Math.max(1, instances)));
  }

  /** Queues a request admitted at `level`; call `watch` if it is still waiting once instances had their pick. */
  push(job: InferenceJob, key: string, size: number, level: number, resolve: (outputs: NamedTensor[]) => void, reject: (error: Error) => void): QueuedRequest {
    const request: QueuedRequest = { job, key, size, level, enqueuedAt: this.options.clock.monotonic(), resolve, reject, waiting: true, timer: undefined, far: false, onAbort: undefined };
    this.levels[level - 1]!.push(request);
    this.levelSamples[level - 1]! += size;
    this.count++;
    return request;
  }

  /** Answers a waiting request at its deadline (a run early, when shedding) or on cancellation. */
  watch(request: QueuedRequest): void {
    const { deadline, signal } = request.job;
    if (deadline !== undefined) {
      const delayMs = deadline - this.giveUpMs - this.options.clock.now();
      if (delayMs > farDeadlineMs) {
        request.far = true;
        this.farCount++;
        this.sweepTimer ??= this.options.clock.setTimeout(() => this.sweep(), farDeadlineMs / 2);
      } else {
        this.arm(request, delayMs);
      }
    }
    if (signal !== undefined) {
      request.onAbort = () => this.drop(request, 'Cancelled', 'request cancelled');
      signal.addEventListener('abort', request.onAbort);
    }
  }

  private arm(request: QueuedRequest, delayMs: number): void {
    request.timer = this.options.clock.setTimeout(() => this.expire(request), Math.max(0, delayMs));
  }

  /** Arms the timers of `far` requests whose deadlines are now near; stops once none waits. */
  private sweep(): void {
    this.sweepTimer = undefined;
    if (this.farCount === 0) return;
    const now = this.options.clock.now();
    for (const queue of this.levels) {
      for (const request of queue) {
        if (!request.far) continue;
        const delayMs = request.job.deadline! - this.giveUpMs - now;
        if (delayMs > farDeadlineMs) continue;
        request.far = false;
        this.farCount--;
        this.arm(request, delayMs);
      }
    }
    if (this.farCount > 0) this.sweepTimer = this.options.clock.setTimeout(() => this.sweep(), farDeadlineMs / 2);
  }

  private unwatch(request: QueuedRequest): void {
    if (request.timer !== undefined) this.options.clock.clearTimeout(request.timer);
    if (request.far) {
      request.far = false;
      this.farCount--;
    }
    if (request.onAbort !== undefined) request.job.signal?.removeEventListener('abort', request.onAbort);
    request.timer = undefined;
    request.onAbort = undefined;
  }

  /** How long before its deadline a request can no longer finish: one run, when shedding. */
  get giveUpMs(): number {
    return this.options.shedByDeadline ? this.runMs : 0;
  }

  /** Updates the run time the deadline checks use (weight 0.2 on the newest run). */
  observeRun(ms: number): void {
    this.runMs = this.runMs === 0 ? ms : 0.8 * this.runMs + 0.2 * ms;
  }

  /** Why a request is answered DEADLINE_EXCEEDED: its deadline passed, or (`early`) it would pass before a run could finish. */
  expiredWhy(early: boolean): string {
    return early ? `deadline would pass before a run could finish (runs take about ${Math.ceil(this.runMs)} ms)` : 'deadline passed while queued';
  }

  /** A waiting request that cannot finish before its deadline: answered now, before the caller gives up on it. */
  private expire(request: QueuedRequest): void {
    // Real timers may fire a millisecond early: only a deliberate early answer says so.
    const early = this.giveUpMs > 0 && request.job.deadline! > this.options.clock.now() + 1;
    this.drop(request, 'DeadlineExceeded', this.expiredWhy(early));
  }

  /** Removes a waiting request and answers it with an error. */
  private drop(request: QueuedRequest, code: 'DeadlineExceeded' | 'Cancelled', why: string): void {
    const queue = this.levels[request.level - 1]!;
    const at = queue.indexOf(request);
    if (at < 0) return;
    queue.splice(at, 1);
    this.left(request);
    this.count--;
    this.options.stats?.request(false, (this.options.clock.monotonic() - request.enqueuedAt) * 1000);
    request.reject(new ModelServeError(code, `${this.options.label}: ${why}`));
    this.options.onDropped();
  }

  /** Answers every waiting request with `error` and empties the queue. */
  dropAll(error: ModelServeError): void {
    const all = this.levels.flat();
    this.levels = this.levels.map(() => []);
    for (const request of all) this.left(request);
    this.count = 0;
    for (const request of all) {
      this.options.stats?.request(false, (this.options.clock.monotonic() - request.enqueuedAt) * 1000);
      request.reject(error);
    }
    if (all.length > 0) this.options.onDropped();
  }

  /**
   * Removes `requests` (in queue order, highest level first) from the queue, to run. A batch is
   * most often the front of one level; otherwise each level is filtered once.
   */
  take(requests: QueuedRequest[]): QueuedRequest[] {
    const first = requests[0]!;
    const queue = this.levels[first.level - 1]!;
    let prefix = 0;
    while (prefix < requests.length && queue[prefix] === requests[prefix]) prefix++;
    if (prefix === requests.length) {
      queue.splice(0, prefix);
    } else {
      const taken = new Set(requests);
      for (let i = 0; i < this.levels.length; i++) this.levels[i] = this.levels[i]!.filter((r) => !taken.has(r));
    }
    for (const request of requests) this.left(request);
    this.count -= requests.length;
    return requests;
  }

  private left(request: QueuedRequest): void {
    request.waiting = false;
    this.levelSamples[request.level - 1]! -= request.size;
    this.unwatch(request);
  }
}
