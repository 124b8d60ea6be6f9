// onnx-proto is a CommonJS bundle that assigns `module.exports = $root`, so Node's
// ESM loader cannot see `onnx` as a named export; take it off the default export.
import onnxProto from 'onnx-proto';
import type { onnx as OnnxTypes } from 'onnx-proto';

/** The protobufjs-generated ONNX message classes (runtime values). */
export const onnx = onnxProto.onnx;

export type IModelProto = OnnxTypes.IModelProto;
export type IGraphProto = OnnxTypes.IGraphProto;
export type INodeProto = OnnxTypes.INodeProto;
export type ITensorProto = OnnxTypes.ITensorProto;
export type IValueInfoProto = OnnxTypes.IValueInfoProto;
export type IAttributeProto = OnnxTypes.IAttributeProto;
export type ITensorTypeProto = OnnxTypes.TypeProto.ITensor;
