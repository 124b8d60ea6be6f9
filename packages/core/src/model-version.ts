import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Backend, ModelInstance } from './backend.js';
import type { ModelConfig } from './config.js';
import { detailsOf, ModelServeError } from './errors.js';
import { assertTransition } from './lifecycle.js';
import type { Logger } from './logger.js';
import type { ModelSignature, VersionState, VersionStatus } from './metadata.js';
import type { Scheduler } from './scheduler.js';
import type { InferenceObserver } from './observer.js';
import { ResponseCache } from './response-cache.js';
import type { SharedCacheTier } from './response-cache-types.js';
import { DynamicBatcher } from './scheduler-dynamic-batcher.js';
import { VersionStats } from './statistics.js';
import { warmUp } from './model-version-warmup.js';

/**
 * One version of a model and its lifecycle. Operations on a version run one after another, so a
 * load and an unload never interleave. An instance that fails for good leaves its scheduler; the
 * version serves on the others and, once none is left, is FAILED with the reason.
 */
export class ModelVersion {
  state: VersionState = 'UNAVAILABLE';
  reason = 'not loaded';
  signature: ModelSignature | undefined;
  scheduler: DynamicBatcher | undefined;
  /** Counts and durations since the version last loaded. */
  stats = new VersionStats();
  private instances: ModelInstance[] = [];
  /** The scheduler each instance serves in (a replaced generation's too, while it drains). */
  private readonly schedulerOf = new WeakMap<ModelInstance, DynamicBatcher>();
  /** Instances that failed for good before a scheduler took them (during warm-up). */
  private readonly failedEarly = new WeakMap<ModelInstance, string>();
  private pending: Promise<void> = Promise.resolve();
  /** sha256 of the model file that is loaded. */
  private hash: string | undefined;

  constructor(
    readonly model: string,
    readonly version: number,
    private readonly onChange: () => void,
    private readonly observer?: InferenceObserver,
    /** The shared cache tier of a `response_cache.shared` URL (one per URL, owned by the registry). */
    private readonly sharedCache?: (url: string) => SharedCacheTier,
  ) {}

  /** The response cache of the loaded file (config.yaml `response_cache`); undefined when off or not loaded. */
  cache: ResponseCache | undefined;

  /** sha256 of the loaded model file; undefined when not loaded. */
  get fileDigest(): string | undefined {
    return this.hash;
  }

  /** A new cache for a newly loaded file (the old one's entries go: their digest is no longer served). */
  private renewCache(config: ModelConfig | undefined): void {
    this.cache?.clear();
    const settings = config?.response_cache;
    this.cache = settings === undefined ? undefined : new ResponseCache(settings, settings.shared === undefined ? undefined : this.sharedCache?.(settings.shared));
  }

  get label(): string {
    return `model '${this.model}' version ${this.version}`;
  }

  status(): VersionStatus {
    return { version: this.version, state: this.state, reason: this.state === 'READY' ? '' : this.reason };
  }

  /**
   * Loads the version; resolves once it is READY or FAILED. A READY version whose file changed
   * (by content hash) is replaced in place: new instances load and warm up while the old ones
   * serve, then take over; the old ones finish what they hold and close.
   */
  load(backend: Backend, modelFile: string, config: ModelConfig, logger: Logger): Promise<void> {
    return this.serially(async () => {
      if (this.state === 'READY') {
        const hash = await fileHash(modelFile).catch(() => undefined);
        if (hash === undefined || hash === this.hash) return;
        await this.replace(backend, modelFile, hash, config, logger);
        return;
      }
      this.move('LOADING', 'loading');
      const started = performance.now();
      try {
        const hash = await fileHash(modelFile);
        const loaded = await this.start(backend, modelFile, config, logger);
        this.instances = loaded.instances;
        this.signature = loaded.signature;
        this.stats = new VersionStats(this.observer?.version(this.model, this.version));
        this.scheduler = this.schedulerFor(loaded.instances, config);
        this.hash = hash;
        this.renewCache(config);
        this.move('READY', '');
        const ms = Math.round(performance.now() - started);
        logger.info({ model: this.model, version: this.version, instances: loaded.instances.length, ms }, 'model version loaded');
      } catch (error) {
        const reason = detailsOf(error);
        this.move('FAILED', reason);
        logger.error({ model: this.model, version: this.version, reason }, 'model version failed to load');
      }
    });
  }

