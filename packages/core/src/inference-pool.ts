/**
 * The inference pool: a fixed number of worker threads for the whole server, each hosting the
 * onnxruntime sessions of many model versions (pool-worker.js). A session is placed on one
 * thread when it loads and runs one request at a time; requests reach it through shared memory
 * (pool-wire.js), not `postMessage`.
 *
 * Fairness across models comes from how requests reach a thread: each model's scheduler hands a
 * session at most one run at a time and keeps the rest in its own queue, so a thread's queue
 * holds at most one run per session and serves them first come, first served. A flooded model
 * therefore waits behind a quiet one's single run, never the other way round: round-robin over
 * the models with ready work, with priorities applied inside each model's queue.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { ModelServeError } from './errors.js';
import type { PoolToThread, ThreadSpec, ThreadToPool } from './inference-pool-types.js';
import { silentLogger, type Logger } from './logger.js';
import {
  controlBlock,
  controlViews,
  decode,
  encode,
  encodedSize,
  FIRST_AREA_BYTES,
  POSTED,
  readError,
  REQ_HEAD,
  runNanosOf,
  RESP_HEAD,
  RING,
  RUNNING,
  SIGNAL,
  STATUS_ERROR,
  STATUS_OK,
  statusOf,
  type WireTensor,
} from './pool-wire.js';

// A plain JavaScript file next to this one, in src/ (tests) as in dist/ (builds): no build needed to test.
const workerUrl = new URL('./pool-worker.js', import.meta.url);

/** `Atomics.waitAsync` (Node ≥ 16) is not in TypeScript's ES2023 library. */
const waitAsync = (Atomics as unknown as {
  waitAsync(array: Int32Array, index: number, value: number): { async: false; value: string } | { async: true; value: Promise<string> };
}).waitAsync;

/** A run that onnxruntime refused or failed: its message, for the backend to classify. */
export class RunFailed extends Error {}

/** Options of an inference pool. */
export interface PoolOptions {
  /** Threads for the whole pool. Default: the number of cores. */
  threads?: number;
  /** Where thread deaths are told. Default: silent. */
  logger?: Logger;
}

/** What a session is opened from. */
export interface SessionSpec {
  /** `model 'x' version N`, for messages; sessions of one label spread over threads. */
  label: string;
  modelFile: string;
  intraOpThreads: number;
  /** Called once if the session stops for good while open (its thread died and it could not load again). */
  onFailed?: ((reason: string) => void) | undefined;
}

/** Counts a pool reports, for operators and benchmarks. */
export interface PoolStats {
  threads: number;
  threadsStarted: number;
  sessions: number;
  /** Threads replaced after one died. */
  restarts: number;
  /** Time the threads spent running models, in all (the worker's own measure of each run). */
  busySeconds: number;
}

/** The inference pool (see the file comment). */
export class InferencePool {
  readonly size: number;
  private readonly threads: Array<PoolThread | undefined>;
  private readonly logger: Logger;
  private closed = false;

  constructor(options: PoolOptions = {}) {
    this.size = Math.max(1, options.threads ?? availableParallelism());
    this.threads = Array.from({ length: this.size }, () => undefined);
    this.logger = options.logger ?? silentLogger;
  }

  /** Loads a session on the thread holding the fewest of its label's sessions, then the fewest overall. */
  async open(spec: SessionSpec): Promise<PoolSession> {
    if (this.closed) throw new ModelServeError('Unavailable', `${spec.label}: the inference pool is closed`);
    let best = 0;
    let bestKey = [Infinity, Infinity];
    for (let i = 0; i < this.size; i++) {
      const thread = this.threads[i];
      const key = thread === undefined ? [0, 0] : [thread.sessionsOf(spec.label), thread.sessionCount];
      if (key[0]! < bestKey[0]! || (key[0] === bestKey[0] && key[1]! < bestKey[1]!)) {
        best = i;
        bestKey = key;
      }
    }
    const thread = (this.threads[best] ??= new PoolThread(best, this.logger));
    return thread.open(spec);
  }

  /** Runs out on the pool's threads (queued or running). */
  get inflight(): number {
    let n = 0;
    for (const t of this.threads) n += t?.runsOut ?? 0;
    return n;
  }

