import type { sendUnaryData, ServerUnaryCall } from '@grpc/grpc-js';
import type { Distribution, Logger, ModelMetadata, ModelRegistry, ModelStatus, TensorSpec, VersionStatistics } from '@modelserve/core';
import type {
  ModelAdminHandlers,
  ModelMetadata as WireModelMetadata,
  ModelStatus as WireModelStatus,
  TensorSpec as WireTensorSpec,
  VersionStatistics as WireVersionStatistics,
} from '@modelserve/proto';
import type { ServerStatsRecorder } from './server-stats.js';
import type { ServerHealth } from './health.js';
import { serviceErrorOf } from './status.js';

/** A core model status on the wire. */
export function toWireStatus(status: ModelStatus): WireModelStatus {
  return {
    name: status.name,
    default_version: status.defaultVersion === undefined ? '' : String(status.defaultVersion),
    versions: status.versions.map((v) => ({ version: String(v.version), state: `VERSION_STATE_${v.state}`, reason: v.reason })),
  };
}

function toWireSpec(spec: TensorSpec): WireTensorSpec {
  // A model that leaves the rank open is shown as one variable dimension, as Triton does.
  return { name: spec.name, datatype: spec.datatype, shape: (spec.shape ?? [-1]).map(String) };
}

/** A core model metadata on the wire. */
export function toWireMetadata(metadata: ModelMetadata): WireModelMetadata {
  return {
    name: metadata.name,
    version: String(metadata.version),
    platform: metadata.platform,
    inputs: metadata.inputs.map(toWireSpec),
    outputs: metadata.outputs.map(toWireSpec),
    max_batch_size: metadata.maxBatchSize,
    status: toWireStatus(metadata.status),
  };
}

/** Version statistics on the wire. */
export function toWireStatistics(s: VersionStatistics): WireVersionStatistics {
  const distribution = (d: Distribution) => ({ ...d });
  return {
    name: s.name,
    version: String(s.version),
    request_count: s.requestCount,
    failure_count: s.failureCount,
    batch_count: s.batchCount,
    inference_count: s.inferenceCount,
    batch_sizes: s.batchSizes.map((b) => ({ batch_size: b.batchSize, count: b.count })),
    queue_us: distribution(s.queueUs),
    compute_us: distribution(s.computeUs),
  };
}

/** Runs a handler body and answers its result or its error. */
function answer<T>(callback: sendUnaryData<T>, logger: Logger, body: () => T | Promise<T>): void {
  Promise.resolve()
    .then(body)
    .then(
      (value) => callback(null, value),
      (error: unknown) => callback(serviceErrorOf(error, logger)),
    );
}

type Call<Req> = ServerUnaryCall<Req, unknown>;

/** `modelserve.v1.ModelAdmin` over a model registry. */
export function adminService(registry: ModelRegistry, serverStats: ServerStatsRecorder, health: ServerHealth, logger: Logger): ModelAdminHandlers {
  return {
    ListModels(_call: Call<unknown>, callback) {
      answer(callback, logger, () => ({ models: registry.list().map(toWireStatus) }));
    },
    GetModelMetadata(call: Call<{ name: string; version: string }>, callback) {
      answer(callback, logger, () => toWireMetadata(registry.metadata(call.request.name, call.request.version)));
    },
    LoadModel(call: Call<{ name: string; version: string }>, callback) {
      answer(callback, logger, async () => ({ status: toWireStatus(await registry.load(call.request.name, call.request.version)) }));
    },
    UnloadModel(call: Call<{ name: string; version: string }>, callback) {
      answer(callback, logger, async () => ({ status: toWireStatus(await registry.unload(call.request.name, call.request.version)) }));
    },
    GetModelStatistics(call: Call<{ name: string; version: string }>, callback) {
      answer(callback, logger, () => ({ versions: registry.statistics(call.request.name, call.request.version).map(toWireStatistics) }));
    },
    GetServerStats(call: Call<{ reset: boolean }>, callback) {
      answer(callback, logger, () => serverStats.read(call.request.reset));
    },
    SetServingStatus(call: Call<{ serving: boolean }>, callback) {
      answer(callback, logger, () => {
        health.setServing(call.request.serving);
        logger.info({ serving: health.serving }, 'serving status set');
        return { serving: health.serving };
      });
    },
  };
}
