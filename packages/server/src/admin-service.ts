import type { ServerUnaryCall } from '@grpc/grpc-js';
import { invalidArgument, ModelServeError, parseVersion, type Distribution, type EffectiveRouting, type Logger, type ModelMetadata, type ModelRegistry, type ModelStatus, type Routing, type TensorSpec, type VersionStatistics } from '@modelserve/core';
import type {
  EffectiveRouting as WireEffectiveRouting,
  Routing as WireRouting,
  Routing__Output as WireRouting__Output,
  SetRoutingRequest__Output,
  ModelAdminHandlers,
  ModelMetadata as WireModelMetadata,
  ModelStatus as WireModelStatus,
  TensorSpec as WireTensorSpec,
  VersionStatistics as WireVersionStatistics,
  DriftTensor as WireDriftTensor,
  VersionDrift as WireVersionDrift,
} from '@modelserve/proto';
import type { DriftObserver, TensorDrift, VersionDrift } from '@modelserve/telemetry';
import type { ServerStatsRecorder } from './server-stats.js';
import type { ServerHealth } from './health.js';
import { answer } from './status.js';

/** A core model status on the wire. */
export function toWireStatus(status: ModelStatus): WireModelStatus {
  return {
    name: status.name,
    default_version: status.defaultVersion === undefined ? '' : String(status.defaultVersion),
    versions: status.versions.map((v) => ({ version: String(v.version), state: `VERSION_STATE_${v.state}`, reason: v.reason })),
    routing: toWireEffectiveRouting(status.routing),
  };
}

/** Where requests naming no version go now, on the wire: versions as strings, "" for no shadow. */
export function toWireEffectiveRouting(effective: EffectiveRouting): WireEffectiveRouting {
  return {
    shares: effective.shares.map((s) => ({ version: String(s.version), percent: s.percent })),
    shadow_version: effective.shadowVersion === undefined ? '' : String(effective.shadowVersion),
    notes: effective.notes,
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
    comparisons: s.comparisons.map((c) => ({
      against: String(c.against),
      requests: c.requests,
      argmax_agreement: c.argmaxAgreement ?? -1,
      mean_abs_diff: c.meanAbsDiff ?? -1,
    })),
    cache_hits: s.cache?.hits ?? 0,
    cache_misses: s.cache?.misses ?? 0,
    cache_coalesced: s.cache?.coalesced ?? 0,
    cache_evictions: s.cache?.evictions ?? 0,
    cache_entries: s.cache?.entries ?? 0,
    cache_bytes: s.cache?.bytes ?? 0,
  };
}

/** A core routing on the wire: versions as strings, "" for none. */
export function toWireRouting(routing: Routing): WireRouting {
  return {
    default_version: routing.defaultVersion === undefined ? '' : String(routing.defaultVersion),
    split: routing.split.map((s) => ({ version: String(s.version), weight: s.weight })),
    shadow_version: routing.shadowVersion === undefined ? '' : String(routing.shadowVersion),
  };
}

/** A wire routing as core's; `InvalidArgument` for a version that is not a number. */
export function fromWireRouting(model: string, routing: WireRouting__Output | null): Routing {
  const version = (v: string, what: string): number | undefined => {
    if (v === '') return undefined;
    const n = parseVersion(model, v);
    if (n === undefined) throw invalidArgument(`model '${model}': ${what} is empty`);
    return n;
  };
  return {
    defaultVersion: version(routing?.default_version ?? '', 'default version'),
    split: (routing?.split ?? []).map((s) => ({ version: version(s.version, 'a split version')!, weight: s.weight })),
    shadowVersion: version(routing?.shadow_version ?? '', 'shadow version'),
  };
}

/** Tensors' drift on the wire. */
function toWireTensors(tensors: readonly TensorDrift[]): WireDriftTensor[] {
  return tensors.map((t) => ({
    name: t.name,
    kind: t.kind,
    max_psi: t.maxPsi,
    level: t.level,
    features: t.features.map((f) => ({ name: f.name, psi: f.psi, js_distance: f.js, ks: f.ks, level: f.level })),
  }));
}

