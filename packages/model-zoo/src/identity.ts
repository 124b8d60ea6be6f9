import { buildModel, node, valueInfo, type Dim } from './builder.js';
import type { OnnxElementType } from './element-types.js';

/** Input/output tensor names for `identity()`; default `input` and `output`. */
export interface IdentityNames {
  input?: string;
  output?: string;
}

/** A one-node Identity model; `shape: 'unranked'` declares tensors with no shape (any rank). */
export function identity(
  datatype: OnnxElementType,
  shape: Dim[] | 'unranked',
  names: IdentityNames = {},
): Uint8Array {
  const input = names.input ?? 'input';
  const output = names.output ?? 'output';
  return buildModel({
    name: `identity_${datatype}`,
    inputs: [valueInfo(input, datatype, shape)],
    outputs: [valueInfo(output, datatype, shape)],
    nodes: [node('Identity', [input], [output])],
  });
}

/**
 * Identity over bfloat16 tensors with shape ['n']. onnxruntime-node 1.30 rejects it at
 * InferenceSession.create with "Unsupported data type: 16": its JS binding has no bfloat16
 * tensor type for graph inputs/outputs (bf16 used only inside a graph loads fine).
 */
export function bf16Identity(): Uint8Array {
  return identity('bfloat16', ['n']);
}
