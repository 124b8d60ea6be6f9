// Shared by the tests: real protobuf serialization with the server's loader options.
import { loadGrpcObject } from './load.js';
import type { EncodedTensor } from './tensor-codec.js';
import type { Tensor__Output } from './generated/modelserve/v1/Tensor.js';

/** Serializes a PredictRequest holding `tensors` and parses it back, as the server would receive it. */
export function overTheWire(tensors: EncodedTensor[]): Tensor__Output[] {
  const { Predict } = loadGrpcObject().modelserve.v1.Predictor.service;
  const bytes = Predict.requestSerialize({ model_name: 'm', inputs: tensors });
  return Predict.requestDeserialize(bytes).inputs;
}

/** The bytes behind a typed array, for exact comparisons (NaN payloads, -0). */
export function bytesOf(a: ArrayBufferView): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}
