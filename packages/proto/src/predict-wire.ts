/**
 * modelserve.v1 PredictRequest and PredictResponse straight to and from bytes, for tensors with raw
 * contents: the hot path of the client and of the server's Predict. proto-loader's (de)serializers go through protobufjs's
 * fromObject/toObject, which build message instances and fill defaults on every call; on a small
 * model that costs a client more CPU than choosing a replica does (`pnpm bench --sdk`). These
 * write and read the same proto3 wire format directly. What they do not cover is left to
 * proto-loader: the serializers answer undefined for a message with typed contents and the parsers
 * for one with typed contents (or a value proto-loader would render differently), so the caller
 * falls back to proto-loader for those. Writing is in predict-wire-write.ts, reading in
 * predict-wire-read.ts; predict-wire.test.ts checks both against proto-loader and protobufjs.
 */

export {
  serializePredictRequest,
  serializePredictResponse,
  serializePredictStreamResponse,
  type PredictResponseLike,
  type PredictStreamResponseLike,
  type RawPredictRequest,
  type RawTensor,
} from './predict-wire-write.js';
export {
  parsePredictRequest,
  parsePredictResponse,
  WireFormatError,
  type ParsedPredictRequest,
  type ParsedPredictResponse,
  type ParsedRawTensor,
} from './predict-wire-read.js';
