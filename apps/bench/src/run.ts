/**
 * One benchmark run: writes the model repositories, measures the compute limit, then starts each
 * server configuration in turn and measures its points with the same load workers and payloads.
 * A configuration that cannot run (a server that fails, a model that does not load) is recorded as
 * a problem and the run goes on.
 */
import { join } from 'node:path';
import { measureComputeLimit } from './compute-limit.js';
import { formatLatency, formatRate } from './format.js';
import { chooseDriver } from './driver.js';
import { LoadGenerator, type LoadDriver } from './load-generator.js';
import { H2loadDriver } from './load-h2load.js';
import type { BenchOptions } from './options.js';
import { benchModels, encodedPayloads } from './payloads.js';
import { pointsFor, serverConfigs } from './plan.js';
import type { Progress } from './progress.js';
import { generateModels, temporaryDirectory, writeRepository, type RepositoryConfig } from './repository.js';
import { runServerConfig, type Run } from './run-servers.js';
import type { BenchResults } from './types.js';

/** Steps the progress bar counts for these options. */
export function countSteps(options: BenchOptions): number {
  const compute = options.configs.includes('compute') ? options.models.length * options.batchSizes.length : 0;
  return compute + serverConfigs.reduce((n, config) => n + pointsFor(config, options).length, 0);
}

function repositoryConfig(options: BenchOptions, batching: boolean): RepositoryConfig {
  return {
    batching,
    maxBatchSize: options.maxBatchSize,
    instances: options.instances,
    maxQueueDelayUs: options.maxQueueDelayUs,
    preferredBatchSizes: options.preferredBatchSizes,
  };
}

async function runCompute(run: Run): Promise<void> {
  const { options, progress } = run;
  for (const key of options.models) {
    const model = benchModels[key];
    let index = 0;
    const stepMs = options.computeDurationMs + options.warmupMs / 2;
    progress.step(`compute ${key} batch ${options.batchSizes[0]}`, stepMs);
    try {
      await measureComputeLimit(model, {
        repository: run.repositories.off,
        batchSizes: options.batchSizes,
        threads: options.computeThreads,
        warmupMs: options.warmupMs / 2,
        durationMs: options.computeDurationMs,
        onMeasured: (result) => {
          run.results.compute.push(result);
          progress.finish(`${formatRate(result.samplesPerSecond)} samples/s, run p50 ${formatLatency(result.latency.p50)}`);
          const next = options.batchSizes[++index];
          if (next !== undefined) progress.step(`compute ${key} batch ${next}`, stepMs);
        },
      });
    } catch (error) {
      run.results.problems.push({ config: 'compute', model: key, message: (error as Error).message });
      progress.line(`compute ${key}: ${(error as Error).message}`);
    }
  }
}

/** Measures everything `options` asks for. */
export async function runBench(options: BenchOptions, progress: Progress, machine: BenchResults['machine']): Promise<BenchResults> {
  const startedAt = new Date();
  const results: BenchResults = {
    startedAt: startedAt.toISOString(),
    durationSeconds: 0,
    machine,
    options: { ...options },
    compute: [],
    points: [],
    problems: [],
  };
  const temporary = await temporaryDirectory('modelserve-bench-');
  const dir = temporary.path;
  const driver = chooseDriver(options);
  results.driver = driver;
  progress.line(`load driver: ${driver.name}${driver.version === undefined ? '' : ` ${driver.version}`} (${driver.note})`);
  let generator: LoadDriver | undefined;
  try {
    const models = options.models.map((key) => benchModels[key]);
    const bytes = generateModels(models);
    const repositories = { off: join(dir, 'batching-off'), on: join(dir, 'batching-on') };
    await writeRepository(repositories.off, models, bytes, repositoryConfig(options, false));
    await writeRepository(repositories.on, models, bytes, repositoryConfig(options, true));
    const payloads = new Map(models.map((m) => [m.key, encodedPayloads(m)] as const));
    generator = driver.name === 'h2load' ? new H2loadDriver(driver.binary!) : await LoadGenerator.start(options.workers);
    const run: Run = { options, progress, generator, h2load: driver.name === 'h2load', repositories, payloads, results };
    if (options.configs.includes('compute')) await runCompute(run);
    for (const config of serverConfigs) await runServerConfig(run, config);
  } finally {
    await generator?.close();
    temporary.remove();
  }
  results.durationSeconds = (Date.now() - startedAt.getTime()) / 1000;
  return results;
}
