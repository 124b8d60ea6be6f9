/**
 * Open Inference Protocol (KServe v2 / Triton `inference`) messages ⇄ core requests, responses,
 * metadata, configuration and statistics. The tensor codec does the tensors.
 */
import {
  invalidArgument,
  selectVersions,
  versionPolicy,
  type DataType,
  type InferenceRequest,
  type InferenceResponse,
  type ModelConfig,
  type ModelMetadata,
  type ModelStatus,
  type NamedTensor,
  type TensorSpec,
  type VersionState,
  type VersionStatistics,
} from '@modelserve/core';
import { decodeTensor, encodeRawTensorData, type oip } from '@modelserve/proto';
import type { CallContext } from './inference-calls.js';

type InferParameters = oip.ModelInferRequest__Output['parameters'];
type InferParameterValue = oip.InferParameter__Output;

/** Reads an integer request parameter (int64 or uint64); undefined when absent. */
function integerParameter(parameters: InferParameters, name: string, model: string): number | undefined {
  const value: InferParameterValue | undefined = parameters[name];
  if (value === undefined) return undefined;
  const choice = value.parameter_choice;
  if (choice !== 'int64_param' && choice !== 'uint64_param') {
    throw invalidArgument(`model '${model}': parameter '${name}' must be an int64_param or uint64_param, got ${choice ?? 'no value'}`);
  }
  const n = Number(value[choice]);
  if (!Number.isSafeInteger(n) || n < 0) {
    throw invalidArgument(`model '${model}': parameter '${name}' must be a non-negative integer, got ${value[choice]}`);
  }
  return n;
}

/**
 * A core request from a ModelInferRequest. Raw contents, when used, come one per input in the
 * order of `inputs`; typed contents are accepted too. Parameters modelserve reads: `priority`
 * (1 the highest, 0 the model's default) and `timeout` (microseconds the request may wait in the
 * queue), as Triton's schedule_policy extension; any other parameter is ignored.
 */
export function fromModelInferRequest(request: oip.ModelInferRequest__Output, context: CallContext): InferenceRequest {
  const model = request.model_name;
  const raw = request.raw_input_contents;
  if (raw.length > 0 && raw.length !== request.inputs.length) {
    throw invalidArgument(
      `model '${model}': raw_input_contents has ${raw.length} entries, expected ${request.inputs.length} (one per input, in the order of inputs)`,
    );
  }
  const inputs: NamedTensor[] = request.inputs.map((input, i) =>
    decodeTensor(input, raw.length > 0 ? raw[i]! : null, `model '${model}' input '${input.name}'`),
  );
  return {
    model,
    version: request.model_version,
    id: request.id,
    inputs,
    outputs: request.outputs.map((o) => o.name),
    priority: integerParameter(request.parameters, 'priority', model),
    timeoutUs: integerParameter(request.parameters, 'timeout', model),
    deadline: context.deadline,
    signal: context.signal,
    routingKey: context.routingKey,
  };
}

/** A ModelInferResponse from a core response: outputs in raw form, as Triton answers over gRPC. */
export function toModelInferResponse(response: InferenceResponse): oip.ModelInferResponse {
  return {
    model_name: response.model,
    model_version: String(response.version),
    id: response.id,
    outputs: response.outputs.map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape.map(String) })),
    raw_output_contents: response.outputs.map(encodeRawTensorData),
    // Triton's clients read response parameters as they come; "cached" says the outputs came from the response cache.
    ...(response.cached === true ? { parameters: { cached: { bool_param: true } } } : {}),
  };
}

/** The OIP spelling of a spec's shape: -1 where variable, `[-1]` for a model that leaves the rank open. */
function wireShape(spec: TensorSpec): string[] {
  return (spec.shape ?? [-1]).map(String);
}

/** ModelMetadataResponse: the ready versions, and the inputs and outputs of the version asked for. */
export function toModelMetadataResponse(metadata: ModelMetadata): oip.ModelMetadataResponse {
  const tensor = (spec: TensorSpec) => ({ name: spec.name, datatype: spec.datatype, shape: wireShape(spec) });
  return {
    name: metadata.name,
    versions: metadata.status.versions.filter((v) => v.state === 'READY').map((v) => String(v.version)),
    platform: metadata.platform,
    inputs: metadata.inputs.map(tensor),
    outputs: metadata.outputs.map(tensor),
  };
}

/** Triton's model-config datatype names. */
const configDataType: Readonly<Record<DataType, oip.DataType>> = {
  BOOL: 'TYPE_BOOL',
  UINT8: 'TYPE_UINT8',
  UINT16: 'TYPE_UINT16',
  UINT32: 'TYPE_UINT32',
  UINT64: 'TYPE_UINT64',
  INT8: 'TYPE_INT8',
  INT16: 'TYPE_INT16',
  INT32: 'TYPE_INT32',
  INT64: 'TYPE_INT64',
  FP16: 'TYPE_FP16',
  FP32: 'TYPE_FP32',
  FP64: 'TYPE_FP64',
  BYTES: 'TYPE_STRING',
  BF16: 'TYPE_BF16',
};

/**
 * A Triton ModelConfig for a model: its config.yaml in Triton's terms, with the inputs and
 * outputs of `metadata` (a ready version) when there is one. As in Triton, a batched model's
 * `dims` leave out the batch dimension.
 */
