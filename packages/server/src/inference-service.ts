/**
 * `inference.GRPCInferenceService`, the Open Inference Protocol (KServe v2) as Triton serves it,
 * so Triton and KServe clients work unchanged. It shares the inference path with
 * modelserve.v1.Predictor (inference-calls.ts); only the message conversions differ.
 */
import { readFileSync } from 'node:fs';
import { status as GrpcStatus, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js';
import { ModelServeError, type Logger, type ModelMetadata, type ModelRegistry } from '@modelserve/core';
import type { oip } from '@modelserve/proto';
import {
  fromModelInferRequest,
  loadFailure,
  toModelConfig,
  toModelIndex,
  toModelInferResponse,
  toModelMetadataResponse,
  toModelStatistics,
} from './inference-convert.js';
import { serveStreamInference, serveUnaryInference, type InferenceCallOptions, type StreamCodec } from './inference-calls.js';
import { answer } from './status.js';
import { traceSetting } from './tracing-settings.js';

/** The server's name and version in ServerMetadata. */
export const serverName = 'modelserve';
export const serverVersion: string = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/**
 * Triton protocol extensions modelserve implements: repository load/unload/index, ModelConfig,
 * the `priority` and `timeout` request parameters, and ModelStatistics.
 */
export const serverExtensions: readonly string[] = ['model_repository', 'model_configuration', 'schedule_policy', 'statistics'];

/** Options of the inference service; its `tracing` (InferenceCallOptions) also answers TraceSetting. */
export interface InferenceServiceOptions extends InferenceCallOptions {
  /** Requests accepted on one ModelStreamInfer stream and not yet answered; reading pauses at this many. */
  maxInflightPerStream: number;
  /** False once the server drains: ServerReady then answers false. */
  isServing(): boolean;
}

/** A failed stream request: `error_message`, and the request's model and id so the client can match it. */
const inferCodec: StreamCodec<oip.ModelInferRequest__Output, oip.ModelInferResponse, oip.ModelStreamInferResponse> = {
  decode(request, context) {
    return { request: fromModelInferRequest(request, context), encode: toModelInferResponse };
  },
  ok: (_request, response) => ({ error_message: '', infer_response: response }),
  failed: (request, { details }) => ({
    error_message: details,
    infer_response: { model_name: request.model_name, model_version: request.model_version, id: request.id },
  }),
};

/** UNIMPLEMENTED, naming what is missing. */
function unimplemented(what: string) {
  return (_call: unknown, callback: sendUnaryData<never>): void => {
    callback({ code: GrpcStatus.UNIMPLEMENTED, details: `modelserve does not implement ${what}` });
  };
}

type Unary<Req, Res> = (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => void;

/** `inference.GRPCInferenceService` over a model registry. */
export function inferenceService(registry: ModelRegistry, logger: Logger, options: InferenceServiceOptions): oip.GRPCInferenceServiceHandlers {
  const metadataOrUndefined = (name: string, version: string): ModelMetadata | undefined => {
    try {
      return registry.metadata(name, version);
    } catch {
      return undefined;
    }
  };

  // What a TraceSetting with an empty value list puts the sampling ratio back to.
  const startRatio = options.tracing?.ratio ?? 0;

  const ModelInfer: Unary<oip.ModelInferRequest__Output, oip.ModelInferResponse> = (call, callback) => {
    serveUnaryInference(registry, logger, inferCodec, call, callback, options);
  };

  return {
    ServerLive(_call, callback) {
      callback(null, { live: true });
    },

    // Triton's strict readiness: ready while serving and every model that is loaded, loading or
    // failed can answer; models unloaded on purpose (every version UNAVAILABLE) do not count.
    ServerReady(_call, callback) {
      answer(callback, logger, () => ({
        ready:
          options.isServing() &&
          registry
            .list()
            .filter((m) => m.versions.some((v) => v.state !== 'UNAVAILABLE'))
            .every((m) => registry.isReady(m.name)),
      }));
    },

    // Unknown models and versions are simply not ready, as in Triton.
    ModelReady(call, callback) {
      answer(callback, logger, () => ({ ready: registry.isReady(call.request.name, call.request.version) }));
    },

    ServerMetadata(_call, callback) {
      callback(null, { name: serverName, version: serverVersion, extensions: [...serverExtensions] });
    },

    ModelMetadata(call, callback) {
      answer(callback, logger, () => toModelMetadataResponse(registry.metadata(call.request.name, call.request.version)));
    },

    ModelInfer,

    ModelStreamInfer(call) {
      serveStreamInference(registry, logger, inferCodec, call, options.maxInflightPerStream, options);
    },

    ModelConfig(call, callback) {
      answer(callback, logger, () => {
        const { name, version } = call.request;
        const config = registry.config(name);
        const metadata = version === '' ? metadataOrUndefined(name, version) : registry.metadata(name, version);
        return { config: toModelConfig(name, config, metadata) };
      });
    },

    ModelStatistics(call, callback) {
      answer(callback, logger, () => ({ model_stats: registry.statistics(call.request.name, call.request.version).map(toModelStatistics) }));
    },

    RepositoryIndex(call, callback) {
      answer(callback, logger, () => ({ models: registry.list().flatMap((status) => toModelIndex(status, call.request.ready)) }));
    },

    RepositoryModelLoad(call, callback) {
      answer(callback, logger, async () => {
        const { model_name: name, parameters } = call.request;
        const unsupported = Object.keys(parameters).filter((key) => key === 'config' || key.startsWith('file:'));
        if (unsupported.length > 0) {
          throw new ModelServeError(
            'Unimplemented',
            `model '${name}': load parameters ${unsupported.map((k) => `'${k}'`).join(', ')} are not supported: modelserve loads models from its repository on disk`,
          );
        }
        const status = await registry.load(name);
        const failure = loadFailure(status, registry.config(name));
        if (failure !== undefined) throw new ModelServeError('FailedPrecondition', `model '${name}' did not load: ${failure}`);
        return {};
      });
    },

    RepositoryModelUnload(call, callback) {
      answer(callback, logger, async () => {
        await registry.unload(call.request.model_name);
        return {};
      });
    },

    SystemSharedMemoryStatus: unimplemented('system shared memory'),
    SystemSharedMemoryRegister: unimplemented('system shared memory'),
    SystemSharedMemoryUnregister: unimplemented('system shared memory'),
    CudaSharedMemoryStatus: unimplemented('CUDA shared memory'),
    CudaSharedMemoryRegister: unimplemented('CUDA shared memory'),
    CudaSharedMemoryUnregister: unimplemented('CUDA shared memory'),
    // Server-wide sampling of OpenTelemetry traces (tracing-settings.ts); FAILED_PRECONDITION without tracing.
    TraceSetting(call, callback) {
      answer(callback, logger, () => traceSetting(options.tracing, call.request, startRatio));
    },
    LogSettings: unimplemented('log settings'),
  };
}