  stats(): PoolStats {
    const started = this.threads.filter((t): t is PoolThread => t !== undefined);
    return {
      threads: this.size,
      threadsStarted: started.length,
      sessions: started.reduce((n, t) => n + t.sessionCount, 0),
      restarts: started.reduce((n, t) => n + t.restarts, 0),
      busySeconds: started.reduce((n, t) => n + t.busyMicros, 0) / 1e6,
    };
  }

  /** Ends every thread; open sessions fail their runs with `Unavailable`. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.threads.map((t) => t?.close()));
  }

  /** Ends a thread as a crash would; it is replaced and its sessions load again. For tests. */
  killThreadForTesting(index: number): Promise<number> {
    const thread = this.threads[index];
    if (thread === undefined) throw new Error(`pool thread ${index} has not started`);
    return thread.kill();
  }
}

interface Settle<T> {
  resolve(value: T): void;
  reject(error: Error): void;
}

/** One pool thread: its worker, control block, and the sessions placed on it. */
export class PoolThread {
  /** Time spent running models on this thread (across restarts), µs. */
  busyMicros = 0;
  private worker!: Worker;
  private ctl!: Int32Array;
  private requests!: Int32Array;
  private results!: Int32Array;
  private reqHead = 0;
  private respTail = 0;
  private inflight = 0;
  private waiting = false;
  private closed = false;
  private nextSlot = 0;
  private readonly sessions = new Map<number, PoolSession>();
  private readonly loads = new Map<number, Settle<{ inputs: ThreadSpec[]; outputs: ThreadSpec[] }>>();
  private readonly unloads = new Map<number, () => void>();
  restarts = 0;

  constructor(
    readonly index: number,
    private readonly logger: Logger,
  ) {
    this.spawn();
  }

