/**
 * The embedded chunk queue: chunks wait in this process, jobs by priority then age, each job's
 * chunks in order. It keeps nothing itself: after a restart the engine queues again every chunk
 * the store has not committed.
 */
import { detailsOf } from '@modelserve/core';
import { type ChunkQueue, type ChunkTask, type JobRecord, maxAttempts, RetryLater } from './types.js';

interface QueuedJob {
  jobId: string;
  priority: number;
  createdMs: number;
  chunks: readonly number[];
  /** Next index into `chunks`. */
  next: number;
  /** Chunks handed back to be tried again, first. */
  again: ChunkTask[];
}

type Handlers = Parameters<ChunkQueue['start']>[0];

/** How long a chunk that hit a full model queue waits before it is tried again. */
const retryLaterMs = 20;
/** How long a chunk that failed waits before its next attempt (doubling each attempt). */
const retryBackoffMs = 200;

export class LocalChunkQueue implements ChunkQueue {
  private readonly jobs: QueuedJob[] = [];
  private handlers: Handlers | undefined;
  private concurrency = 1;
  private running = 0;
  private closed = false;
  private pausedUntil = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly idle: (() => void)[] = [];
  private readonly retrying = new Set<NodeJS.Timeout>();

  enqueue(job: JobRecord, chunks: readonly number[]): Promise<void> {
    if (chunks.length > 0) {
      const queued: QueuedJob = { jobId: job.id, priority: job.priority, createdMs: job.createdMs, chunks, next: 0, again: [] };
      let at = this.jobs.findIndex((j) => j.priority > queued.priority || (j.priority === queued.priority && j.createdMs > queued.createdMs));
      if (at < 0) at = this.jobs.length;
      this.jobs.splice(at, 0, queued);
      this.pump();
    }
    return Promise.resolve();
  }

  start(handlers: Handlers, concurrency: number): void {
    this.handlers = handlers;
    this.concurrency = Math.max(1, concurrency);
    this.pump();
  }

  private take(): ChunkTask | undefined {
    while (this.jobs.length > 0) {
      const job = this.jobs[0]!;
      const again = job.again.shift();
      if (again !== undefined) return again;
      if (job.next < job.chunks.length) return { jobId: job.jobId, chunk: job.chunks[job.next++]!, attempt: 1 };
      this.jobs.shift();
    }
    return undefined;
  }

  private giveBack(task: ChunkTask): void {
    let job = this.jobs.find((j) => j.jobId === task.jobId);
    if (job === undefined) {
      job = { jobId: task.jobId, priority: 0, createdMs: 0, chunks: [], next: 0, again: [] };
      this.jobs.unshift(job);
    }
    job.again.push(task);
  }

  private pump(): void {
    const handlers = this.handlers;
    if (handlers === undefined || this.closed) return;
    const wait = this.pausedUntil - Date.now();
    if (wait > 0) {
      this.timer ??= setTimeout(() => {
        this.timer = undefined;
        this.pump();
      }, wait);
      return;
    }
    while (this.running < this.concurrency) {
      const task = this.take();
      if (task === undefined) break;
      this.running++;
      void this.runOne(handlers, task);
    }
  }

  private async runOne(handlers: Handlers, task: ChunkTask): Promise<void> {
    try {
      await handlers.run(task);
    } catch (error) {
      if (error instanceof RetryLater) {
        this.giveBack(task);
        this.pausedUntil = Date.now() + retryLaterMs;
      } else if (task.attempt < maxAttempts) {
        const timer = setTimeout(() => {
          this.retrying.delete(timer);
          this.giveBack({ ...task, attempt: task.attempt + 1 });
          this.pump();
        }, retryBackoffMs * 2 ** (task.attempt - 1));
        this.retrying.add(timer);
      } else {
        await handlers.deadLetter(task, detailsOf(error)).catch(() => undefined);
      }
    }
    this.running--;
    if (this.running === 0) for (const resolve of this.idle.splice(0)) resolve();
    this.pump();
  }

  close(): Promise<void> {
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    for (const timer of this.retrying) clearTimeout(timer);
    if (this.running === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }
}
