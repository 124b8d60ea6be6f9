/**
 * `@modelserve/client/local`: the same Predictor interface running @modelserve/core in the
 * caller's process (edge use: no server, no network). Its own entry point, so that
 * `@modelserve/client` alone never loads onnxruntime (it uses only core's error table).
 */
import { ModelRegistry, type Logger, type NamedTensor, type TensorSpec as CoreSpec } from '@modelserve/core';
import { cancelledByCaller, ModelServeError } from './errors.js';
import { fromDecodedTensor, toDecodedTensor, type TensorInputs } from './tensors.js';
import type { ModelInfo, ModelMetadata, PredictOptions, PredictResult, Predictor, StreamOptions, StreamRequest, StreamResult, TensorSpec } from './types.js';

/** Options of `createLocalPredictor`. */
export interface LocalPredictorOptions {
  /** The model repository directory (Triton layout, as `modelserve serve` takes). */
  modelRepository: string;
  /** Structured logger (pino fits). Default: silent. */
  logger?: Logger;
}

/** Core's errors are the SDK's and pass as they are (in-process, without an endpoint); anything else, a bug, is Internal. */
const failure = (error: unknown): ModelServeError => ModelServeError.from(error, { fallback: 'Internal' });

const spec = (s: CoreSpec): TensorSpec => ({ name: s.name, datatype: s.datatype, shape: s.shape ?? [-1] });

/** Loads the repository (every model as its version policy says) and answers in this process. */
export async function createLocalPredictor(options: LocalPredictorOptions): Promise<Predictor> {
  const registry = await ModelRegistry.open({ repository: options.modelRepository, ...(options.logger ? { logger: options.logger } : {}) });
  return new LocalPredictor(registry);
}

class LocalPredictor implements Predictor {
  constructor(private readonly registry: ModelRegistry) {}

  async predict(model: string, inputs: TensorInputs, options: PredictOptions = {}): Promise<PredictResult> {
    if (options.signal?.aborted) throw cancelledByCaller();
    try {
      const tensors: NamedTensor[] = Object.entries(inputs).map(([name, input]) => toDecodedTensor(name, input) as NamedTensor);
      const response = await this.registry.infer({
        model,
        version: options.version,
        id: options.id ?? '',
        inputs: tensors,
        outputs: options.outputs,
        priority: options.priority,
        deadline: options.timeoutMs === undefined ? undefined : Date.now() + options.timeoutMs,
        signal: options.signal,
      });
      const outputs = Object.fromEntries(response.outputs.map((t) => [t.name, fromDecodedTensor(t)]));
      return { model: response.model, version: String(response.version), id: response.id, outputs, endpoint: 'local' };
    } catch (error) {
      throw failure(error);
    }
  }

  async *predictStream(model: string, requests: AsyncIterable<StreamRequest> | Iterable<StreamRequest>, options: StreamOptions = {}): AsyncIterable<StreamResult> {
    const maxInflight = Math.max(1, options.maxInflight ?? 128);
    const pending = new Map<string, Promise<StreamResult>>();
    let position = 0;
    const settle = async (): Promise<StreamResult> => {
      const result = await Promise.race(pending.values());
      pending.delete(result.id);
      return result;
    };
    for await (const r of requests) {
      const id = r.id ?? String(position);
      position++;
      if (pending.has(id)) throw new ModelServeError('InvalidArgument', `stream request id '${id}' is already in flight: ids must be unique`);
      const predictOptions: PredictOptions = { id, ...(r.version !== undefined ? { version: r.version } : {}), ...(r.outputs ? { outputs: r.outputs } : {}), ...(r.priority !== undefined ? { priority: r.priority } : {}), ...(options.signal ? { signal: options.signal } : {}) };
      pending.set(
        id,
        this.predict(model, r.inputs, predictOptions).then(
          (result): StreamResult => ({ ok: true, ...result, id }),
          (error: unknown): StreamResult => ({ ok: false, id, error: failure(error) }),
        ),
      );
      while (pending.size >= maxInflight) yield await settle();
    }
    while (pending.size > 0) yield await settle();
  }

  async models(): Promise<ModelInfo[]> {
    return this.registry.list().map((m) => ({
      name: m.name,
      defaultVersion: m.defaultVersion === undefined ? undefined : String(m.defaultVersion),
      versions: m.versions.map((v) => ({ version: String(v.version), state: v.state, reason: v.reason })),
    }));
  }

  async metadata(model: string, version?: string | number): Promise<ModelMetadata> {
    try {
      const m = this.registry.metadata(model, version);
      return { name: m.name, version: String(m.version), platform: m.platform, maxBatchSize: m.maxBatchSize, inputs: m.inputs.map(spec), outputs: m.outputs.map(spec) };
    } catch (error) {
      throw failure(error);
    }
  }

  async close(): Promise<void> {
    await this.registry.close();
  }
}
