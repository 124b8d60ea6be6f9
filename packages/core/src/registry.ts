import type { Backend } from './backend.js';
import { OnnxRuntimeBackend } from './backend-onnxruntime.js';
import { defaultModelConfig, readModelConfig, selectVersions, versionPolicy, type ModelConfig } from './config.js';
import { ModelServeError } from './errors.js';
import type { InferenceRequest, InferenceResponse } from './inference.js';
import { silentLogger, type Logger } from './logger.js';
import type { ModelMetadata, ModelStatus } from './metadata.js';
import { ModelVersion } from './model-version.js';
import { checkModelName, ModelRepository, parseVersion } from './repository.js';
import type { VersionStatistics } from './statistics.js';
import { validateRequest } from './validate.js';

/** Options of `ModelRegistry.open`. */
export interface RegistryOptions {
  /** The model repository directory. */
  repository: string;
  /** Default: onnxruntime in worker threads. */
  backend?: Backend;
  /** Default: silent. */
  logger?: Logger;
}

interface ModelRecord {
  name: string;
  config: ModelConfig;
  /** Set when config.yaml is invalid: every version is FAILED with it. */
  configError: string | undefined;
  versions: Map<number, ModelVersion>;
}

/**
 * The models of a repository, their versions and lifecycles, and the entry point for inference.
 * Transport-free: servers call `infer` and map `ModelServeError` codes to their statuses.
 */
export class ModelRegistry {
  private readonly models = new Map<string, ModelRecord>();
  private readonly listeners = new Set<(model: string) => void>();
  private readonly repository: ModelRepository;
  private readonly backend: Backend;
  private readonly logger: Logger;

  private constructor(options: RegistryOptions) {
    this.repository = new ModelRepository(options.repository);
    this.backend = options.backend ?? new OnnxRuntimeBackend();
    this.logger = options.logger ?? silentLogger;
  }

  /** Scans the repository and loads every model's versions as its version policy says. */
  static async open(options: RegistryOptions): Promise<ModelRegistry> {
    const registry = new ModelRegistry(options);
    const entries = await registry.repository.scan();
    await Promise.all(entries.map((entry) => registry.load(entry.name)));
    return registry;
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
    const record = this.record(name);
    const versions = [...record.versions.values()].sort((a, b) => a.version - b.version).map((v) => v.status());
    return { name, defaultVersion: this.defaultVersion(record)?.version, versions };
  }

  /**
   * Whether the model can serve requests naming `version`, or naming no version when it is empty.
   * False for unknown models and versions; `InvalidArgument` for a version that is not a number.
   */
  isReady(name: string, version?: string | number): boolean {
    const record = this.models.get(name);
    if (record === undefined) return false;
    const wanted = parseVersion(name, version);
    const slot = wanted === undefined ? this.defaultVersion(record) : record.versions.get(wanted);
    return slot?.state === 'READY';
  }

  /** A model's configuration as read from its config.yaml (defaults filled); `NotFound` for an unknown model. */
  config(name: string): ModelConfig {
    return this.record(name).config;
  }

  /** A ready version's inputs, outputs and status; the default version when `version` is empty. */
  metadata(name: string, version?: string | number): ModelMetadata {
    const record = this.record(name);
    const slot = this.pick(record, version);
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
    // A known model whose folder is gone keeps its config and unloads every version.
    const entry = await this.repository.entry(name).catch((error: unknown) => {
      if (this.models.has(name)) return undefined;
      throw error;
    });
    const onDisk = entry?.versions ?? [];
    const record = this.models.get(name) ?? { name, config: defaultModelConfig, configError: undefined, versions: new Map() };
    this.models.set(name, record);
    try {
      if (entry !== undefined) record.config = await readModelConfig(entry.configFile, `${name}/config.yaml`);
      record.configError = undefined;
    } catch (error) {
      record.configError = (error as Error).message;
      this.logger.error({ model: name, reason: record.configError }, 'model config is invalid');
    }
    for (const v of onDisk) {
      if (!record.versions.has(v)) record.versions.set(v, new ModelVersion(name, v, () => this.changed(name)));
    }
    const wanted = parseVersion(name, version);
    if (wanted !== undefined && !onDisk.includes(wanted)) {
      throw new ModelServeError('NotFound', `model '${name}' has no version ${wanted} on disk; versions: ${onDisk.join(', ') || 'none'}`);
    }
    const selected = wanted !== undefined ? [wanted] : selectVersions(versionPolicy(record.config), onDisk);
    await Promise.all(
      [...record.versions.values()].map(async (slot) => {
        if (record.configError !== undefined) {
          if (wanted === undefined || slot.version === wanted) await slot.failConfig(record.configError, this.logger);
        } else if (selected.includes(slot.version)) {
          await slot.load(this.backend, this.repository.modelFile(name, slot.version), record.config, this.logger);
        } else if (wanted === undefined) {
          const reason = onDisk.includes(slot.version) ? 'not selected by version_policy' : 'removed from disk';
          await slot.unload(this.logger, reason);
        }
      }),
    );
    return this.status(name);
  }

