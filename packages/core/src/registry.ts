import type { Backend } from './backend.js';
import { OnnxRuntimeBackend } from './backend-onnxruntime.js';
import { compareOutputs } from './compare-outputs.js';
import { readModelConfig, type ModelConfig } from './config.js';
import { detailsOf, ModelServeError } from './errors.js';
import type { InferenceRequest, InferenceResponse } from './inference.js';
import { silentLogger, type Logger } from './logger.js';
import type { ModelMetadata, ModelStatus } from './metadata.js';
import { ModelVersion } from './model-version.js';
import { checkModelName, ModelRepository, parseVersion, type LayoutProblem } from './repository.js';
import { RegisteredModel } from './registry-model.js';
import { checkRouting, type EffectiveRouting, type Routing } from './router.js';
import type { InferenceJob } from './scheduler.js';
import type { NamedTensor } from './tensor.js';
import type { VersionStatistics } from './statistics.js';
import { defaultMaxBytesElement, validateRequest } from './validate.js';

/** Options of `ModelRegistry.open`. */
export interface RegistryOptions {
  /** The model repository directory. */
  repository: string;
  /** Default: onnxruntime in worker threads. */
  backend?: Backend;
  /** Default: silent. */
  logger?: Logger;
  /** Longest BYTES element a request may carry. Default 16 MiB. */
  maxBytesElement?: number;
  /** Most models with a loaded version at once; loading one more is ResourceExhausted. Default: no limit. */
  maxLoadedModels?: number;
}

/** What loading the repository at start-up left out: folders laid out wrongly, and models a limit kept from loading. */
export interface RepositoryReport {
  problems: LayoutProblem[];
  /** Models refused by `maxLoadedModels`, with why. */
  notLoaded: Array<{ model: string; reason: string }>;
}

/**
 * The models of a repository, their versions and lifecycles, and the entry point for inference.
 * Transport-free: servers call `infer` and answer a `ModelServeError` with its status (`code`) and `details`.
 */
export class ModelRegistry {
  private readonly models = new Map<string, RegisteredModel>();
  private readonly listeners = new Set<(model: string) => void>();
  private readonly repository: ModelRepository;
  private readonly backend: Backend;
  private readonly logger: Logger;
  private readonly maxBytesElement: number;
  private readonly maxLoadedModels: number;
  /** Models with a version loaded or loading (their places under maxLoadedModels). */
  private readonly active = new Set<string>();
  /** While `loadRepository` runs: models not registered yet are still to come. */
  private loadingRepository = false;

  private constructor(options: RegistryOptions) {
    this.maxBytesElement = options.maxBytesElement ?? defaultMaxBytesElement;
    this.maxLoadedModels = options.maxLoadedModels ?? Infinity;
    this.repository = new ModelRepository(options.repository);
    this.backend = options.backend ?? new OnnxRuntimeBackend();
    this.logger = options.logger ?? silentLogger;
  }

  /** A registry of the repository that has loaded nothing yet: `loadRepository` loads it (a server can listen meanwhile). */
  static create(options: RegistryOptions): ModelRegistry {
    return new ModelRegistry(options);
  }

  /** Scans the repository and loads every model's versions as its version policy says. */
  static async open(options: RegistryOptions): Promise<ModelRegistry> {
    const registry = new ModelRegistry(options);
    await registry.loadRepository();
    return registry;
  }

  /**
   * Scans the repository and loads every model's versions as its version policy says; resolves
   * once each is READY or FAILED. Folders laid out wrongly are logged (`warn`) and reported, with
   * the models a limit kept from loading. Until it resolves, a request for a model not registered
   * yet is `Unavailable` (the server is starting), not `NotFound`.
   */
  async loadRepository(): Promise<RepositoryReport> {
    this.loadingRepository = true;
    try {
      const { entries, problems } = await this.repository.survey();
      this.logLayout(problems);
      const notLoaded: RepositoryReport['notLoaded'] = [];
      await Promise.all(
        entries.map((entry) =>
          this.load(entry.name).catch((error: unknown) => {
            if (!(error instanceof ModelServeError) || error.errorCode !== 'ResourceExhausted') throw error;
            this.logger.error({ model: entry.name, reason: error.details }, 'model not loaded');
            notLoaded.push({ model: entry.name, reason: error.details });
          }),
        ),
      );
      return { problems, notLoaded };
    } finally {
      this.loadingRepository = false;
    }
  }

  private logLayout(problems: readonly LayoutProblem[]): void {
    for (const problem of problems) {
      this.logger.warn({ repository: this.repository.root, path: problem.path, problem: problem.message }, 'model repository layout problem');
    }
  }

