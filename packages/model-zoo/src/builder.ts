import { dataTypeOf, type OnnxElementType } from './element-types.js';
import {
  onnx,
  type IAttributeProto,
  type ITensorTypeProto,
  type INodeProto,
  type ITensorProto,
  type IValueInfoProto,
} from './onnx.js';

/** A dimension: a fixed size, or a name that becomes a symbolic `dim_param`. */
export type Dim = number | string;

/** IR version 8 / opset 17: well inside what onnxruntime-node 1.30 loads (IR 8-10, opset 13-21). */
export const IR_VERSION = 8;
/** Default-domain opset every generated model imports. */
export const OPSET_VERSION = 17;

/** Declares a graph input or output; 'unranked' leaves the shape out entirely (any rank). */
export function valueInfo(
  name: string,
  type: OnnxElementType,
  shape: readonly Dim[] | 'unranked',
): IValueInfoProto {
  const tensorType: ITensorTypeProto = { elemType: dataTypeOf(type) };
  if (shape !== 'unranked') {
    tensorType.shape = {
      dim: shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })),
    };
  }
  return { name, type: { tensorType } };
}

/**
 * An FP32 initializer stored as raw_data. Bytes are written through a DataView so the
 * encoding is explicitly little-endian (what ONNX requires) regardless of host order.
 */
export function floatTensor(name: string, dims: readonly number[], values: Float32Array): ITensorProto {
  const expected = dims.reduce((a, b) => a * b, 1);
  if (values.length !== expected) {
    throw new Error(`initializer ${name}: ${values.length} values for dims [${dims.join(', ')}]`);
  }
  const raw = new Uint8Array(values.length * 4);
  const view = new DataView(raw.buffer);
  values.forEach((v, i) => view.setFloat32(i * 4, v, true));
  return { name, dims: [...dims], dataType: onnx.TensorProto.DataType.FLOAT, rawData: raw };
}

/** An INT64 initializer stored as int64_data, for bespoke models (e.g. a Reshape target shape). */
export function int64Tensor(name: string, dims: readonly number[], values: readonly number[]): ITensorProto {
  return { name, dims: [...dims], dataType: onnx.TensorProto.DataType.INT64, int64Data: [...values] };
}

const AttributeType = onnx.AttributeProto.AttributeType;

/** Node attribute constructors; ONNX needs the attribute type spelled out. */
export const attr = {
  int: (name: string, i: number): IAttributeProto => ({ name, type: AttributeType.INT, i }),
  ints: (name: string, ints: readonly number[]): IAttributeProto => ({ name, type: AttributeType.INTS, ints: [...ints] }),
  float: (name: string, f: number): IAttributeProto => ({ name, type: AttributeType.FLOAT, f }),
};

/** One operator node in the default domain. */
export function node(
  opType: string,
  inputs: readonly string[],
  outputs: readonly string[],
  attributes: readonly IAttributeProto[] = [],
  name = `${opType}_${outputs[0] ?? ''}`,
): INodeProto {
  return { opType, name, input: [...inputs], output: [...outputs], attribute: [...attributes] };
}

/** Everything needed to serialize a single-graph model. */
export interface GraphSpec {
  name: string;
  inputs: readonly IValueInfoProto[];
  outputs: readonly IValueInfoProto[];
  nodes: readonly INodeProto[];
  initializers?: readonly ITensorProto[];
  docString?: string;
}

/**
 * Serializes a model. protobufjs writes fields in schema order and we never put
 * timestamps or maps in the model, so equal specs always give equal bytes.
 */
export function buildModel(spec: GraphSpec): Uint8Array {
  const model = onnx.ModelProto.create({
    irVersion: IR_VERSION,
    opsetImport: [{ domain: '', version: OPSET_VERSION }],
    producerName: '@modelserve/model-zoo',
    producerVersion: '0.1.0',
    graph: {
      name: spec.name,
      node: [...spec.nodes],
      input: [...spec.inputs],
      output: [...spec.outputs],
      initializer: [...(spec.initializers ?? [])],
      docString: spec.docString ?? '',
    },
  });
  // Under Node protobufjs returns a Buffer that may view a shared pool; copy into a plain
  // Uint8Array so callers get an exact, independently owned byte array.
  return new Uint8Array(onnx.ModelProto.encode(model).finish());
}
