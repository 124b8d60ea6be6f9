/**
 * The local cluster's control loop. Each tick it reads the load of the READY replicas, appends a
 * sample, asks the autoscaling policy (@modelserve/autoscale) for a count, records the decision,
 * and starts or drains replicas to match. Choices:
 *
 * - STARTING replicas count toward the desired count (no over-starting while one warms up) but
 *   are published only once READY (listening with every model warmed, health SERVING).
 * - Scale-down drains a STARTING replica first (it serves nobody), else the READY one with the
 *   least load: it is marked DRAINING and unpublished at once, and gets SIGTERM only
 *   `deregisterDelayMs` later (as a Kubernetes preStop sleep), so clients drop it before it
 *   refuses calls. A drained replica that has not exited `drainGraceMs` + 10 s after SIGTERM is
 *   killed.
 * - A replica that exits on its own is removed at once and replaced at once, outside the tick. A
 *   replica that exits or times out before it is ready is a failed start: starts then wait 0.5 s,
 *   doubling per failure in a row up to 30 s, until one becomes ready.
 * - Every change (set, state, and each tick's loads and count) goes to the listeners at once.
 */
import { checkPolicyConfig, desiredReplicas, trimHistory, type LoadSample, type PolicyConfig, type ScalingDecision } from '@modelserve/autoscale';
import type { Logger } from 'pino';
import { scrapeRequestSeconds } from './load.js';
import { describeExit, Replica, type ReplicaExit, type ReplicaOptions, type ReplicaState } from './replica.js';

export interface SupervisorOptions extends Omit<ReplicaOptions, 'logger'> {
  policy: PolicyConfig;
  tickMs: number;
  /** Time between unpublishing a replica and sending it SIGTERM. */
  deregisterDelayMs: number;
  logger: Logger;
}

/** One replica as published. */
export interface ReplicaView {
  id: number;
  pid: number;
  address: string;
  metricsAddress: string;
  state: ReplicaState;
  load: number;
  startedUnixMs: number;
  readyUnixMs: number;
}

/** The cluster as published: every replica, oldest first, and the policy's count. */
export interface ClusterView {
  replicas: ReplicaView[];
  desired: number;
  panic: boolean;
}

const firstStartBackoffMs = 500;
const maxStartBackoffMs = 30_000;
/** Added to the drain grace before a replica that does not exit after SIGTERM is killed. */
const drainKillMarginMs = 10_000;

export class Supervisor {
  readonly #options: SupervisorOptions;
  readonly #log: Logger;
  readonly #replicas = new Map<number, Replica>();
  readonly #listeners = new Set<(view: ClusterView) => void>();
  #samples: LoadSample[] = [];
  #decisions: ScalingDecision[] = [];
  #desired: number;
  #panic = false;
  #nextId = 1;
  #startFailures = 0;
  #nextStartAt = 0;
  #retryTimer: NodeJS.Timeout | undefined;
  #tickTimer: NodeJS.Timeout | undefined;
  #stopping: Promise<void> | undefined;
  readonly #clockOrigin = performance.now();

  constructor(options: SupervisorOptions) {
    checkPolicyConfig(options.policy);
    this.#options = options;
    this.#log = options.logger;
    this.#desired = options.policy.minReplicas;
  }

  /** Starts the minimum count and the ticks. */
  start(): void {
    this.#decisions.push({ atMs: this.#now(), replicas: this.#desired });
    this.#reconcile();
    this.#scheduleTick();
  }

  /** Calls `listener` with the cluster now and on every change, until the returned function is called. */
  subscribe(listener: (view: ClusterView) => void): () => void {
    this.#listeners.add(listener);
    listener(this.view());
    return () => this.#listeners.delete(listener);
  }