  /** Calls `listener(model)` whenever a version of `model` changes state. Returns an unsubscribe. */
  onChange(listener: (model: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Every known model with its versions, by name. */
  list(): ModelStatus[] {
    return [...this.models.keys()].sort().map((name) => this.status(name));
  }

  /** One model's versions and default version; `NotFound` for an unknown model. */
  status(name: string): ModelStatus {
    return this.record(name).status();
  }

  /**
   * Whether the model can serve requests naming `version`, or naming no version when it is empty.
   * False for unknown models and versions; `InvalidArgument` for a version that is not a number.
   */
  isReady(name: string, version?: string | number): boolean {
    const record = this.models.get(name);
    if (record === undefined) return false;
    const wanted = parseVersion(name, version);
    const slot = wanted === undefined ? record.defaultVersion() : record.versions.get(wanted);
    return slot?.state === 'READY';
  }

  /** A model's configuration as read from its config.yaml (defaults filled); `NotFound` for an unknown model. */
  config(name: string): ModelConfig {
    return this.record(name).config;
  }

  /** A ready version's inputs, outputs and status; the default version when `version` is empty. */
  metadata(name: string, version?: string | number): ModelMetadata {
    const record = this.record(name);
    const slot = record.pick(version);
    const { signature } = slot.ready();
    return {
      name,
      version: slot.version,
      platform: 'onnxruntime_onnx',
      inputs: signature.inputs,
      outputs: signature.outputs,
      maxBatchSize: record.config.max_batch_size,
      status: this.status(name),
    };
  }

  /**
   * Loads a model from disk. Without a version, re-reads its directory and config and applies the
   * version policy: selected versions load, others unload. With one, loads just that version.
   */
  async load(name: string, version?: string | number): Promise<ModelStatus> {
    checkModelName(name);
    // Reserved before anything is awaited, so models loading at once cannot pass the limit together.
    if (!this.active.has(name)) {
      if (this.active.size >= this.maxLoadedModels) {
        throw new ModelServeError('ResourceExhausted', `model '${name}' cannot load: ${this.active.size} models are loaded, the limit is ${this.maxLoadedModels}`);
      }
      this.active.add(name);
    }
    try {
      return await this.loadReserved(name, version);
    } finally {
      this.release(name);
    }
  }

  private async loadReserved(name: string, version?: string | number): Promise<ModelStatus> {
    // A known model whose folder is gone keeps its config and unloads every version.
    const entry = await this.repository.entry(name).catch((error: unknown) => {
      if (this.models.has(name)) return undefined;
      throw error;
    });
    const onDisk = entry?.versions ?? [];
    const record = this.models.get(name) ?? new RegisteredModel(name);
    this.models.set(name, record);
    try {
      if (entry !== undefined) record.config = await readModelConfig(entry.configFile, `${name}/config.yaml`);
      record.configError = undefined;
      record.applyConfigRouting(onDisk);
    } catch (error) {
      record.configError = detailsOf(error);
      this.logger.error({ model: name, reason: record.configError }, 'model config is invalid');
    }
    for (const v of onDisk) {
      if (!record.versions.has(v)) record.versions.set(v, new ModelVersion(name, v, () => this.changed(name)));
    }
    const wanted = parseVersion(name, version);
    if (wanted !== undefined && !onDisk.includes(wanted)) {
      throw new ModelServeError('NotFound', `model '${name}' has no version ${wanted} on disk; versions: ${onDisk.join(', ') || 'none'}`);
    }
    await Promise.all(
      record.plan(wanted, onDisk).map((step) => {
        if (step.step === 'load') return step.slot.load(this.backend, this.repository.modelFile(name, step.slot.version), record.config, this.logger);
        if (step.step === 'unload') return step.slot.unload(this.logger, step.reason);
        return step.slot.failConfig(step.reason, this.logger);
      }),
    );
    return this.status(name);
  }

  /** Frees a model's place under maxLoadedModels once none of its versions is loaded or loading. */
  private release(name: string): void {
    if (this.models.get(name)?.holdsPlace() !== true) this.active.delete(name);
  }

  /**
   * Re-reads the repository: every model on disk (new ones included) and every known one (removed
   * folders unload) is loaded again as its config says; files changed in place are replaced.
   */
  async reload(): Promise<ModelStatus[]> {
    const { entries, problems } = await this.repository.survey();
    this.logLayout(problems);
    const onDisk = entries.map((entry) => entry.name);
    const names = [...new Set([...onDisk, ...this.models.keys()])];
    await Promise.all(names.map((name) => this.load(name).catch((error: unknown) => this.logger.error({ model: name, reason: detailsOf(error) }, 'reload failed'))));
    return this.list();
  }

  /** Unloads a model (every version) or one version, after their accepted requests finish. */
  async unload(name: string, version?: string | number): Promise<ModelStatus> {
    const record = this.record(name);
    await Promise.all(record.slots(version).map((slot) => slot.unload(this.logger)));
    this.release(name);
    return this.status(name);
  }

  /**
   * Validates a request against the model, queues it and resolves with its outputs. A request
   * naming no version follows the model's routing; a shadow version gets a copy, whose outputs are
   * compared with the answer's and never returned.
   */
  infer(request: InferenceRequest): Promise<InferenceResponse> {
    // Not async: one promise per request fewer on the hot path; a synchronous failure still rejects.
    let queued: { version: number; answer: Promise<NamedTensor[]> };
    try {
      queued = this.enqueue(request);
    } catch (error) {
      return Promise.reject(error as Error);
    }
    const { version, answer } = queued;
    return answer.then((outputs) => ({ model: request.model, version, id: request.id ?? '', outputs }));
  }

  /** Validates `request`, queues it on the version that answers it (and a copy on a shadow); throws for a request it refuses. */
  private enqueue(request: InferenceRequest): { version: number; answer: Promise<NamedTensor[]> } {
    const record = this.record(request.model);
    const slot = record.pick(request.version, request.routingKey);
    const { scheduler, signature } = slot.ready();
    const outputs = request.outputs ?? [];
    validateRequest(slot.label, signature, record.config.max_batch_size, request.inputs, outputs, this.maxBytesElement);
    const timeoutUs = request.timeoutUs || record.config.dynamic_batching?.default_queue_timeout_us || 0;
    const deadline = Math.min(request.deadline ?? Infinity, timeoutUs > 0 ? Date.now() + timeoutUs / 1000 : Infinity);
    const job = {
      inputs: request.inputs,
      outputs,
      deadline: Number.isFinite(deadline) ? deadline : undefined,
      signal: request.signal,
      priority: request.priority,
    };
    const answer = scheduler.enqueue(job);
    const shadow = request.version === undefined || request.version === '' ? record.shadowFor(slot.version) : undefined;
    if (shadow !== undefined) this.shadow(record, shadow, slot.version, job, answer);
    return { version: slot.version, answer };
  }

  /** Runs a copy of a request on the shadow version and records how its outputs compare; never fails the request. */
  private shadow(record: RegisteredModel, shadow: ModelVersion, answering: number, job: InferenceJob, answer: Promise<NamedTensor[]>): void {
    let copy: Promise<NamedTensor[]>;
    try {
      const { scheduler, signature } = shadow.ready();
      validateRequest(shadow.label, signature, record.config.max_batch_size, job.inputs, job.outputs, this.maxBytesElement);
      copy = scheduler.enqueue({ ...job, signal: undefined });
    } catch {
      return; // a request the shadow cannot take: nothing to compare
    }
    Promise.all([answer, copy]).then(
      ([a, b]) => shadow.stats.compared(answering, compareOutputs(a, b)),
      () => undefined,
    );
  }

  /**
   * A model's routing now in force, how many earlier routings `rollbackRouting` can go back to,
   * and where requests naming no version actually go given the versions ready now.
   */
  routing(name: string): { routing: Routing; depth: number; effective: EffectiveRouting } {
    const record = this.record(name);
    return { routing: record.router.routing, depth: record.router.depth, effective: record.effectiveRouting() };
  }

  /**
   * Puts a routing in force at once (blue-green switch, split, shadow); the previous one is kept
   * for rollback. `InvalidArgument` for a version the model does not have or a bad weight;
   * `FailedPrecondition` for a version it has that is not loaded (READY), naming those that are.
   */
  setRouting(name: string, routing: Routing): Routing {
    const record = this.record(name);
    checkRouting(name, routing, [...record.versions.keys()]);
    record.checkRoutable(routing);
    record.router.set(routing);
    this.logger.info({ model: name, routing }, 'routing set');
    this.changed(name);
    return record.router.routing;
  }

  /** Restores the routing in force before the last change; `FailedPrecondition` when it names a version no longer loaded. */
  rollbackRouting(name: string): Routing {
    const record = this.record(name);
    const routing = record.router.rollback(name, (previous) => record.checkRoutable(previous, 'cannot roll back to a routing whose '));
    this.logger.info({ model: name, routing }, 'routing rolled back');
    this.changed(name);
    return routing;
  }

  /** Counts and durations per version: every model, one model, or one version. */
  statistics(name?: string, version?: string | number): VersionStatistics[] {
    const names = name === undefined || name === '' ? [...this.models.keys()].sort() : [this.record(name).name];
    return names.flatMap((model) => {
      const slots = this.models.get(model)!.slots(version);
      return slots.sort((a, b) => a.version - b.version).map((slot) => slot.stats.snapshot(model, slot.version));
    });
  }

  /** Unloads every model. */
  async close(): Promise<void> {
    await Promise.all([...this.models.keys()].map((name) => this.unload(name)));
  }

  private record(name: string): RegisteredModel {
    checkModelName(name);
    const record = this.models.get(name);
    if (record === undefined) {
      if (this.loadingRepository) throw new ModelServeError('Unavailable', `model '${name}' is not loaded yet: the server is loading the model repository`);
      const known = [...this.models.keys()].sort().join(', ') || 'none';
      throw new ModelServeError('NotFound', `model '${name}' is not in the repository; models: ${known}`);
    }
    return record;
  }

  private changed(name: string): void {
    for (const listener of this.listeners) listener(name);
  }
}
