import { buildModel, node, valueInfo } from './builder.js';
import { ELEMENT_TYPES, type OnnxElementType } from './element-types.js';

/** Element types `datatypes()` covers: all of ELEMENT_TYPES except bfloat16 (onnxruntime-node cannot load bf16 graph I/O). */
export const DATATYPES_MODEL_TYPES: readonly OnnxElementType[] = ELEMENT_TYPES.filter((t) => t !== 'bfloat16');

/** One model with an Identity per element type: input `in_<type>` ['n'] -> output `out_<type>` ['n']. */
export function datatypes(): Uint8Array {
  return buildModel({
    name: 'datatypes',
    inputs: DATATYPES_MODEL_TYPES.map((t) => valueInfo(`in_${t}`, t, ['n'])),
    outputs: DATATYPES_MODEL_TYPES.map((t) => valueInfo(`out_${t}`, t, ['n'])),
    nodes: DATATYPES_MODEL_TYPES.map((t) => node('Identity', [`in_${t}`], [`out_${t}`])),
  });
}