/** A version's drift on the wire. */
export function toWireDrift(d: VersionDrift): WireVersionDrift {
  return {
    name: d.model,
    version: String(d.version),
    state: d.state,
    level: d.level,
    reference_source: d.referenceSource,
    reference_samples: d.referenceSamples,
    window_samples: d.windowSamples,
    window_start_ms: d.window?.start ?? 0,
    window_end_ms: d.window?.end ?? 0,
    tensors: toWireTensors(d.tensors),
    against_version: '',
  };
}

/** GetDrift: every watched version, one model or version, or one version's traffic against another's. */
function getDrift(drift: DriftObserver, request: { name: string; version: string; against_version: string }): { versions: WireVersionDrift[] } {
  const { name, version, against_version: againstVersion } = request;
  const v = name === '' ? undefined : parseVersion(name, version);
  if (againstVersion === '') return { versions: drift.report(name, v).map(toWireDrift) };
  if (name === '' || v === undefined) throw invalidArgument(`against_version needs a name and a version to compare with it, got name '${name}' version '${version}'`);
  const against = parseVersion(name, againstVersion)!;
  const tensors = drift.compare(name, against, v);
  const worst = tensors.some((t) => t.level === 'alert') ? 'alert' : tensors.some((t) => t.level === 'warn') ? 'warn' : 'ok';
  const base = toWireDrift({ model: name, version: v, referenceSource: `version ${against}'s current window`, state: worst, level: worst, referenceSamples: 0, windowSamples: 0, window: undefined, tensors: [] });
  return { versions: [{ ...base, tensors: toWireTensors(tensors), against_version: String(against) }] };
}

type Call<Req> = ServerUnaryCall<Req, unknown>;

/** `modelserve.v1.ModelAdmin` over a model registry. */
export function adminService(
  registry: ModelRegistry,
  serverStats: ServerStatsRecorder,
  health: ServerHealth,
  logger: Logger,
  drain: (graceMs: number | undefined) => void = () => undefined,
  drift?: DriftObserver,
): ModelAdminHandlers {
  return {
    GetDrift(call: Call<{ name: string; version: string; against_version: string }>, callback) {
      answer(callback, logger, () => {
        if (drift === undefined) throw new ModelServeError('FailedPrecondition', 'this server monitors no drift');
        return getDrift(drift, call.request);
      });
    },
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
    GetRouting(call: Call<{ name: string }>, callback) {
      answer(callback, logger, () => {
        const { routing, depth, effective } = registry.routing(call.request.name);
        return { routing: toWireRouting(routing), history: depth, effective: toWireEffectiveRouting(effective) };
      });
    },
    SetRouting(call: Call<SetRoutingRequest__Output>, callback) {
      answer(callback, logger, () => {
        const { name } = call.request;
        const routing = registry.setRouting(name, fromWireRouting(name, call.request.routing));
        const { depth, effective } = registry.routing(name);
        return { routing: toWireRouting(routing), history: depth, effective: toWireEffectiveRouting(effective) };
      });
    },
    RollbackRouting(call: Call<{ name: string }>, callback) {
      answer(callback, logger, () => {
        const { name } = call.request;
        const routing = registry.rollbackRouting(name);
        const { depth, effective } = registry.routing(name);
        return { routing: toWireRouting(routing), history: depth, effective: toWireEffectiveRouting(effective) };
      });
    },
    ReloadRepository(_call: Call<unknown>, callback) {
      answer(callback, logger, async () => ({ models: (await registry.reload()).map(toWireStatus) }));
    },
    Drain(call: Call<{ grace_ms: number }>, callback) {
      logger.info({ grace_ms: call.request.grace_ms }, 'drain requested');
      callback(null, {});
      // After the answer is on its way: the drain waits for accepted calls, this one included.
      setImmediate(() => drain(call.request.grace_ms > 0 ? call.request.grace_ms : undefined));
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