  /** Runs pushed and not answered yet. */
  get runsOut(): number {
    return this.inflight;
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  sessionsOf(label: string): number {
    let n = 0;
    for (const s of this.sessions.values()) if (s.label === label) n++;
    return n;
  }

  private spawn(): void {
    const block = controlBlock();
    ({ ctl: this.ctl, requests: this.requests, results: this.results } = controlViews(block));
    this.reqHead = 0;
    this.respTail = 0;
    this.inflight = 0;
    this.waiting = false;
    const worker = new Worker(workerUrl, { workerData: { control: block } });
    this.worker = worker;
    worker.on('message', (message: ThreadToPool) => this.onMessage(message));
    worker.on('error', (error) => this.died(worker, `failed: ${error.message}`));
    worker.on('exit', (code) => this.died(worker, `exited with code ${code}`));
    this.reference();
  }

  /** Loads `spec` on this thread; `FailedPrecondition` with onnxruntime's reason when it cannot. */
  async open(spec: SessionSpec): Promise<PoolSession> {
    const slot = this.nextSlot++;
    if (slot >= RING) throw new ModelServeError('ResourceExhausted', `${spec.label}: pool thread ${this.index} holds ${RING} sessions already`);
    const session = new PoolSession(this, slot, spec);
    this.sessions.set(slot, session);
    this.reference();
    try {
      session.signatureSpecs = await this.load(slot, spec, session.area);
      return session;
    } catch (error) {
      this.sessions.delete(slot);
      this.reference();
      throw error;
    }
  }

  private load(slot: number, spec: SessionSpec, area: SharedArrayBuffer): Promise<{ inputs: ThreadSpec[]; outputs: ThreadSpec[] }> {
    return new Promise((resolve, reject) => {
      this.loads.set(slot, { resolve, reject });
      this.post({ kind: 'load', slot, modelFile: spec.modelFile, intraOpThreads: spec.intraOpThreads, area });
    });
  }

  /** Frees a session's memory on the thread. */
  async release(session: PoolSession): Promise<void> {
    if (this.sessions.get(session.slot) !== session) return;
    this.sessions.delete(session.slot);
    if (!this.closed) {
      const unloaded = new Promise<void>((resolve) => {
        this.unloads.set(session.slot, resolve);
        this.post({ kind: 'unload', slot: session.slot });
      });
      this.reference();
      await unloaded;
    }
    this.reference();
  }

  /** A control message: posted, then counted and signalled so a sleeping thread wakes to read it. */
  post(message: PoolToThread): void {
    this.worker.postMessage(message);
    Atomics.add(this.ctl, POSTED, 1);
    Atomics.add(this.ctl, SIGNAL, 1);
    Atomics.notify(this.ctl, SIGNAL);
  }

  /** Queues a run of `slot` (its area written); the thread wakes only if it sleeps. */
  push(slot: number): void {
    this.requests[this.reqHead % RING] = slot;
    Atomics.store(this.ctl, REQ_HEAD, ++this.reqHead);
    Atomics.add(this.ctl, SIGNAL, 1);
    Atomics.notify(this.ctl, SIGNAL);
    this.inflight++;
    this.arm();
  }

  /** Waits (without blocking) for the thread's next result while runs are out. */
  private arm(): void {
    if (this.waiting || this.inflight === 0) return;
    const ctl = this.ctl;
    const wait = waitAsync(ctl, RESP_HEAD, this.respTail);
    if (!wait.async) {
      queueMicrotask(() => this.drain());
      this.waiting = true;
      return;
    }
    this.waiting = true;
    void wait.value.then(() => {
      if (ctl === this.ctl) this.drain();
    });
  }

  private drain(): void {
    this.waiting = false;
    const head = Atomics.load(this.ctl, RESP_HEAD);
    while (this.respTail < head) {
      const slot = this.results[this.respTail % RING]!;
      this.respTail++;
      this.inflight--;
      if (slot < 0) this.sessions.get(~slot)?.notHosted(this.index);
      else this.sessions.get(slot)?.answered();
    }
    this.arm();
  }

  private onMessage(message: ThreadToPool): void {
    switch (message.kind) {
      case 'loaded':
      case 'load-failed': {
        const load = this.loads.get(message.slot);
        this.loads.delete(message.slot);
        if (message.kind === 'loaded') load?.resolve(message);
        else load?.reject(new ModelServeError('FailedPrecondition', `onnxruntime cannot load ${this.sessions.get(message.slot)?.label ?? 'the model'}: ${message.message}`));
        return;
      }
      case 'unloaded':
        this.unloads.get(message.slot)?.();
        this.unloads.delete(message.slot);
        this.reference();
        return;
      case 'outputs':
        this.inflight--;
        this.sessions.get(message.slot)?.answeredByMessage(message.tensors);
        return;
      case 'ready':
        return;
    }
  }

  /** Keeps the process alive while sessions live here or a load or unload awaits its answer; an idle pool lets it exit. */
  private reference(): void {
    if (this.sessions.size > 0 || this.loads.size > 0 || this.unloads.size > 0) this.worker.ref();
    else this.worker.unref();
  }

  /**
   * The thread died (a crash in onnxruntime, an out-of-memory kill of the thread): the run it
   * held and the runs queued on it fail with `Internal`, the log names the model that was
   * running, and a new thread loads every session again; runs meanwhile wait for their session.
   */
  private died(worker: Worker, reason: string): void {
    if (this.closed || worker !== this.worker) return;
    const running = Atomics.load(this.ctl, RUNNING) - 1;
    const runningLabel = this.sessions.get(running)?.label;
    Atomics.notify(this.ctl, RESP_HEAD); // releases the pending waitAsync of the old block
    const why = `pool thread ${this.index} ${reason}${runningLabel === undefined ? ' between runs' : ` while running ${runningLabel}`}`;
    this.logger.error({ thread: this.index, reason, running: runningLabel ?? null, sessions: this.sessions.size }, 'inference pool thread died; a new one loads its sessions');
    this.restarts++;
    for (const [slot, load] of this.loads) {
      load.reject(new ModelServeError('FailedPrecondition', `onnxruntime cannot load ${this.sessions.get(slot)?.label ?? 'the model'}: ${why}`));
    }
    this.loads.clear();
    for (const resolve of this.unloads.values()) resolve();
    this.unloads.clear();
    const sessions = [...this.sessions.values()];
    for (const session of sessions) session.lost(why);
    this.spawn();
    for (const session of sessions) session.restart(this.load(session.slot, session.spec, session.area), why);
  }

  kill(): Promise<number> {
    return this.worker.terminate();
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const session of this.sessions.values()) session.lost('the inference pool closed');
    await this.worker.terminate();
  }
}