  view(): ClusterView {
    const replicas = [...this.#replicas.values()]
      .sort((a, b) => a.id - b.id)
      .map((r) => ({ id: r.id, pid: r.pid, address: r.address, metricsAddress: r.metricsAddress, state: r.state, load: r.state === 'READY' ? r.load : 0, startedUnixMs: r.startedUnixMs, readyUnixMs: r.readyUnixMs }));
    return { replicas, desired: this.#desired, panic: this.#panic };
  }

  /** Drains every replica (unpublished, SIGTERM after the deregister delay) and resolves once all have exited. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      clearTimeout(this.#tickTimer);
      clearTimeout(this.#retryTimer);
      this.#log.info({ replicas: this.#replicas.size }, 'stopping: draining every replica');
      const all = [...this.#replicas.values()];
      for (const replica of all) if (replica.state !== 'DRAINING') this.#drain(replica, 'stopping');
      await Promise.all(all.map((r) => r.exited));
    })();
    return this.#stopping;
  }

  /** SIGKILL to every replica still running (a second Ctrl-C, or the supervisor exiting). */
  killAll(): void {
    for (const replica of this.#replicas.values()) replica.signal('SIGKILL');
  }

  /** Milliseconds on a monotonic clock, the policy's time. */
  #now(): number {
    return Math.round(performance.now() - this.#clockOrigin);
  }

  #publish(): void {
    const view = this.view();
    for (const listener of [...this.#listeners]) listener(view);
  }

  #scheduleTick(): void {
    this.#tickTimer = setTimeout(() => {
      this.#tick().then(
        () => this.#stopping === undefined && this.#scheduleTick(),
        (error: unknown) => {
          this.#log.error({ err: error }, 'tick failed');
          if (this.#stopping === undefined) this.#scheduleTick();
        },
      );
    }, this.#options.tickMs);
  }

  async #tick(): Promise<void> {
    const ready = [...this.#replicas.values()].filter((r) => r.state === 'READY');
    const timeoutMs = Math.max(500, Math.min(this.#options.tickMs, 5000));
    const readings = await Promise.all(ready.map((r) => (r.metricsAddress === '' ? Promise.resolve(undefined) : scrapeRequestSeconds(r.metricsAddress, timeoutMs).catch(() => undefined))));
    if (this.#stopping !== undefined) return;
    const now = this.#now();
    // A replica that stopped being READY while it was scraped (draining, gone) leaves the sample.
    const loads: number[] = [];
    ready.forEach((replica, i) => {
      const seconds = readings[i];
      if (replica.state !== 'READY') return;
      // An unreadable scrape keeps the last load; the first reading after READY has a baseline from then.
      const load = seconds === undefined ? undefined : replica.meter.read(seconds, now);
      if (load !== undefined) replica.load = load;
      loads.push(replica.load);
    });
    this.#samples.push({ atMs: now, loads });
    const policy = this.#options.policy;
    const recommendation = desiredReplicas({ samples: this.#samples, decisions: this.#decisions }, now, policy);
    this.#decisions.push({ atMs: now, replicas: recommendation.replicas });
    const trimmed = trimHistory({ samples: this.#samples, decisions: this.#decisions }, now, policy);
    this.#samples = [...trimmed.samples];
    this.#decisions = [...trimmed.decisions];
    const from = this.#desired;
    this.#desired = recommendation.replicas;
    this.#panic = recommendation.panic;
    if (recommendation.replicas !== from) {
      const round = (n: number): number => Math.round(n * 100) / 100;
      this.#log.info(
        {
          from,
          to: recommendation.replicas,
          ready: loads.length,
          loads: loads.map(round),
          stableLoad: round(recommendation.stableLoad),
          panicLoad: round(recommendation.panicLoad),
          panic: recommendation.panic,
          wanted: recommendation.wanted,
          ...(recommendation.limitedBy !== undefined ? { limitedBy: recommendation.limitedBy } : {}),
        },
        `scaling ${from} -> ${recommendation.replicas}`,
      );
    }
    this.#reconcile();
    this.#publish();
  }

  /** Starts or drains replicas until the STARTING and READY ones match the desired count. */
  #reconcile(): void {
    if (this.#stopping !== undefined) return;
    const live = [...this.#replicas.values()].filter((r) => r.state !== 'DRAINING');
    if (live.length < this.#desired) {
      const waitMs = this.#nextStartAt - performance.now();
      if (waitMs > 0) {
        clearTimeout(this.#retryTimer);
        this.#retryTimer = setTimeout(() => this.#reconcile(), waitMs);
        return;
      }
      for (let n = live.length; n < this.#desired; n++) this.#startReplica();
    } else if (live.length > this.#desired) {
      // STARTING ones first, newest first; then the least loaded READY one (the newest on a tie).
      const victims = live.sort((a, b) => (a.state === b.state ? 0 : a.state === 'STARTING' ? -1 : 1) || (a.state === 'READY' ? a.load - b.load : 0) || b.id - a.id);
      for (const replica of victims.slice(0, live.length - this.#desired)) this.#drain(replica, 'scale down');
    }
  }

  #startReplica(): void {
    const { repository, drainGraceMs, extraArgs, startTimeoutMs } = this.#options;
    const replica = new Replica(this.#nextId++, { repository, drainGraceMs, extraArgs, startTimeoutMs, logger: this.#log });
    this.#replicas.set(replica.id, replica);
    this.#log.info({ replica: replica.id, pid: replica.pid }, 'replica starting');
    void replica.exited.then((exit) => this.#exited(replica, exit));
    this.#publish();
    replica.whenReady().then(
      async () => {
        if (replica.state !== 'STARTING') return;
        // The load baseline: the first tick after this reads the load since now.
        if (replica.metricsAddress !== '') {
          const seconds = await scrapeRequestSeconds(replica.metricsAddress, 5000).catch(() => undefined);
          if (seconds !== undefined) replica.meter.read(seconds, this.#now());
        } else this.#log.warn({ replica: replica.id, pid: replica.pid }, 'the replica logged no metrics address: its load counts as 0');
        if (replica.state !== 'STARTING') return;
        replica.state = 'READY';
        replica.readyUnixMs = Date.now();
        this.#startFailures = 0;
        this.#nextStartAt = 0;
        this.#log.info({ replica: replica.id, pid: replica.pid, address: replica.address, metricsAddress: replica.metricsAddress, ms: replica.ageMs }, 'replica ready');
        this.#publish();
      },
      (error: Error) => {
        // One that exited is logged, counted and replaced by #exited; one that timed out is killed first.
        if (replica.state !== 'STARTING' || !replica.running) return;
        this.#log.error({ replica: replica.id, pid: replica.pid, reason: error.message }, 'replica failed to start: killing it');
        replica.signal('SIGKILL');
      },
    );
  }

  #drain(replica: Replica, why: string): void {
    const wasReady = replica.state === 'READY';
    replica.state = 'DRAINING';
    this.#log.info({ replica: replica.id, pid: replica.pid, address: replica.address, load: Math.round(replica.load * 100) / 100, why }, 'replica draining');
    this.#publish();
    const terminate = (): void => {
      replica.signal('SIGTERM');
      setTimeout(() => {
        if (!replica.running) return;
        this.#log.warn({ replica: replica.id, pid: replica.pid }, 'replica still running after its drain grace: killing it');
        replica.signal('SIGKILL');
      }, this.#options.drainGraceMs + drainKillMarginMs).unref();
    };
    // Never published, nobody to tell: a STARTING replica is stopped at once.
    if (wasReady && this.#options.deregisterDelayMs > 0) setTimeout(terminate, this.#options.deregisterDelayMs);
    else terminate();
  }

  #exited(replica: Replica, exit: ReplicaExit): void {
    this.#replicas.delete(replica.id);
    const fields = { replica: replica.id, pid: replica.pid, address: replica.address, exit: describeExit(exit), ms: replica.ageMs };
    if (replica.state === 'DRAINING') this.#log.info(fields, 'replica stopped');
    else if (replica.state === 'READY') this.#log.warn(fields, 'replica exited unexpectedly: replacing it');
    else {
      this.#startFailures++;
      const backoffMs = Math.min(maxStartBackoffMs, firstStartBackoffMs * 2 ** (this.#startFailures - 1));
      this.#nextStartAt = performance.now() + backoffMs;
      this.#log.error({ ...fields, stderr: replica.stderrTail, failuresInARow: this.#startFailures, nextStartInMs: backoffMs }, 'replica exited before it was ready');
    }
    this.#publish();
    this.#reconcile();
  }
}
