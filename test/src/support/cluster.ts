/**
 * `modelserve cluster` as a real process for the cluster tests: its JSON log lines, the address it
 * logs, the pids of every replica it started (so a test can kill them all, also when it fails), and
 * a watch of modelserve.v1.Cluster that records when each replica reached each state.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { credentials, loadPackageDefinition, type ClientReadableStream } from '@grpc/grpc-js';
import { loadGrpcObject, type ClusterClient, type ListReplicasResponse__Output } from '@modelserve/proto';
import { cliPath } from './cli.js';

/** A running `modelserve cluster`. */
export interface ClusterProcess {
  readonly process: ChildProcess;
  readonly logs: Array<Record<string, unknown>>;
  readonly stderr: string[];
  /** Every replica pid it logged starting. */
  readonly replicaPids: Set<number>;
  /** Resolves with the first log line `match` accepts; rejects if the process exits first. */
  log(match: (entry: Record<string, unknown>) => boolean): Promise<Record<string, unknown>>;
  /** The exit code, once exited. */
  readonly exited: Promise<number | null>;
  /** SIGKILL to the supervisor and to every replica it started that is still running. */
  killAll(): void;
}

/** Spawns `modelserve cluster ...args`. */
export function spawnCluster(args: string[]): ClusterProcess {
  const child = spawn(process.execPath, [cliPath, 'cluster', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: Array<Record<string, unknown>> = [];
  const stderr: string[] = [];
  const replicaPids = new Set<number>();
  const waiters = new Set<() => void>();
  let done = false;
  const notify = (): void => {
    for (const waiter of [...waiters]) waiter();
  };
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code))).then((code) => {
    done = true;
    notify();
    return code;
  });
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const entry = JSON.parse(line) as Record<string, unknown>;
    if (entry['msg'] === 'replica starting') replicaPids.add(Number(entry['pid']));
    logs.push(entry);
    notify();
  });
  createInterface({ input: child.stderr! }).on('line', (line) => stderr.push(line));
  return {
    process: child,
    logs,
    stderr,
    replicaPids,
    log: (match) =>
      new Promise((resolve, reject) => {
        const check = (): void => {
          const found = logs.find(match);
          if (found === undefined && !done) return;
          waiters.delete(check);
          if (found !== undefined) resolve(found);
          else reject(new Error(`modelserve cluster exited before the log line awaited; stderr: ${stderr.join('\n')}`));
        };
        waiters.add(check);
        check();
      }),
    exited,
    killAll() {
      for (const pid of [child.pid!, ...replicaPids]) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // Exited already.
        }
      }
    },
  };
}

/** Whether a process is running (signal 0). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export type ReplicaStateName = 'STARTING' | 'READY' | 'DRAINING' | 'GONE';

/** A replica reaching a state, `atMs` on performance.now()'s clock. */
export interface TimelineEvent {
  atMs: number;
  pid: number;
  state: ReplicaStateName;
}

/**
 * A WatchReplicas stream: the last response, and every state change of every replica (GONE when
 * it leaves the list), in the order the supervisor published them.
 */
export class ClusterWatch {
  readonly client: ClusterClient;
  readonly events: TimelineEvent[] = [];
  last: ListReplicasResponse__Output | undefined;
  readonly #call: ClientReadableStream<ListReplicasResponse__Output>;
  readonly #states = new Map<number, ReplicaStateName>();
  readonly #waiters = new Set<() => void>();
  #error: Error | undefined;

  constructor(address: string) {
    this.client = new (loadGrpcObject(loadPackageDefinition).modelserve.v1.Cluster)(address, credentials.createInsecure());
    this.#call = this.client.WatchReplicas({});
    this.#call.on('data', (response: ListReplicasResponse__Output) => {
      const atMs = performance.now();
      this.last = response;
      const seen = new Set<number>();
      for (const r of response.replicas) {
        const state = r.state.replace('REPLICA_STATE_', '') as ReplicaStateName;
        seen.add(r.pid);
        if (this.#states.get(r.pid) !== state) {
          this.#states.set(r.pid, state);
          this.events.push({ atMs, pid: r.pid, state });
        }
      }
      for (const [pid, state] of this.#states) {
        if (seen.has(pid) || state === 'GONE') continue;
        this.#states.set(pid, 'GONE');
        this.events.push({ atMs, pid, state: 'GONE' });
      }
      this.#wake();
    });
    this.#call.on('error', (error: Error) => {
      this.#error = error;
      this.#wake();
    });
  }

  /** The replicas in `state` in the last response. */
  inState(state: Exclude<ReplicaStateName, 'GONE'>): ListReplicasResponse__Output['replicas'] {
    return (this.last?.replicas ?? []).filter((r) => r.state === `REPLICA_STATE_${state}`);
  }

  /** Resolves once `check` holds on a response (checked at each one); rejects after `timeoutMs` or if the watch fails. */
  until(check: (watch: this) => boolean, timeoutMs: number, what: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => finish(new Error(`${what}: not seen within ${timeoutMs} ms; last: ${JSON.stringify(this.last)}`)), timeoutMs);
      const finish = (error?: Error): void => {
        clearTimeout(timer);
        this.#waiters.delete(look);
        if (error) reject(error);
        else resolve();
      };
      const look = (): void => {
        if (this.#error !== undefined) finish(new Error(`${what}: the watch failed: ${this.#error.message}`));
        else if (this.last !== undefined && check(this)) finish();
      };
      this.#waiters.add(look);
      look();
    });
  }

  close(): void {
    this.#call.cancel();
    this.client.close();
  }

  #wake(): void {
    for (const waiter of [...this.#waiters]) waiter();
  }
}