/** One onnxruntime session on a pool thread. */
export class PoolSession {
  area: SharedArrayBuffer = new SharedArrayBuffer(FIRST_AREA_BYTES);
  /** The session's inputs and outputs as onnxruntime reports them. */
  signatureSpecs: { inputs: ThreadSpec[]; outputs: ThreadSpec[] } = { inputs: [], outputs: [] };
  /** Its fastest run on the thread so far, µs (a thread woken from sleep runs slower: the fastest is the model's own cost). */
  fastestMicros = Infinity;
  /** The encoded size of the request of that fastest run, bytes. */
  private fastestSize = 0;
  /** The encoded size of the request of the run out. */
  private runSize = 0;
  private current: Settle<WireTensor[]> | undefined;
  /** Runs asked for while one is out (a session runs one at a time). */
  private readonly waiting: Array<() => void> = [];
  private restarting: Promise<void> | undefined;
  private closedWhy: string | undefined;

  constructor(
    readonly thread: PoolThread,
    readonly slot: number,
    readonly spec: SessionSpec,
  ) {}

  get label(): string {
    return this.spec.label;
  }

  /** Runs the session on `tensors` (input indices) for the outputs at `outputs` (all when empty). */
  run(tensors: readonly WireTensor[], outputs: readonly number[]): Promise<WireTensor[]> {
    if (this.closedWhy !== undefined) return Promise.reject(new ModelServeError('Unavailable', this.closedWhy));
    if (this.restarting !== undefined) return this.restarting.then(() => this.run(tensors, outputs));
    if (this.current !== undefined) return new Promise<void>((resolve) => this.waiting.push(resolve)).then(() => this.run(tensors, outputs));
    const size = encodedSize(tensors, outputs.length);
    if (size > this.area.byteLength) {
      this.area = new SharedArrayBuffer(2 ** Math.ceil(Math.log2(size)));
      this.thread.post({ kind: 'area', slot: this.slot, area: this.area });
    }
    encode(this.area, tensors, outputs);
    this.runSize = size;
    return new Promise<WireTensor[]>((resolve, reject) => {
      this.current = { resolve, reject };
      this.thread.push(this.slot);
    });
  }

  /** The thread finished this session's run: its area holds the outputs or the error. */
  answered(): void {
    const current = this.take();
    if (current === undefined) return;
    const status = statusOf(this.area);
    const micros = runNanosOf(this.area) / 1000;
    this.thread.busyMicros += micros;
    if (micros < this.fastestMicros) {
      this.fastestMicros = micros;
      this.fastestSize = this.runSize;
    }
    if (status === STATUS_OK) current.resolve(decode(this.area, true).tensors);
    else current.reject(new RunFailed(status === STATUS_ERROR ? readError(this.area) : `unexpected run status ${status}`));
  }

  /**
   * What a run of a request of `size` encoded bytes is expected to take, µs: the fastest run so far
   * scaled up by the size against that run's (never down). Infinity before the first run.
   */
  expectedMicros(size: number): number {
    return this.fastestMicros * Math.max(1, size / Math.max(1, this.fastestSize));
  }

  /** The thread did not hold the session when it took the run (never expected: runs wait while a session reloads). */
  notHosted(thread: number): void {
    this.take()?.reject(new ModelServeError('Internal', `${this.label}: pool thread ${thread} does not hold the session; the run did not happen`));
  }

  answeredByMessage(tensors: WireTensor[]): void {
    this.take()?.resolve(tensors);
  }

  private take(): Settle<WireTensor[]> | undefined {
    const current = this.current;
    this.current = undefined;
    this.waiting.shift()?.();
    return current;
  }

  /** Its thread died: the run out fails with `Internal`. */
  lost(why: string): void {
    this.take()?.reject(new ModelServeError('Internal', `${this.label}: ${why}; the run was lost`));
  }

  /** Its thread was replaced: runs wait until the session has loaded on the new one, or fail with it. */
  restart(loading: Promise<unknown>, why: string): void {
    this.restarting = loading.then(
      () => {
        this.restarting = undefined;
      },
      (error: unknown) => {
        this.restarting = undefined;
        const reason = `${why} and the session could not load again: ${error instanceof ModelServeError ? error.details : String(error)}`;
        this.close(`${this.label}: ${reason}`);
        this.spec.onFailed?.(reason);
      },
    );
  }

  /** Frees the session; its run out and later ones fail with `Unavailable` and `why`. */
  async close(why = `${this.label} was unloaded`): Promise<void> {
    if (this.closedWhy !== undefined) return;
    this.closedWhy = why;
    this.take()?.reject(new ModelServeError('Unavailable', why));
    for (const wake of this.waiting.splice(0)) wake();
    await this.thread.release(this);
  }
}
