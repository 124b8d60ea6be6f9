import { stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import type { Backend } from './backend.js';
import { OnnxRuntimeBackend } from './backend-onnxruntime.js';
import { compareOutputs } from './compare-outputs.js';
import { readModelConfig, selectVersions, versionPolicy, type ModelConfig } from './config.js';
import { detailsOf, ModelServeError } from './errors.js';
import type { InferenceRequest, InferenceResponse } from './inference.js';
import { silentLogger, type Logger } from './logger.js';
import type { ModelMetadata, ModelStatus, VersionState } from './metadata.js';
import { ModelVersion } from './model-version.js';
import type { InferenceObserver, Outcome } from './observer.js';
import { responseCacheKey, type ResponseCacheStats } from './response-cache.js';
import type { SharedCacheFactory, SharedCacheTier } from './response-cache-types.js';
import { checkModelName, ModelRepository, parseVersion, type LayoutProblem, type ModelEntry } from './repository.js';
import { RegisteredModel } from './registry-model.js';
import { checkRouting, type EffectiveRouting, type Routing } from './router.js';
import type { InferenceJob } from './scheduler.js';
import { Semaphore } from './semaphore.js';
import type { NamedTensor } from './tensor.js';
import type { VersionStatistics } from './statistics.js';
import { defaultMaxBytesElement, validateRequest } from './validate.js';

/**
 * Which models load, and when (Triton's `--model-control-mode`): `none` loads every model at
 * start; `explicit` only those named at start and by `load`; `on-demand` loads a model on its first
 * request and unloads the least recently used idle ones when a limit would be passed.
 */
export type ModelControlMode = 'none' | 'explicit' | 'on-demand';

/** The model control modes, in the order `--model-control-mode` lists them. */
export const modelControlModes: readonly ModelControlMode[] = ['none', 'explicit', 'on-demand'];

/** Options of `ModelRegistry.open`. */
export interface RegistryOptions {
  /** The model repository directory. */
  repository: string;
  /** Default: onnxruntime on a shared pool of `inferenceThreads` threads, closed with the registry. */
  backend?: Backend;
  /** Threads of the default backend's inference pool. Default: one per core. */
  inferenceThreads?: number;
  /** Default: silent. */
  logger?: Logger;
  /** Longest BYTES element a request may carry. Default 16 MiB. */
  maxBytesElement?: number;
  /**
   * Most models with a loaded version at once. Loading one more is ResourceExhausted, except in
   * `on-demand` mode, which unloads the least recently used idle model instead. Default: no limit.
   */
  maxLoadedModels?: number;
  /**
   * Memory that loaded models may take, in bytes, as estimated from their files (see
   * `estimateVersionBytes`); the same limit as `maxLoadedModels` otherwise. Default: no limit.
   */
  memoryBudgetBytes?: number;
  /** Default `none`. */
  controlMode?: ModelControlMode;
  /** `explicit` and `on-demand` modes: models loaded at start. */
  loadModels?: readonly string[];
  /** Most versions loading at once. Default: one per core. */
  loadConcurrency?: number;
  /**
   * The default backend runs a request that is the only one in flight on a copy of its session
   * opened on the event loop's thread (the run blocks the loop while it computes), not on a pool
   * thread, when its model's fastest run on the pool took at most this many µs; 0: never.
   * Default 200.
   */
  inlineMaxUs?: number;
  /** Hears of every request answered and every version's runs (metrics, traces, drift). Default none. */
  observer?: InferenceObserver;
  /** Makes the shared tier of a `response_cache.shared` URL (the server's Redis tier); without it such a cache stays local. */
  sharedCache?: SharedCacheFactory;
}

/**
 * Models whose runs are this short get an inline copy for lone requests: there the pool's hop
 * (about 35 µs) is a large share of the answer; for longer runs it would not be worth a second
 * session's memory.
 */
export const defaultInlineMaxUs = 200;

/** Memory a session takes beyond its model file's weights (onnxruntime's session, arena and graph), by measurement of the tiny zoo. */
const sessionOverheadBytes = 1024 * 1024;

/**
 * What a version is counted for under `memoryBudgetBytes`: per instance, its model file twice
 * (the weights as read, and onnxruntime's own copy of them while it optimizes) and a session's
 * overhead. An estimate made before loading, so a limit can refuse or make room first.
 */
export function estimateVersionBytes(fileBytes: number, instances: number): number {
  return instances * (2 * fileBytes + sessionOverheadBytes);
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
  private readonly memoryBudgetBytes: number;
  readonly controlMode: ModelControlMode;
  private readonly loadModels: readonly string[];
  /** Version loads at once, at most. */
  private readonly loadSlots: Semaphore;
  /** The registry made its backend, so closes it. */
  private readonly ownsBackend: boolean;
  /** Models with a version loaded or loading (their places under the limits), with their estimated bytes. */
  private readonly active = new Map<string, number>();
  /** Ticks on every request; a model's last tick orders least-recently-used eviction. */
  private clock = 0;
  /** Calls of `load` under way, by model: such a model is not unloaded to make room (its versions may not be LOADING yet). */
  private readonly loadsUnderWay = new Map<string, number>();
  /** Requests waiting for their model to load on demand, by model: such a model is not unloaded to make room. */
  private readonly demandWaiters = new Map<string, number>();
  /** On-demand loads waiting for room, woken when a load settles. */
  private readonly roomWaiters: Array<() => void> = [];
  /** On-demand loads under way, by model and version named, so one load serves every request waiting for it. */
  private readonly demandLoads = new Map<string, Promise<void>>();
  /** While `loadRepository` runs: models not registered yet are still to come. */
  private loadingRepository = false;
  /** Requests taken by `infer` and not answered yet. */
  private requestsInFlight = 0;
  private readonly observer: InferenceObserver | undefined;
  private readonly sharedCacheFactory: SharedCacheFactory | undefined;
  /** Shared cache tiers by URL, one for every version that names it. */
  private readonly sharedTiers = new Map<string, SharedCacheTier>();
  private readonly sharedTier = (url: string): SharedCacheTier | undefined => {
    if (this.sharedCacheFactory === undefined) return undefined;
    let tier = this.sharedTiers.get(url);
    if (tier === undefined) {
      tier = this.sharedCacheFactory(url);
      this.sharedTiers.set(url, tier);
    }
    return tier;
  };
  /** The version the last `enqueue` routed to, read when it throws (observer only). */
  private picked: number | undefined;
  /** When the last request that was not background work arrived (`performance.now()`). */
  private foregroundAt = -Infinity;

  private constructor(options: RegistryOptions) {
    this.maxBytesElement = options.maxBytesElement ?? defaultMaxBytesElement;
    this.maxLoadedModels = options.maxLoadedModels ?? Infinity;
    this.memoryBudgetBytes = options.memoryBudgetBytes ?? Infinity;
    this.controlMode = options.controlMode ?? 'none';
    this.loadModels = options.loadModels ?? [];
    this.observer = options.observer;
    this.sharedCacheFactory = options.sharedCache;
    this.loadSlots = new Semaphore(Math.max(1, options.loadConcurrency ?? availableParallelism()));
    this.repository = new ModelRepository(options.repository);
    this.logger = options.logger ?? silentLogger;
    this.ownsBackend = options.backend === undefined;
    this.backend =
      options.backend ??
      new OnnxRuntimeBackend({
        logger: this.logger,
        ...(options.inferenceThreads !== undefined ? { threads: options.inferenceThreads } : {}),
        inlineMaxUs: options.inlineMaxUs ?? defaultInlineMaxUs,
        alone: () => this.requestsInFlight === 1,
      });
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
   * Scans the repository and registers every model; loads every model's versions as its version
   * policy says (control mode `none`) or those of `loadModels` (`explicit`, `on-demand`), at most
   * `loadConcurrency` versions at once, logging progress; resolves once each is READY or FAILED.
   * Folders laid out wrongly are logged (`warn`) and reported, with the models a limit kept from
   * loading. Until it resolves, a request for a model not registered yet is `Unavailable` (the
   * server is starting), not `NotFound`.
   */
  async loadRepository(): Promise<RepositoryReport> {
    this.loadingRepository = true;
    try {
      const { entries, problems } = await this.repository.survey();
      this.logLayout(problems);
      const byName = new Map(entries.map((entry) => [entry.name, entry]));
      const missing = this.loadModels.filter((name) => !byName.has(name));
      if (missing.length > 0) {
        const known = [...byName.keys()].sort().join(', ') || 'none';
        throw new ModelServeError('NotFound', `model${missing.length > 1 ? 's' : ''} to load at start not in the repository: ${missing.join(', ')}; models: ${known}`);
      }
      await Promise.all(entries.map((entry) => this.register(entry)));
      const toLoad = this.controlMode === 'none' ? entries.map((entry) => entry.name) : [...new Set(this.loadModels)];
      const notLoaded: RepositoryReport['notLoaded'] = [];
      const progress = new LoadProgress(this.logger, toLoad.length);
      await Promise.all(
        toLoad.map((name) =>
          this.load(name)
            .catch((error: unknown) => {
              if (!(error instanceof ModelServeError) || error.errorCode !== 'ResourceExhausted') throw error;
              this.logger.error({ model: name, reason: error.details }, 'model not loaded');
              notLoaded.push({ model: name, reason: error.details });
            })
            .finally(() => progress.done()),
        ),
      );
      progress.end();
      return { problems, notLoaded };
    } finally {
      this.loadingRepository = false;
    }
  }

  /**
   * Makes a model known without loading it (modes `explicit` and `on-demand`): its versions on
   * disk are listed UNAVAILABLE, saying how they load, and its config.yaml is read.
   */
  private async register(entry: ModelEntry): Promise<void> {
    const record = this.models.get(entry.name) ?? new RegisteredModel(entry.name);
    this.models.set(entry.name, record);
    const why = this.controlMode === 'on-demand' ? 'not loaded yet: loads on its first request (model control mode on-demand)' : 'not loaded (model control mode explicit: LoadModel loads it)';
    for (const v of entry.versions) {
      if (record.versions.has(v)) continue;
      const slot = new ModelVersion(entry.name, v, () => this.changed(entry.name), this.observer, this.sharedTier as (url: string) => SharedCacheTier);
      slot.reason = why;
      record.versions.set(v, slot);
    }
    if (this.controlMode === 'none') return;
    try {
      record.config = await readModelConfig(entry.configFile, `${entry.name}/config.yaml`);
    } catch (error) {
      record.configError = detailsOf(error);
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

  /**
   * Whether requests for the model (naming no version) can be answered: it is ready, or, in
   * on-demand mode, a version not FAILED would load on the first request. Health reports this.
   */
  isServable(name: string): boolean {
    if (this.isReady(name)) return true;
    const record = this.models.get(name);
    if (this.controlMode !== 'on-demand' || record === undefined) return false;
    for (const slot of record.versions.values()) if (slot.state !== 'FAILED') return true;
    return false;
  }

  /** A model's configuration as read from its config.yaml (defaults filled); `NotFound` for an unknown model. */
  config(name: string): ModelConfig {
    return this.record(name).config;
  }

  /** Milliseconds since the last request that was not background work (batch jobs yield while this is small). */
  foregroundIdleMs(): number {
    return performance.now() - this.foregroundAt;
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
    const record = this.models.get(name);
    if (record !== undefined) record.lastUsed = ++this.clock;
    if (!this.active.has(name)) {
      const bytes = Number.isFinite(this.memoryBudgetBytes) ? await this.estimate(name, version) : 0;
      // Checked and reserved with nothing awaited between, so models loading at once cannot pass a limit together.
      if (!this.active.has(name)) {
        this.makeRoom(name, bytes);
        this.active.set(name, bytes);
      }
    }
    this.loadsUnderWay.set(name, (this.loadsUnderWay.get(name) ?? 0) + 1);
    try {
      return await this.loadReserved(name, version);
    } finally {
      const left = this.loadsUnderWay.get(name)! - 1;
      if (left === 0) this.loadsUnderWay.delete(name);
      else this.loadsUnderWay.set(name, left);
      this.release(name);
      this.roomMayHaveCome();
    }
  }

  /** A load settled or an unload ended: on-demand loads waiting for room try again. */
  private roomMayHaveCome(): void {
    for (const wake of this.roomWaiters.splice(0)) wake();
  }

  /**
   * Loads a model for a request (on-demand). When only loads under way stand in the way of the
   * limits, waits for one to settle and tries again; a limit it can never fit is thrown, and a
   * failed load leaves the version's state to say why.
   */
  private async loadOnDemand(name: string, version: number | undefined): Promise<void> {
    for (;;) {
      try {
        await this.load(name, version);
        return;
      } catch (error) {
        if (!(error instanceof NoRoomYet)) throw error;
        await new Promise<void>((resolve) => this.roomWaiters.push(resolve));
      }
    }
  }

  /** The bytes a model's load is counted for under the memory budget (`estimateVersionBytes` of each version it loads). */
  private async estimate(name: string, version?: string | number): Promise<number> {
    try {
      const entry = await this.repository.entry(name);
      const config = await readModelConfig(entry.configFile, `${name}/config.yaml`);
      const wanted = parseVersion(name, version);
      const versions = wanted !== undefined ? [wanted] : selectVersions(versionPolicy(config), entry.versions);
      const sizes = await Promise.all(versions.map((v) => stat(this.repository.modelFile(name, v)).then((s) => s.size, () => 0)));
      return sizes.reduce((sum, size) => sum + estimateVersionBytes(size, config.instances.count), 0);
    } catch {
      return 0; // the load itself reports what is wrong
    }
  }

  /**
   * Makes sure one more model of `bytes` fits the limits, else refuses with `ResourceExhausted`
   * saying which limit. In `on-demand` mode it first unloads models, least recently used first,
   * idle ones (no request queued or running) before busy ones, whose accepted requests finish
   * before they unload; models loading or unloading are left alone (`NoRoomYet` when only those
   * stand in the way: room comes once one of them settles).
   */
  private makeRoom(name: string, bytes: number): void {
    const budget = this.memoryBudgetBytes;
    const mib = (n: number): string => `${(n / 1048576).toFixed(1)} MiB`;
    if (bytes > budget) {
      throw new ModelServeError('ResourceExhausted', `model '${name}' cannot load: it needs about ${mib(bytes)}, more than the whole memory budget of ${mib(budget)}`);
    }
    const taken = (): number => [...this.active.values()].reduce((sum, b) => sum + b, 0);
    const fits = (): boolean => this.active.size < this.maxLoadedModels && taken() + bytes <= budget;
    if (fits()) return;
    const why = (): string =>
      this.active.size >= this.maxLoadedModels
        ? `${this.active.size} models are loaded, the limit is ${this.maxLoadedModels}`
        : `it needs about ${mib(bytes)} and ${mib(taken())} of the memory budget of ${mib(budget)} are taken`;
    if (this.controlMode !== 'on-demand') throw new ModelServeError('ResourceExhausted', `model '${name}' cannot load: ${why()}`);
    const candidates = [...this.active.keys()]
      .map((model) => this.models.get(model))
      .filter((record): record is RegisteredModel => record !== undefined && record.name !== name && !this.loadsUnderWay.has(record.name) && !this.demandWaiters.has(record.name) && record.settled())
      .map((record) => ({ record, idle: record.idle() }))
      .sort((a, b) => Number(b.idle) - Number(a.idle) || a.record.lastUsed - b.record.lastUsed);
    for (const { record } of candidates) {
      if (fits()) break;
      this.evict(record, name);
    }
    if (!fits()) throw new NoRoomYet(`model '${name}' cannot load yet: ${why()}, and the others are loading, unloading or awaited by requests`);
  }

  /** Unloads a model to make room for `forModel` (on-demand) once its accepted requests finish; its place is free at once. */
  private evict(record: RegisteredModel, forModel: string): void {
    this.active.delete(record.name);
    this.logger.info({ model: record.name, for: forModel }, 'model unloaded to make room (least recently used)');
    const reason = `unloaded: least recently used when model '${forModel}' needed room (on-demand); loads again on its next request`;
    // Its place was given up above: a request may load it again before this unload ends.
    void Promise.all(record.slots(undefined).map((slot) => slot.unload(this.logger, reason))).then(() => this.roomMayHaveCome());
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
      if (!record.versions.has(v)) record.versions.set(v, new ModelVersion(name, v, () => this.changed(name), this.observer, this.sharedTier as (url: string) => SharedCacheTier));
    }
    const wanted = parseVersion(name, version);
    if (wanted !== undefined && !onDisk.includes(wanted)) {
      throw new ModelServeError('NotFound', `model '${name}' has no version ${wanted} on disk; versions: ${onDisk.join(', ') || 'none'}`);
    }
    await Promise.all(
      record.plan(wanted, onDisk).map((step) => {
        if (step.step === 'load') return this.loadSlots.run(() => step.slot.load(this.backend, this.repository.modelFile(name, step.slot.version), record.config, this.logger));
        if (step.step === 'unload') return step.slot.unload(this.logger, step.reason);
        return step.slot.failConfig(step.reason, this.logger);
      }),
    );
    return this.status(name);
  }

  /** Frees a model's place under the limits once none of its versions is loaded or loading. */
  private release(name: string): void {
    if (this.models.get(name)?.holdsPlace() !== true) this.active.delete(name);
  }

  /**
   * Re-reads the repository: every model on disk (new ones included) and every known one (removed
   * folders unload) is loaded again as its config says; files changed in place are replaced. In
   * modes `explicit` and `on-demand` only loaded models load again; new ones are registered.
   */
  async reload(): Promise<ModelStatus[]> {
    const { entries, problems } = await this.repository.survey();
    this.logLayout(problems);
    const onDisk = entries.map((entry) => entry.name);
    const names = [...new Set([...onDisk, ...this.models.keys()])];
    const everything = this.controlMode === 'none';
    await Promise.all(entries.filter((entry) => !this.models.has(entry.name) && !everything).map((entry) => this.register(entry)));
    const toLoad = names.filter((name) => everything || this.active.has(name));
    await Promise.all(toLoad.map((name) => this.load(name).catch((error: unknown) => this.logger.error({ model: name, reason: detailsOf(error) }, 'reload failed'))));
    return this.list();
  }

  /** Unloads a model (every version) or one version, after their accepted requests finish. */
  async unload(name: string, version?: string | number): Promise<ModelStatus> {
    const record = this.record(name);
    await Promise.all(record.slots(version).map((slot) => slot.unload(this.logger)));
    this.release(name);
    this.roomMayHaveCome();
    return this.status(name);
  }

  /**
   * Validates a request against the model, queues it and resolves with its outputs. A request
   * naming no version follows the model's routing; a shadow version gets a copy, whose outputs are
   * compared with the answer's and never returned.
   */
  infer(request: InferenceRequest): Promise<InferenceResponse> {
    // Not async: one promise per request fewer on the hot path; a synchronous failure still rejects.
    // Counted before it is queued: a run can start at once, and the backend asks whether it is alone.
    this.requestsInFlight++;
    if (request.background !== true) this.foregroundAt = performance.now();
    const observer = this.observer;
    const started = observer === undefined ? 0 : performance.now();
    let queued: Queued;
    try {
      this.picked = undefined;
      queued = this.enqueue(request);
    } catch (error) {
      if (this.controlMode === 'on-demand' && this.loadsOnDemand(request, error)) {
        const answer = this.inferOnDemand(request).then(this.answered, this.failed);
        if (observer !== undefined) answer.then((response) => this.observe(request, response.version, 'OK', started, response), (e: unknown) => this.observe(request, undefined, outcomeOf(e), started));
        return answer;
      }
      this.requestsInFlight--;
      if (observer !== undefined) this.observe(request, this.picked, outcomeOf(error), started);
      return Promise.reject(error as Error);
    }
    const { version, answer, cached } = queued;
    return answer.then(
      (outputs) => {
        this.requestsInFlight--;
        const response: InferenceResponse = { model: request.model, version, id: request.id ?? '', outputs };
        if (cached?.value === true) response.cached = true;
        if (observer !== undefined) this.observe(request, version, 'OK', started, response);
        return response;
      },
      (error: unknown) => {
        this.requestsInFlight--;
        if (observer !== undefined) this.observe(request, version, outcomeOf(error), started);
        throw error;
      },
    );
  }

  /** Tells the observer how `request` ended (`started`: a `performance.now()` reading). */
  private observe(request: InferenceRequest, version: number | undefined, outcome: Outcome, started: number, response?: InferenceResponse): void {
    this.observer!.finished(request, version, outcome, (performance.now() - started) / 1000, response);
  }

  private readonly answered = <T>(value: T): T => {
    this.requestsInFlight--;
    return value;
  };

  private readonly failed = (error: unknown): never => {
    this.requestsInFlight--;
    throw error;
  };

  /**
   * Whether a request refused as `Unavailable` would be served by loading its model (on-demand):
   * the version it names, or, naming none, some version, is not loaded and has not failed.
   */
  private loadsOnDemand(request: InferenceRequest, error: unknown): boolean {
    if (!(error instanceof ModelServeError) || error.errorCode !== 'Unavailable') return false;
    const record = this.models.get(request.model);
    if (record === undefined) return false;
    const wanted = parseVersion(request.model, request.version);
    const slots = wanted === undefined ? [...record.versions.values()] : [record.versions.get(wanted)];
    return slots.some((slot) => slot !== undefined && slot.state !== 'FAILED' && slot.state !== 'READY');
  }

  /**
   * Loads the request's model (one load for every request waiting on it), then queues the request;
   * it waits within its deadline and can be cancelled meanwhile. While requests wait for it, a
   * model is not unloaded to make room; should it be unloaded before one of them is queued all the
   * same (an explicit unload), it loads again.
   */
  private async inferOnDemand(request: InferenceRequest): Promise<InferenceResponse> {
    const name = request.model;
    const version = parseVersion(name, request.version);
    const timeoutUs = request.timeoutUs || this.models.get(name)?.config.dynamic_batching?.default_queue_timeout_us || 0;
    const deadline = Math.min(request.deadline ?? Infinity, timeoutUs > 0 ? Date.now() + timeoutUs / 1000 : Infinity);
    this.demandWaiters.set(name, (this.demandWaiters.get(name) ?? 0) + 1);
    let queued: Queued;
    try {
      for (;;) {
        await waitWithin(this.demandLoad(name, version), deadline, request.signal, `model '${name}' is loading on demand and was not ready by the request's deadline`);
        try {
          queued = this.enqueue(request);
          break;
        } catch (error) {
          if (!this.loadsOnDemand(request, error)) throw error;
        }
      }
    } finally {
      const left = this.demandWaiters.get(name)! - 1;
      if (left > 0) this.demandWaiters.set(name, left);
      else {
        this.demandWaiters.delete(name);
        this.roomMayHaveCome();
      }
    }
    const outputs = await queued.answer;
    return { model: name, version: queued.version, id: request.id ?? '', outputs, ...(queued.cached?.value === true ? { cached: true } : {}) };
  }

  /** The on-demand load of a model (a version, if named) under way, or a new one. */
  private demandLoad(name: string, version: number | undefined): Promise<void> {
    const key = `${name}/${version ?? ''}`;
    let loading = this.demandLoads.get(key);
    if (loading === undefined) {
      this.logger.info({ model: name, version: version ?? null }, 'loading model on demand');
      loading = this.loadOnDemand(name, version);
      this.demandLoads.set(key, loading);
      const done = (): void => void this.demandLoads.delete(key);
      loading.then(done, done);
    }
    return loading;
  }

  /** Validates `request`, queues it on the version that answers it (and a copy on a shadow); throws for a request it refuses. */
  private enqueue(request: InferenceRequest): Queued {
    const record = this.record(request.model);
    record.lastUsed = ++this.clock;
    const slot = record.pick(request.version, request.routingKey);
    this.picked = slot.version;
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
      background: request.background,
      trace: request.trace,
    };
    const cache = slot.cache;
    let answer: Promise<NamedTensor[]>;
    let cached: { value: boolean } | undefined;
    if (cache === undefined || slot.fileDigest === undefined) answer = scheduler.enqueue(job);
    else {
      // Routed first: the key names the version and its file, so no other version's answer can come back.
      const key = responseCacheKey(record.name, slot.version, slot.fileDigest, request.inputs, outputs);
      // A run shared by identical requests has no deadline of its own and stops once all of them gave up.
      const found = cache.answer(key, job, (shared) => scheduler.enqueue(shared === undefined ? job : { ...job, deadline: undefined, signal: shared }));
      slot.stats.observer?.cache?.(found.outcome);
      const flag = { value: false };
      cached = flag;
      const started = performance.now();
      // A request answered without a run of its own is counted here; one that ran, by the scheduler.
      const counted = (ok: boolean): void => slot.stats.request(ok, (performance.now() - started) * 1000);
      answer = found.answer.then(
        (a) => {
          flag.value = a.cached;
          if (a.cached || found.outcome === 'coalesced') counted(true);
          return a.outputs;
        },
        (error: unknown) => {
          if (found.outcome === 'coalesced') counted(false);
          throw error;
        },
      );
    }
    const shadow = request.version === undefined || request.version === '' ? record.shadowFor(slot.version) : undefined;
    if (shadow !== undefined) this.shadow(record, shadow, slot.version, job, answer);
    return { version: slot.version, answer, ...(cached !== undefined ? { cached } : {}) };
  }

  /** Runs a copy of a request on the shadow version and records how its outputs compare; never fails the request. */
  private shadow(record: RegisteredModel, shadow: ModelVersion, answering: number, job: InferenceJob, answer: Promise<NamedTensor[]>): void {
    let copy: Promise<NamedTensor[]>;
    try {
      const { scheduler, signature } = shadow.ready();
      validateRequest(shadow.label, signature, record.config.max_batch_size, job.inputs, job.outputs, this.maxBytesElement);
      copy = scheduler.enqueue({ ...job, signal: undefined, trace: undefined });
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

  /** Every version's state and requests queued and in flight (queued or running), for metrics. */
  versionLoads(): VersionLoad[] {
    const loads: VersionLoad[] = [];
    for (const [model, record] of this.models) {
      for (const slot of record.versions.values()) {
        const scheduler = slot.scheduler;
        const cache = slot.cache?.stats();
        loads.push({ model, version: slot.version, state: slot.state, queued: scheduler?.queued ?? 0, inflight: scheduler?.inflight ?? 0, ...(cache !== undefined ? { cache } : {}) });
      }
    }
    return loads;
  }

  /** The backend's worker threads and their busy time, when it has any. */
  backendStats(): { threads: number; busySeconds: number } | undefined {
    return this.backend.stats?.();
  }

  /** Counts and durations per version: every model, one model, or one version. */
  statistics(name?: string, version?: string | number): VersionStatistics[] {
    const names = name === undefined || name === '' ? [...this.models.keys()].sort() : [this.record(name).name];
    return names.flatMap((model) => {
      const slots = this.models.get(model)!.slots(version);
      return slots.sort((a, b) => a.version - b.version).map((slot) => {
        const snapshot = slot.stats.snapshot(model, slot.version);
        const cache = slot.cache?.stats();
        return cache === undefined ? snapshot : { ...snapshot, cache };
      });
    });
  }

  /** Unloads every model, then closes the backend if the registry made it. */
  async close(): Promise<void> {
    await Promise.all([...this.models.keys()].map((name) => this.unload(name)));
    await Promise.all([...this.sharedTiers.values()].map((tier) => tier.close()));
    this.sharedTiers.clear();
    if (this.ownsBackend) await this.backend.close?.();
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

/** The limits are reached and only models loading or unloading could make room: try again once one settles. */
class NoRoomYet extends ModelServeError {
  constructor(message: string) {
    super('ResourceExhausted', message);
  }
}

/** Waits for `work` until `deadline` (ms since the epoch) or the signal, whichever comes first. */
function waitWithin(work: Promise<void>, deadline: number, signal: InferenceRequest['signal'], late: string): Promise<void> {
  if (!Number.isFinite(deadline) && signal === undefined) return work;
  if (signal?.aborted === true) return Promise.reject(new ModelServeError('Cancelled', 'the request was cancelled'));
  if (deadline <= Date.now()) return Promise.reject(new ModelServeError('DeadlineExceeded', late));
  return new Promise<void>((resolve, reject) => {
    const timer = Number.isFinite(deadline) ? setTimeout(() => finish(new ModelServeError('DeadlineExceeded', late)), Math.max(0, deadline - Date.now())) : undefined;
    const onAbort = (): void => finish(new ModelServeError('Cancelled', 'the request was cancelled while its model loaded on demand'));
    signal?.addEventListener('abort', onAbort);
    const finish = (error?: Error): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      if (error === undefined) resolve();
      else reject(error);
    };
    void work.then(() => finish());
  });
}

/** Logs how many of the models loading at start have loaded: at most once a second, and when all have. */
class LoadProgress {
  private loaded = 0;
  private lastLog = performance.now();
  private readonly started = performance.now();

  constructor(
    private readonly logger: Logger,
    private readonly total: number,
  ) {}

  done(): void {
    this.loaded++;
    const now = performance.now();
    if (now - this.lastLog < 1000 || this.loaded === this.total) return;
    this.lastLog = now;
    this.log();
  }

  end(): void {
    this.log();
  }

  private log(): void {
    const n = (x: number): string => x.toLocaleString('en-US');
    this.logger.info({ loaded: this.loaded, total: this.total, ms: Math.round(performance.now() - this.started) }, `loaded ${n(this.loaded)}/${n(this.total)} models`);
  }
}

/** A request queued (or answered from the cache): its version, its answer, and whether that came from the cache (known once it settles). */
interface Queued {
  version: number;
  answer: Promise<NamedTensor[]>;
  cached?: { value: boolean };
}

/** One version's state and load, as `versionLoads` reports it. */
export interface VersionLoad {
  model: string;
  version: number;
  state: VersionState;
  queued: number;
  inflight: number;
  /** The response cache's counters, when the version has one. */
  cache?: ResponseCacheStats;
}

/** The outcome a failure is reported as: the status the server answers it with (INTERNAL for what is not a ModelServeError). */
function outcomeOf(error: unknown): Outcome {
  return error instanceof ModelServeError ? (error.errorCode ?? 'Unknown') : 'Internal';
}
