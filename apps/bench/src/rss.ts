/**
 * `--rss`: does modelserve's memory stay flat? Drives the MLP (unary, closed loop) through
 * `rssRequests` requests and reads the server's RSS (`GetServerStats`) every `rssCheckpoint`.
 */
import { join } from 'node:path';
import { AdminClient } from './admin.js';
import { formatBytes, formatRate } from './format.js';
import { LoadGenerator } from './load-generator.js';
import type { BenchOptions } from './options.js';
import { benchModels, encodedPayloads, type BenchModel } from './payloads.js';
import type { Progress } from './progress.js';
import { generateModels, temporaryDirectory, writeRepository } from './repository.js';
import type { RunningServer } from './servers-baseline.js';
import { startModelserve, unreadyModels } from './servers-modelserve.js';
import type { RssResult } from './types-stress.js';

/** Checkpoints of the RSS run: every `checkpoint` requests up to `total`. */
export function rssCheckpoints(total: number, checkpoint: number): number[] {
  const list: number[] = [];
  for (let n = checkpoint; n < total; n += checkpoint) list.push(n);
  list.push(total);
  return list;
}

/** modelserve serving `model` with the first of `batchings` it loads with (batching on, else off), with an admin connection. */
export async function startServing(
  options: BenchOptions,
  dir: string,
  progress: Progress,
  model: BenchModel = benchModels.mlp,
  batchings: readonly boolean[] = [true, false],
): Promise<{ server: RunningServer; admin: AdminClient; batching: boolean }> {
  const bytes = generateModels([model]);
  for (const batching of batchings) {
    const repository = join(dir, batching ? 'on' : 'off');
    const config = { batching, maxBatchSize: options.maxBatchSize, instances: options.instances, maxQueueDelayUs: options.maxQueueDelayUs, preferredBatchSizes: options.preferredBatchSizes };
    await writeRepository(repository, [model], bytes, config);
    const server = await startModelserve(repository, (line) => progress.line(`modelserve: ${line}`));
    const admin = new AdminClient(server.address);
    const reason = (await unreadyModels(admin, [model.name])).get(model.name);
    if (reason === undefined) return { server, admin, batching };
    admin.close();
    await server.stop();
    const next = batchings[batchings.indexOf(batching) + 1];
    progress.line(`rss: ${model.name} with batching ${batching ? 'on' : 'off'} did not load (${reason})${next === undefined ? '' : `; trying batching ${next ? 'on' : 'off'}`}`);
  }
  throw new Error(`${model.name} did not load with batching ${batchings.map((b) => (b ? 'on' : 'off')).join(' or ')}`);
}

/** Runs the RSS measurement; RSS values are undefined when GetServerStats is not served. */
export async function runRss(options: BenchOptions, progress: Progress): Promise<RssResult> {
  const temporary = await temporaryDirectory('modelserve-bench-rss-');
  const dir = temporary.path;
  let generator: LoadGenerator | undefined;
  let serving: Awaited<ReturnType<typeof startServing>> | undefined;
  try {
    serving = await startServing(options, dir, progress);
    generator = await LoadGenerator.start(options.workers);
    const payloads = encodedPayloads(benchModels.mlp);
    const result: RssResult = { checkpoints: [], ratio: undefined };
    let done = 0;
    for (const checkpoint of rssCheckpoints(options.rssRequests, options.rssCheckpoint)) {
      const requests = checkpoint - done;
      progress.step(`rss: MLP requests ${done.toLocaleString('en-US')} → ${checkpoint.toLocaleString('en-US')} (batching ${serving.batching ? 'on' : 'off'})`, requests / 4);
      const outcome = await generator.run(
        { address: serving.server.address, method: 'unary', payloads, concurrency: options.rssConcurrency, streams: 0, rate: 0, warmupMs: 0, durationMs: 0, requests, deadlineMs: options.deadlineMs, channels: options.channels },
        (completed) => progress.note(`${completed.toLocaleString('en-US')} answered`),
      );
      const gone = serving.server.exitReason();
      if (gone !== undefined) throw new Error(`${gone} (after about ${done.toLocaleString('en-US')} requests)`);
      done += outcome.completed + Object.values(outcome.errors).reduce((a, b) => a + b, 0);
      const stats = await serving.admin.serverStats(false).catch(() => undefined);
      const rssBytes = stats === undefined ? undefined : Number(stats.rss_bytes);
      result.checkpoints.push({ requests: checkpoint, rssBytes });
      progress.finish(`RSS ${formatBytes(rssBytes)}, ${formatRate(outcome.requestsPerSecond)} req/s`);
    }
    const first = result.checkpoints[0]?.rssBytes;
    const last = result.checkpoints.at(-1)?.rssBytes;
    result.ratio = first !== undefined && last !== undefined && first > 0 ? last / first : undefined;
    return result;
  } finally {
    await generator?.close();
    serving?.admin.close();
    await serving?.server.stop();
    temporary.remove();
  }
}