  /** Unloads a model (every version) or one version, after their accepted requests finish. */
  async unload(name: string, version?: string | number): Promise<ModelStatus> {
    const record = this.record(name);
    await Promise.all(this.slots(record, version).map((slot) => slot.unload(this.logger)));
    return this.status(name);
  }

  /** Validates a request against the model, queues it and resolves with its outputs. */
  async infer(request: InferenceRequest): Promise<InferenceResponse> {
    const record = this.record(request.model);
    const slot = this.pick(record, request.version);
    const { scheduler, signature } = slot.ready();
    const outputs = request.outputs ?? [];
    validateRequest(slot.label, signature, record.config.max_batch_size, request.inputs, outputs);
    const timeoutUs = request.timeoutUs || record.config.dynamic_batching?.default_queue_timeout_us || 0;
    const deadline = Math.min(request.deadline ?? Infinity, timeoutUs > 0 ? Date.now() + timeoutUs / 1000 : Infinity);
    const result = await scheduler.enqueue({
      inputs: request.inputs,
      outputs,
      deadline: Number.isFinite(deadline) ? deadline : undefined,
      signal: request.signal,
      priority: request.priority,
    });
    return { model: request.model, version: slot.version, id: request.id ?? '', outputs: result };
  }

  /** Counts and durations per version: every model, one model, or one version. */
  statistics(name?: string, version?: string | number): VersionStatistics[] {
    const names = name === undefined || name === '' ? [...this.models.keys()].sort() : [this.record(name).name];
    return names.flatMap((model) => {
      const slots = this.slots(this.models.get(model)!, version);
      return slots.sort((a, b) => a.version - b.version).map((slot) => slot.stats.snapshot(model, slot.version));
    });
  }

  /** Unloads every model. */
  async close(): Promise<void> {
    await Promise.all([...this.models.keys()].map((name) => this.unload(name)));
  }

  private record(name: string): ModelRecord {
    checkModelName(name);
    const record = this.models.get(name);
    if (record === undefined) {
      const known = [...this.models.keys()].sort().join(', ') || 'none';
      throw new ModelServeError('NotFound', `model '${name}' is not in the repository; models: ${known}`);
    }
    return record;
  }

  private slot(record: ModelRecord, version: number): ModelVersion {
    const slot = record.versions.get(version);
    if (slot === undefined) {
      const known = [...record.versions.keys()].sort((a, b) => a - b).join(', ') || 'none';
      throw new ModelServeError('NotFound', `model '${record.name}' has no version ${version}; versions: ${known}`);
    }
    return slot;
  }

  /** Every version of a model, or the one named. */
  private slots(record: ModelRecord, version: string | number | undefined): ModelVersion[] {
    const wanted = parseVersion(record.name, version);
    return wanted === undefined ? [...record.versions.values()] : [this.slot(record, wanted)];
  }

  private pick(record: ModelRecord, version: string | number | undefined): ModelVersion {
    const wanted = parseVersion(record.name, version);
    if (wanted !== undefined) return this.slot(record, wanted);
    const chosen = this.defaultVersion(record);
    if (chosen === undefined) {
      throw new ModelServeError('Unavailable', `model '${record.name}' has no ready version`);
    }
    return chosen;
  }

  /** The configured default version, else the highest ready one. */
  private defaultVersion(record: ModelRecord): ModelVersion | undefined {
    const configured = record.config.default_version;
    if (configured !== undefined) return record.versions.get(configured);
    let best: ModelVersion | undefined;
    for (const slot of record.versions.values()) {
      if (slot.state === 'READY' && (best === undefined || slot.version > best.version)) best = slot;
    }
    return best;
  }

  private changed(name: string): void {
    for (const listener of this.listeners) listener(name);
  }
}
