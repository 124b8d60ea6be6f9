import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Backend, ModelInstance } from './backend.js';
import type { ModelConfig } from './config.js';
import { ModelServeError } from './errors.js';
import { assertTransition } from './lifecycle.js';
import type { Logger } from './logger.js';
import type { ModelSignature, VersionState, VersionStatus } from './metadata.js';
import type { Scheduler } from './scheduler.js';
import { DynamicBatcher } from './scheduler-dynamic-batcher.js';
import { VersionStats } from './statistics.js';
import type { DataType, NamedTensor, NumericTensorData } from './tensor.js';

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
  /** sha256 of the model file that is loaded. */
  private hash: string | undefined;

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
        this.stats = new VersionStats();
        this.scheduler = this.schedulerFor(loaded.instances, config);
        this.hash = hash;
        this.move('READY', '');
        const ms = Math.round(performance.now() - started);
        logger.info({ model: this.model, version: this.version, instances: loaded.instances.length, ms }, 'model version loaded');
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        this.move('FAILED', reason);
        logger.error({ model: this.model, version: this.version, reason }, 'model version failed to load');
      }
    });
  }

  /** Creates and warms up the instances; closes them and throws if any fails. */
  private async start(backend: Backend, modelFile: string, config: ModelConfig, logger: Logger): Promise<{ instances: ModelInstance[]; signature: ModelSignature }> {
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
      if (config.warmup) await warmUp(this.label, instances, signature, logger);
      return { instances, signature };
    } catch (error) {
      await Promise.all(instances.map((i) => i.close()));
      throw error;
    }
  }

  private schedulerFor(instances: ModelInstance[], config: ModelConfig): Scheduler {
    const batching = config.dynamic_batching;
    return new DynamicBatcher(instances, {
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
  }

  /** Swaps in new instances for a changed file; on failure the old ones keep serving. */
  private async replace(backend: Backend, modelFile: string, hash: string, config: ModelConfig, logger: Logger): Promise<void> {
    const started = performance.now();
    let loaded: { instances: ModelInstance[]; signature: ModelSignature };
    try {
      loaded = await this.start(backend, modelFile, config, logger);
    } catch (error) {
      logger.error({ model: this.model, version: this.version, reason: (error as Error).message }, 'changed model file failed to load; the previous one keeps serving');
      return;
    }
    const previous = { scheduler: this.scheduler, instances: this.instances };
    this.instances = loaded.instances;
    this.signature = loaded.signature;
    this.scheduler = this.schedulerFor(loaded.instances, config);
    this.hash = hash;
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

/** The sha256 of a file's content, so a file replaced in place is seen whatever its mtime. */
async function fileHash(file: string): Promise<string> {
  return createHash('sha256').update(await readFile(file)).digest('hex');
}

/**
 * Runs every instance once on zeros of the model's input shapes (variable dimensions 1, an open
 * rank as [1]), so the first real request does not pay for onnxruntime's first run. A model that
 * cannot run on zeros is logged and served all the same.
 */
async function warmUp(label: string, instances: readonly ModelInstance[], signature: ModelSignature, logger: Logger): Promise<void> {
  const inputs = (): NamedTensor[] =>
    signature.inputs.map((spec) => {
      const shape = (spec.shape ?? [1]).map((d) => (d < 0 ? 1 : d));
      const count = shape.reduce((a, b) => a * b, 1);
      const data = spec.datatype === 'BYTES' ? Array.from({ length: count }, () => new Uint8Array(0)) : zeros(spec.datatype, count);
      return { name: spec.name, datatype: spec.datatype, shape, data } as NamedTensor;
    });
  const started = performance.now();
  const results = await Promise.allSettled(instances.map((instance) => instance.run(inputs(), [], { movable: true })));
  const failed = results.find((r) => r.status === 'rejected');
  if (failed !== undefined) logger.warn({ label, reason: (failed.reason as Error).message }, 'warm-up on zero inputs failed; serving without it');
  else logger.info({ label, instances: instances.length, ms: Math.round(performance.now() - started) }, 'warmed up');
}

function zeros(datatype: Exclude<DataType, 'BYTES'>, count: number): NumericTensorData {
  switch (datatype) {
    case 'INT64':
      return new BigInt64Array(count);
    case 'UINT64':
      return new BigUint64Array(count);
    case 'FP64':
      return new Float64Array(count);
    case 'FP32':
      return new Float32Array(count);
    case 'INT32':
      return new Int32Array(count);
    case 'UINT32':
      return new Uint32Array(count);
    case 'INT16':
      return new Int16Array(count);
    case 'UINT16':
    case 'FP16':
    case 'BF16':
      return new Uint16Array(count);
    case 'INT8':
      return new Int8Array(count);
    default:
      return new Uint8Array(count);
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
