import type { Backend, ModelInstance } from './backend.js';
import type { ModelConfig } from './config.js';
import { ModelServeError } from './errors.js';
import { assertTransition } from './lifecycle.js';
import type { Logger } from './logger.js';
import type { ModelSignature, VersionState, VersionStatus } from './metadata.js';
import type { Scheduler } from './scheduler.js';
import { DynamicBatcher } from './scheduler-dynamic-batcher.js';
import { VersionStats } from './statistics.js';

/**
 * One version of a model and its lifecycle. Operations on a version run one after another, so a
 * load and an unload never interleave.
 */
export class ModelVersion {
  state: VersionState = 'UNAVAILABLE';
  reason = 'not loaded';
  signature: ModelSignature | undefined;
  scheduler: Scheduler | undefined;
  /** Counts and durations since the version last loaded. */
  stats = new VersionStats();
  private instances: ModelInstance[] = [];
  private pending: Promise<void> = Promise.resolve();

  constructor(
    readonly model: string,
    readonly version: number,
    private readonly onChange: () => void,
  ) {}

  get label(): string {
    return `model '${this.model}' version ${this.version}`;
  }

  status(): VersionStatus {
    return { version: this.version, state: this.state, reason: this.state === 'READY' ? '' : this.reason };
  }

  /** Loads the version unless it is ready; resolves once it is READY or FAILED. */
  load(backend: Backend, modelFile: string, config: ModelConfig, logger: Logger): Promise<void> {
    return this.serially(async () => {
      if (this.state === 'READY') return;
      this.move('LOADING', 'loading');
      const started = performance.now();
      const created = await Promise.allSettled(
        Array.from({ length: config.instances.count }, () =>
          backend.createInstance({ label: this.label, modelFile, intraOpThreads: config.instances.intra_op_threads }),
        ),
      );
      const instances = created.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
      const failure = created.find((r) => r.status === 'rejected');
      try {
        if (failure !== undefined) throw failure.reason;
        const signature = instances[0]!.signature;
        checkBatchable(this.label, signature, config.max_batch_size);
        this.instances = instances;
        this.signature = signature;
        const batching = config.dynamic_batching;
        this.stats = new VersionStats();
        this.scheduler = new DynamicBatcher(instances, {
          label: this.label,
          batching: batching !== undefined,
          maxBatchSize: config.max_batch_size,
          maxQueueDelayUs: batching?.max_queue_delay_us,
          preferredBatchSizes: batching?.preferred_batch_sizes,
          maxQueueSize: batching?.max_queue_size,
          priorityLevels: batching?.priority_levels,
          defaultPriorityLevel: batching?.default_priority_level,
          stats: this.stats,
        });
        this.move('READY', '');
        const ms = Math.round(performance.now() - started);
        logger.info({ model: this.model, version: this.version, instances: instances.length, ms }, 'model version loaded');
      } catch (error) {
        await Promise.all(instances.map((i) => i.close()));
        const reason = error instanceof Error ? error.message : String(error);
        this.move('FAILED', reason);
        logger.error({ model: this.model, version: this.version, reason }, 'model version failed to load');
      }
    });
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
  }

  private serially(operation: () => Promise<void>): Promise<void> {
    const next = this.pending.then(operation);
    this.pending = next.catch(() => undefined);
    return next;
  }
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