export function toModelConfig(name: string, config: ModelConfig, metadata: ModelMetadata | undefined): oip.ModelConfig {
  const batched = config.max_batch_size > 0;
  const dims = (spec: TensorSpec): string[] => {
    const shape = wireShape(spec);
    return batched && spec.shape !== null ? shape.slice(1) : shape;
  };
  const policy = versionPolicy(config);
  const batching = config.dynamic_batching;
  return {
    name,
    platform: 'onnxruntime_onnx',
    backend: 'onnxruntime',
    version_policy:
      policy.kind === 'all'
        ? { all: {} }
        : policy.kind === 'latest'
          ? { latest: { num_versions: policy.count } }
          : { specific: { versions: policy.versions.map(String) } },
    max_batch_size: config.max_batch_size,
    input: (metadata?.inputs ?? []).map((spec) => ({ name: spec.name, data_type: configDataType[spec.datatype], dims: dims(spec) })),
    output: (metadata?.outputs ?? []).map((spec) => ({ name: spec.name, data_type: configDataType[spec.datatype], dims: dims(spec) })),
    instance_group: [{ name: name, kind: 'KIND_CPU', count: config.instances.count }],
    default_model_filename: 'model.onnx',
    ...(batching === undefined
      ? {}
      : {
          dynamic_batching: {
            preferred_batch_size: batching.preferred_batch_sizes,
            max_queue_delay_microseconds: String(batching.max_queue_delay_us),
            priority_levels: String(batching.priority_levels),
            default_priority_level: String(batching.default_priority_level),
            default_queue_policy: {
              timeout_action: 'REJECT',
              default_timeout_microseconds: String(batching.default_queue_timeout_us),
              allow_timeout_override: true,
              max_queue_size: batching.max_queue_size,
            },
          },
        }),
  };
}

/** Nanoseconds as a uint64 string from microseconds. */
const ns = (us: number): string => String(Math.round(us * 1000));

/**
 * Triton's ModelStatistics from a version's statistics. modelserve times a whole run as
 * compute_infer; compute_input and compute_output carry the same counts with 0 ns, so tools that
 * divide by their counts keep working.
 */
export function toModelStatistics(s: VersionStatistics): oip.ModelStatistics {
  const duration = (count: number, us: number) => ({ count: String(count), ns: ns(us) });
  return {
    name: s.name,
    version: String(s.version),
    last_inference: String(s.lastInferenceMs),
    inference_count: String(s.inferenceCount),
    execution_count: String(s.batchCount),
    inference_stats: {
      success: duration(s.requestCount, s.successTotalUs),
      fail: duration(s.failureCount, s.failureTotalUs),
      queue: duration(s.queueUs.count, s.queueTotalUs),
      compute_input: duration(s.requestCount, 0),
      compute_infer: duration(s.requestCount, s.computeTotalUs),
      compute_output: duration(s.requestCount, 0),
      cache_hit: duration(s.cache?.hits ?? 0, (s.cache?.hitNs ?? 0) / 1000),
      cache_miss: duration(s.cache?.misses ?? 0, (s.cache?.missNs ?? 0) / 1000),
    },
    batch_stats: s.batchSizes.map((b) => ({
      batch_size: String(b.batchSize),
      compute_input: duration(b.count, 0),
      compute_infer: duration(b.count, b.computeTotalUs),
      compute_output: duration(b.count, 0),
    })),
  };
}

/** Triton's repository states: READY, LOADING, UNLOADING, UNAVAILABLE (failed or not loaded). */
const indexState: Readonly<Record<VersionState, string>> = {
  READY: 'READY',
  LOADING: 'LOADING',
  UNLOADING: 'UNLOADING',
  UNAVAILABLE: 'UNAVAILABLE',
  FAILED: 'UNAVAILABLE',
};

/** RepositoryIndex entries: one per version on record; a model without any is one UNAVAILABLE entry. */
export function toModelIndex(status: ModelStatus, readyOnly: boolean): NonNullable<oip.RepositoryIndexResponse['models']> {
  if (status.versions.length === 0) {
    return readyOnly ? [] : [{ name: status.name, version: '', state: 'UNAVAILABLE', reason: 'no version on disk' }];
  }
  return status.versions
    .filter((v) => !readyOnly || v.state === 'READY')
    .map((v) => ({ name: status.name, version: String(v.version), state: indexState[v.state], reason: v.reason }));
}

/** Why a load left a model without a ready version, for the error of RepositoryModelLoad; undefined when it serves. */
export function loadFailure(status: ModelStatus, config: ModelConfig): string | undefined {
  if (status.defaultVersion !== undefined && status.versions.some((v) => v.version === status.defaultVersion && v.state === 'READY')) return undefined;
  const onDisk = status.versions.map((v) => v.version);
  const selected = selectVersions(versionPolicy(config), onDisk);
  const reasons = status.versions
    .filter((v) => selected.includes(v.version) && v.state !== 'READY')
    .map((v) => `version ${v.version} ${v.state}${v.reason === '' ? '' : `: ${v.reason}`}`);
  return reasons.length > 0 ? reasons.join('; ') : `no version of '${status.name}' is ready (versions on disk: ${onDisk.join(', ') || 'none'})`;
}
