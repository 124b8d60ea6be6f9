import type { ModelInstance } from './backend.js';
import { ModelServeError } from './errors.js';
import type { InferenceJob, Scheduler } from './scheduler.js';
import type { NamedTensor } from './tensor.js';

/** Options of the first-in first-out scheduler. */
export interface FifoSchedulerOptions {
  /** `model/version`, for messages. */
  label: string;
  /** Jobs waiting for an instance beyond which new jobs get `ResourceExhausted`. Default 1024. */
  maxQueueSize?: number;
}

interface Queued {
  job: InferenceJob;
  resolve(outputs: NamedTensor[]): void;
  reject(error: Error): void;
  cleanup(): void;
}

/**
 * Runs each job alone on the first idle instance, in arrival order. A bounded queue holds jobs
 * while every instance is busy; expired and cancelled jobs leave the queue without running.
 */
export class FifoScheduler implements Scheduler {
  private readonly idle: ModelInstance[];
  private readonly queue: Queued[] = [];
  private running = 0;
  private draining = false;
  private drained: (() => void) | undefined;
  private readonly maxQueueSize: number;

  constructor(
    instances: readonly ModelInstance[],
    private readonly options: FifoSchedulerOptions,
  ) {
    this.idle = [...instances];
    this.maxQueueSize = options.maxQueueSize ?? 1024;
  }

  get inflight(): number {
    return this.running + this.queue.length;
  }

  enqueue(job: InferenceJob): Promise<NamedTensor[]> {
    const { label } = this.options;
    if (this.draining) return Promise.reject(new ModelServeError('Unavailable', `${label} is unloading`));
    if (job.signal?.aborted) return Promise.reject(new ModelServeError('Cancelled', `${label}: request cancelled`));
    if (this.queue.length >= this.maxQueueSize && this.idle.length === 0) {
      return Promise.reject(
        new ModelServeError('ResourceExhausted', `${label}: queue is full (${this.maxQueueSize} requests waiting)`),
      );
    }
    return new Promise<NamedTensor[]>((resolve, reject) => {
      const entry: Queued = { job, resolve, reject, cleanup: () => undefined };
      const timers: Array<() => void> = [];
      const drop = (error: ModelServeError): void => {
        const at = this.queue.indexOf(entry);
        if (at < 0) return;
        this.queue.splice(at, 1);
        entry.cleanup();
        reject(error);
        this.maybeDrained();
      };
      if (job.deadline !== undefined) {
        const timer = setTimeout(
          () => drop(new ModelServeError('DeadlineExceeded', `${label}: deadline passed while queued`)),
          Math.max(0, job.deadline - Date.now()),
        );
        timers.push(() => clearTimeout(timer));
      }
      if (job.signal !== undefined) {
        const onAbort = (): void => drop(new ModelServeError('Cancelled', `${label}: request cancelled`));
        job.signal.addEventListener('abort', onAbort, { once: true });
        timers.push(() => job.signal?.removeEventListener('abort', onAbort));
      }
      entry.cleanup = () => timers.forEach((clear) => clear());
      this.queue.push(entry);
      this.dispatch();
    });
  }

  drain(): Promise<void> {
    this.draining = true;
    if (this.inflight === 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.drained = resolve;
    });
  }

  private dispatch(): void {
    while (this.idle.length > 0 && this.queue.length > 0) {
      const entry = this.queue.shift()!;
      entry.cleanup();
      const { deadline, signal } = entry.job;
      if (deadline !== undefined && deadline <= Date.now()) {
        entry.reject(new ModelServeError('DeadlineExceeded', `${this.options.label}: deadline passed while queued`));
        continue;
      }
      if (signal?.aborted) {
        entry.reject(new ModelServeError('Cancelled', `${this.options.label}: request cancelled`));
        continue;
      }
      const instance = this.idle.pop()!;
      this.running++;
      instance.run(entry.job.inputs, entry.job.outputs).then(
        (outputs) => {
          this.release(instance);
          entry.resolve(outputs);
        },
        (error: unknown) => {
          this.release(instance);
          entry.reject(ModelServeError.from(error));
        },
      );
    }
  }

  /** Returns an instance to the idle set and hands it the next job. */
  private release(instance: ModelInstance): void {
    this.running--;
    this.idle.push(instance);
    this.dispatch();
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
