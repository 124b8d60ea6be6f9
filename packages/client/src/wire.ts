/** SDK requests and results ⇄ modelserve.v1 messages (raw contents both ways). */
import { status } from '@grpc/grpc-js';
import {
  dataTypeInfo,
  decodeRawTensorData,
  decodeTensor,
  encodeTensor,
  isDataType,
  TensorCodecError,
  type ListModelsResponse__Output,
  type ModelMetadata__Output,
  type ParsedPredictResponse,
  type PredictResponse__Output,
  type RawPredictRequest,
  type TensorSpec__Output,
} from '@modelserve/proto';
import { ModelServeError } from './errors.js';
import { fromDecodedTensor, naturalRawTensor, toDecodedTensor, type Tensor, type TensorInputs } from './tensors.js';
import type { ModelInfo, ModelMetadata, PredictResult, TensorSpec } from './types.js';

/** What a request carries besides its inputs. */
export interface RequestFields {
  version?: string | number | undefined;
  outputs?: readonly string[] | undefined;
  id?: string | undefined;
  priority?: number | undefined;
}

const noOutputs: string[] = [];

const OUTPUT_FORMAT_RAW = 2;

/** A PredictRequest with raw inputs that asks for raw outputs (serializePredictRequest writes it). */
export function encodePredictRequest(model: string, inputs: TensorInputs, fields: RequestFields): RawPredictRequest {
  const tensors: RawPredictRequest['inputs'][number][] = [];
  for (const name in inputs) {
    const input = inputs[name]!;
    tensors.push(naturalRawTensor(name, input) ?? encodeTensor(toDecodedTensor(name, input), 'raw'));
  }
  return {
    model_name: model,
    model_version: fields.version === undefined ? '' : String(fields.version),
    id: fields.id ?? '',
    inputs: tensors,
    outputs: fields.outputs ?? noOutputs,
    output_format: OUTPUT_FORMAT_RAW,
    priority: fields.priority ?? 0,
  };
}

/** A PredictResult from a response; a response the SDK cannot decode is INTERNAL. */
export function decodePredictResponse(response: ParsedPredictResponse | PredictResponse__Output, endpoint: string): PredictResult {
  const outputs: Record<string, Tensor> = {};
  try {
    for (const t of response.outputs) {
      outputs[t.name] = numericRawOutput(t) ?? fromDecodedTensor(decodeTensor(t, t.raw_contents.length > 0 ? t.raw_contents : null, `output '${t.name}'`));
    }
  } catch (error) {
    if (error instanceof TensorCodecError) throw new ModelServeError(status.INTERNAL, `undecodable response: ${error.message}`, { endpoint });
    throw error;
  }
  return { model: response.model_name, version: response.model_version, id: response.id, outputs, endpoint };
}

/**
 * The common output, decoded without the general codec's checks: a numeric datatype other than BOOL,
 * a shape of numbers (as parsePredictResponse gives) and raw contents of exactly the right length.
 * Anything else is undefined, for decodeTensor to decode or explain.
 */
function numericRawOutput(t: { datatype: string; shape: readonly (number | string)[]; raw_contents: Uint8Array }): Tensor | undefined {
  if (!isDataType(t.datatype) || t.datatype === 'BOOL' || t.datatype === 'BYTES') return undefined;
  let count = 1;
  for (const d of t.shape) {
    if (typeof d !== 'number' || !Number.isInteger(d) || d < 0) return undefined;
    count *= d;
  }
  if (t.raw_contents.byteLength !== count * dataTypeInfo[t.datatype].size) return undefined;
  return { datatype: t.datatype, shape: t.shape as number[], data: decodeRawTensorData(t.datatype, t.shape as number[], count, t.raw_contents, '') } as Tensor;
}

/** ListModels as ModelInfo. */
export function toModelInfos(response: ListModelsResponse__Output): ModelInfo[] {
  return response.models.map((m) => ({
    name: m.name,
    defaultVersion: m.default_version === '' ? undefined : m.default_version,
    versions: m.versions.map((v) => ({ version: v.version, state: String(v.state).replace(/^VERSION_STATE_/, ''), reason: v.reason })),
  }));
}

function toSpec(spec: TensorSpec__Output): TensorSpec {
  const datatype = isDataType(spec.datatype) ? spec.datatype : 'BYTES';
  const shape = spec.shape.map(Number);
  return { name: spec.name, datatype, shape };
}

/** GetModelMetadata as ModelMetadata. */
export function toModelMetadata(m: ModelMetadata__Output): ModelMetadata {
  return { name: m.name, version: m.version, platform: m.platform, maxBatchSize: m.max_batch_size, inputs: m.inputs.map(toSpec), outputs: m.outputs.map(toSpec) };
}