  /** Creates and warms up the instances; closes them and throws if any fails. */
  private async start(backend: Backend, modelFile: string, config: ModelConfig, logger: Logger): Promise<{ instances: ModelInstance[]; signature: ModelSignature }> {
    const created = await Promise.allSettled(Array.from({ length: config.instances.count }, () => this.createInstance(backend, modelFile, config, logger)));
    const instances = created.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    const failure = created.find((r) => r.status === 'rejected');
    try {
      if (failure !== undefined) throw failure.reason;
      const signature = instances[0]!.signature;
      checkBatchable(this.label, signature, config.max_batch_size);
      if (config.warmup) await warmUp(this.label, instances, signature, logger);
      const lost = instances.map((i) => this.failedEarly.get(i));
      if (lost.every((reason) => reason !== undefined)) throw new Error(`every instance failed while warming up: ${lost[0]}`);
      return { instances, signature };
    } catch (error) {
      await Promise.all(instances.map((i) => i.close()));
      throw error;
    }
  }

  /** One instance, which reports to `instanceFailed` if it stops serving for good (never before it is created). */
  private async createInstance(backend: Backend, modelFile: string, config: ModelConfig, logger: Logger): Promise<ModelInstance> {
    const onFailed = (reason: string): void => this.instanceFailed(instance, reason, logger);
    const instance = await backend.createInstance({ label: this.label, modelFile, intraOpThreads: config.instances.intra_op_threads, onFailed });
    return instance;
  }

  /**
   * Takes a failed instance out of its scheduler. The version keeps serving on the others (the
   * failure is logged); once none is left it moves to FAILED with the reason, which health sees.
   */
  private instanceFailed(instance: ModelInstance, reason: string, logger: Logger): void {
    const scheduler = this.schedulerOf.get(instance);
    if (scheduler === undefined) {
      this.failedEarly.set(instance, reason);
      return;
    }
    scheduler.remove(instance, reason);
    if (scheduler !== this.scheduler) return; // a replaced generation, draining
    const left = scheduler.instances;
    logger.error({ model: this.model, version: this.version, reason, instancesLeft: left }, left > 0 ? 'model instance failed; the others keep serving' : 'model version failed: no instance left');
    if (left === 0) void this.serially(() => this.failServing(scheduler, reason));
  }

  /** READY → FAILED once `scheduler`, still the one serving, has no instance left. */
  private async failServing(scheduler: DynamicBatcher, reason: string): Promise<void> {
    if (this.state !== 'READY' || this.scheduler !== scheduler) return;
    const instances = this.instances;
    this.instances = [];
    this.scheduler = undefined;
    this.hash = undefined;
    this.renewCache(undefined);
    this.move('FAILED', `its last instance failed: ${reason}`);
    await scheduler.drain();
    await Promise.all(instances.map((i) => i.close()));
  }

  private schedulerFor(instances: ModelInstance[], config: ModelConfig): DynamicBatcher {
    const batching = config.dynamic_batching;
    const scheduler = new DynamicBatcher(instances, {
      label: this.label,
      batching: batching !== undefined,
      maxBatchSize: config.max_batch_size,
      maxQueueDelayUs: batching?.max_queue_delay_us,
      preferredBatchSizes: batching?.preferred_batch_sizes,
      splitFrom: batching?.split_batches_from,
      maxQueueSize: batching?.max_queue_size,
      priorityLevels: batching?.priority_levels,
      defaultPriorityLevel: batching?.default_priority_level,
      shedByDeadline: config.shed_by_deadline,
      stats: this.stats,
    });
    for (const instance of instances) {
      this.schedulerOf.set(instance, scheduler);
      const failed = this.failedEarly.get(instance);
      if (failed !== undefined) scheduler.remove(instance, failed);
    }
    return scheduler;
  }

