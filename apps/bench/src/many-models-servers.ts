/**
 * `--many-models`, the servers: starts modelserve on a repository, times it from spawn until every
 * version settled (READY or FAILED), reads its memory then, and stops every server of the run once
 * their memory together passes the limit (a thousand models on a server that keeps a worker thread
 * per version can take tens of GB, more than a shared machine has).
 */
import { performance } from 'node:perf_hooks';
import { AdminClient } from './admin.js';
import { formatBytes } from './format.js';
import { procStatus, procStatusBytes, procStatusThreads } from './proc-status.js';
import type { Progress } from './progress.js';
import type { RunningServer } from './servers-baseline.js';
import { startModelserve } from './servers-modelserve.js';
import type { ManyModelsServer } from './types-many.js';

const RSS_INTERVAL_MS = 250;
/** ListModels of a thousand models is a few hundred KB: polling faster would load the server it times. */
const POLL_INTERVAL_MS = 200;
/** Versions still loading after this long are reported as such. */
const SETTLE_TIMEOUT_MS = 30 * 60_000;
/** RSS is read this long after the versions settled: buffers of the last loads are freed by then. */
const RSS_SETTLE_MS = 1000;

/** Thrown when the run cannot go on: the RSS limit was passed or a server exited. */
export class ManyModelsStop extends Error {}

/** Stops the run's servers once their VmRSS together passes `limitBytes`, sampling every 250 ms. */
export class RssGuard {
  private readonly servers: RunningServer[] = [];
  private readonly timer: NodeJS.Timeout;
  /** Highest sum sampled. */
  peakBytes: number | undefined;
  /** Why the guard stopped the servers, once it did. */
  tripped: string | undefined;

  constructor(private readonly limitBytes: number) {
    this.timer = setInterval(() => this.sample(), RSS_INTERVAL_MS);
  }

  watch(server: RunningServer): void {
    this.servers.push(server);
  }

  /** Throws `ManyModelsStop` when the guard tripped or a watched server exited on its own. */
  check(): void {
    const gone = this.servers.map((s) => s.exitReason()).find((reason) => reason !== undefined);
    const why = this.tripped ?? gone;
    if (why !== undefined) throw new ManyModelsStop(why);
  }

  close(): void {
    clearInterval(this.timer);
  }

  private sample(): void {
    const readings = this.servers.map((s) => procStatusBytes(procStatus(s.pid), 'VmRSS') ?? 0);
    if (readings.length === 0 || this.tripped !== undefined) return;
    const total = readings.reduce((a, b) => a + b, 0);
    this.peakBytes = Math.max(this.peakBytes ?? 0, total);
    if (total <= this.limitBytes) return;
    this.tripped = `server RSS ${formatBytes(total)} passed the limit of ${formatBytes(this.limitBytes)} (--many-rss-limit-mb): servers stopped`;
    for (const server of this.servers) void server.stop();
  }
}

/** A server of the run, with its admin connection and what was measured of it so far. */
export interface ManyModelsServing {
  server: RunningServer;
  admin: AdminClient;
  report: ManyModelsServer;
}

/** Counts READY and FAILED versions of `names` in ListModels; `settled` when no version of them is in another state. */
async function countVersions(admin: AdminClient, names: ReadonlySet<string>): Promise<{ ready: number; failed: number; settled: boolean }> {
  const statuses = await admin.listModels().catch(() => []);
  const listed = statuses.filter((s) => names.has(s.name));
  const states = listed.flatMap((s) => s.versions.map((v) => v.state));
  const ready = states.filter((state) => state === 'VERSION_STATE_READY').length;
  const failed = states.filter((state) => state === 'VERSION_STATE_FAILED').length;
  return { ready, failed, settled: listed.length === names.size && ready + failed === states.length };
}

/** Polls until every version of `names` is READY or FAILED, updating `report` at each poll; returns when it settled. */
async function waitUntilSettled(serving: ManyModelsServing, names: readonly string[], guard: RssGuard, progress: Progress): Promise<number> {
  const wanted = new Set(names);
  const until = performance.now() + SETTLE_TIMEOUT_MS;
  for (;;) {
    guard.check();
    const counts = await countVersions(serving.admin, wanted);
    serving.report.ready = counts.ready;
    serving.report.failed = counts.failed;
    progress.note(`${counts.ready} READY, ${counts.failed} FAILED of ${names.length}`);
    if (counts.settled) return performance.now();
    if (performance.now() > until) throw new ManyModelsStop(`versions still not READY or FAILED after ${SETTLE_TIMEOUT_MS / 60_000} minutes`);
    await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
  }
}

/**
 * Serves `repository` (holding `names`, one version each) with `serverArgs`, waits until every
 * version settled and reads the server's memory. `onStarted` gets the server as soon as it listens,
 * so the caller can stop it whatever happens next.
 */
export async function serveAndSettle(
  repository: string,
  names: readonly string[],
  serverArgs: readonly string[],
  guard: RssGuard,
  progress: Progress,
  onStarted: (serving: ManyModelsServing) => void,
): Promise<ManyModelsServing> {
  const spawned = performance.now();
  const server = await startModelserve(repository, (line) => progress.line(`modelserve: ${line}`), { extraArgs: serverArgs, until: 'bound' });
  guard.watch(server);
  const report: ManyModelsServer = { models: names.length, readySeconds: undefined, ready: 0, failed: 0, allReady: false, rssBytes: undefined, threads: undefined };
  const serving = { server, admin: new AdminClient(server.address), report };
  onStarted(serving);
  const settled = await waitUntilSettled(serving, names, guard, progress);
  report.readySeconds = (settled - spawned) / 1000;
  report.allReady = report.ready === names.length;
  await new Promise((resolve) => setTimeout(resolve, RSS_SETTLE_MS));
  guard.check();
  const status = procStatus(server.pid);
  report.rssBytes = procStatusBytes(status, 'VmRSS');
  report.threads = procStatusThreads(status);
  return serving;
}
