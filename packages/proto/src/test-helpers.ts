// Shared by the tests: real protobuf serialization with the server's loader options.
import { loadPackageDefinition } from './load.js';
import type { PredictorDefinition } from './messages.js';
import type { EncodedTensor } from './tensor-codec.js';
import type { Tensor__Output } from './generated/modelserve/v1/Tensor.js';

/** Serializes a PredictRequest holding `tensors` and parses it back, as the server would receive it. */
export function overTheWire(tensors: EncodedTensor[]): Tensor__Output[] {
  // The service definition grpc-js would hang on its Predictor client as `service`.
  const { Predict } = loadPackageDefinition()['modelserve.v1.Predictor'] as unknown as PredictorDefinition;
  const bytes = Predict.requestSerialize({ model_name: 'm', inputs: tensors });
  return Predict.requestDeserialize(bytes).inputs;
}

/** The bytes behind a typed array, for exact comparisons (NaN payloads, -0). */
export function bytesOf(a: ArrayBufferView): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}