  /** Swaps in new instances for a changed file; on failure the old ones keep serving. */
  private async replace(backend: Backend, modelFile: string, hash: string, config: ModelConfig, logger: Logger): Promise<void> {
    const started = performance.now();
    let loaded: { instances: ModelInstance[]; signature: ModelSignature };
    try {
      loaded = await this.start(backend, modelFile, config, logger);
    } catch (error) {
      logger.error({ model: this.model, version: this.version, reason: detailsOf(error) }, 'changed model file failed to load; the previous one keeps serving');
      return;
    }
    const previous = { scheduler: this.scheduler, instances: this.instances };
    this.instances = loaded.instances;
    this.signature = loaded.signature;
    this.scheduler = this.schedulerFor(loaded.instances, config);
    this.hash = hash;
    this.renewCache(config);
    this.onChange();
    await previous.scheduler?.drain();
    await Promise.all(previous.instances.map((i) => i.close()));
    logger.info({ model: this.model, version: this.version, ms: Math.round(performance.now() - started) }, 'model version replaced in place');
  }

  /** Marks the version FAILED because its model's config.yaml is invalid, unloading it first. */
  failConfig(reason: string, logger: Logger): Promise<void> {
    return this.serially(async () => {
      if (this.state === 'READY') await this.release(logger, reason);
      if (this.state === 'FAILED') {
        this.reason = reason;
        return;
      }
      this.move('LOADING', 'reading config.yaml');
      this.move('FAILED', reason);
    });
  }

  /** Stops taking requests, lets accepted ones finish, then frees the instances. */
  unload(logger: Logger, reason = 'unloaded'): Promise<void> {
    return this.serially(async () => {
      if (this.state === 'FAILED') this.move('UNAVAILABLE', reason);
      else if (this.state === 'READY') await this.release(logger, reason);
      else if (this.state === 'UNAVAILABLE') this.reason = reason;
    });
  }

  private async release(logger: Logger, reason: string): Promise<void> {
    const started = performance.now();
    this.move('UNLOADING', 'unloading');
    await this.scheduler?.drain();
    await Promise.all(this.instances.map((i) => i.close()));
    this.instances = [];
    this.scheduler = undefined;
    this.hash = undefined;
    this.renewCache(undefined);
    this.move('UNAVAILABLE', reason);
    const ms = Math.round(performance.now() - started);
    logger.info({ model: this.model, version: this.version, ms, reason }, 'model version unloaded');
  }

  /** The scheduler of a ready version; `Unavailable` otherwise. */
  ready(): { scheduler: Scheduler; signature: ModelSignature } {
    if (this.state !== 'READY' || this.scheduler === undefined || this.signature === undefined) {
      const why = this.reason === '' ? '' : ` (${this.reason})`;
      throw new ModelServeError('Unavailable', `${this.label} is not ready: it is ${this.state}${why}`);
    }
    return { scheduler: this.scheduler, signature: this.signature };
  }

  private move(to: VersionState, reason: string): void {
    assertTransition(this.label, this.state, to);
    this.state = to;
    this.reason = reason;
    this.onChange();
    this.observer?.versionState?.(this.model, this.version, to);
  }

  private serially(operation: () => Promise<void>): Promise<void> {
    const next = this.pending.then(operation);
    this.pending = next.catch(() => undefined);
    return next;
  }
}

/** The sha256 of a file's content, so a file replaced in place is seen whatever its mtime. */
async function fileHash(file: string): Promise<string> {
  return createHash('sha256').update(await readFile(file)).digest('hex');
}

function checkBatchable(label: string, signature: ModelSignature, maxBatchSize: number): void {
  if (maxBatchSize === 0) return;
  for (const spec of [...signature.inputs, ...signature.outputs]) {
    if (spec.shape === null || spec.shape.length === 0 || spec.shape[0] !== -1) {
      const got = spec.shape === null ? 'any rank' : `[${spec.shape.join(',')}]`;
      throw new ModelServeError(
        'FailedPrecondition',
        `${label}: max_batch_size ${maxBatchSize} needs a variable first dimension on '${spec.name}', got ${got}`,
      );
    }
  }
}
