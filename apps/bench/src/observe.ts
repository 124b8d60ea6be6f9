/**
 * modelserve's own view of a measurement window, read over a connection of its own while the load
 * runs: the event-loop delay and RSS (`GetServerStats`, reset when the window starts), the time a
 * health check takes mid-window, and the mean batch size from `GetModelStatistics` before and after.
 */
import type { VersionStatistics__Output } from '@modelserve/proto';
import type { AdminClient } from './admin.js';
import type { ServerHealth } from './types.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Counts summed over a model's versions. */
export interface BatchCounts {
  batches: number;
  inferences: number;
}

/** Sums batch and inference counts over versions (uint64 arrive as strings). */
export function batchCounts(versions: readonly VersionStatistics__Output[]): BatchCounts {
  return versions.reduce(
    (sum, v) => ({ batches: sum.batches + Number(v.batch_count), inferences: sum.inferences + Number(v.inference_count) }),
    { batches: 0, inferences: 0 },
  );
}

/** Samples per run between two readings; undefined when nothing ran or statistics are not served. */
export function meanBatchSize(before: BatchCounts | undefined, after: BatchCounts | undefined): number | undefined {
  if (before === undefined || after === undefined) return undefined;
  const batches = after.batches - before.batches;
  return batches > 0 ? (after.inferences - before.inferences) / batches : undefined;
}

/** Requests and failures counted by the server, summed over versions. */
export interface RequestCounts {
  requests: number;
  failures: number;
}

/** The model's request and failure counts now, or undefined when GetModelStatistics is not served. */
export async function readRequestCounts(admin: AdminClient, model: string): Promise<RequestCounts | undefined> {
  try {
    const versions = await admin.modelStatistics(model);
    return versions?.reduce((sum, v) => ({ requests: sum.requests + Number(v.request_count), failures: sum.failures + Number(v.failure_count) }), { requests: 0, failures: 0 });
  } catch {
    return undefined;
  }
}

/** The model's batch counts now, or undefined when the server has no GetModelStatistics yet. */
export async function readBatchCounts(admin: AdminClient, model: string): Promise<BatchCounts | undefined> {
  try {
    const versions = await admin.modelStatistics(model);
    return versions === undefined ? undefined : batchCounts(versions);
  } catch {
    return undefined;
  }
}

async function quietly<T>(read: () => Promise<T>): Promise<T | undefined> {
  try {
    return await read();
  } catch {
    return undefined;
  }
}

/**
 * Watches the server through one window that starts `warmupMs` from now and lasts `durationMs`:
 * its event-loop delay and RSS, and (`checkHealth`, modelserve) a health check mid-window.
 */
export async function observeWindow(admin: AdminClient, warmupMs: number, durationMs: number, checkHealth = true): Promise<ServerHealth> {
  await sleep(warmupMs);
  const reset = await quietly(() => admin.serverStats(true));
  await sleep(durationMs / 2);
  const health = !checkHealth
    ? undefined
    : await admin.healthCheck().catch((error: unknown) => {
        const e = error as { details?: string; message?: string };
        return { status: `error: ${e.details ?? e.message ?? String(error)}`, ms: NaN };
      });
  await sleep(Math.max(0, durationMs * 0.45 - (Number.isFinite(health?.ms) ? health!.ms : 0)));
  const stats = reset === undefined ? undefined : await quietly(() => admin.serverStats(false));
  const observed: ServerHealth = {};
  if (stats !== undefined) {
    observed.eventLoopDelayP50Ms = stats.event_loop_delay_p50_ms;
    observed.eventLoopDelayP99Ms = stats.event_loop_delay_p99_ms;
    observed.eventLoopDelayMaxMs = stats.event_loop_delay_max_ms;
    observed.rssBytes = Number(stats.rss_bytes);
  }
  if (health !== undefined) {
    observed.healthCheckMs = health.ms;
    observed.healthStatus = health.status;
  }
  return observed;
}
