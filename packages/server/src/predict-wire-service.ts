/**
 * The Predictor service with its hot messages in `@modelserve/proto`'s predict-wire: Predict and
 * PredictStream requests, and Predict and PredictStream responses, with raw tensors are read and written straight
 * from and to bytes instead of through protobufjs's object conversion (several µs of the event
 * loop per call). Messages with typed contents still go through proto-loader.
 */
import type { MethodDefinition, ServiceDefinition } from '@grpc/grpc-js';
import {
  parsePredictRequest,
  serializePredictResponse,
  serializePredictStreamResponse,
  type PredictResponseLike,
  type PredictStreamResponseLike,
} from '@modelserve/proto';

type AnyMethod = MethodDefinition<unknown, unknown>;

/** `service` (modelserve.v1.Predictor) with predict-wire (de)serializers where they apply. */
export function predictWireService<S extends ServiceDefinition>(service: S): S {
  const predict = service['Predict'] as AnyMethod;
  const stream = service['PredictStream'] as AnyMethod;
  const parse = (method: AnyMethod) => (bytes: Buffer) => parsePredictRequest(bytes) ?? method.requestDeserialize(bytes);
  return {
    ...service,
    Predict: {
      ...predict,
      requestDeserialize: parse(predict),
      responseSerialize: (response: unknown) => serializePredictResponse(response as PredictResponseLike) ?? predict.responseSerialize(response),
    },
    PredictStream: {
      ...stream,
      requestDeserialize: parse(stream),
      responseSerialize: (message: unknown) => serializePredictStreamResponse(message as PredictStreamResponseLike) ?? stream.responseSerialize(message),
    },
  };
}
