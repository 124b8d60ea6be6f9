/**
 * @modelserve/proto: modelserve's .proto files loaded for grpc-js, their generated types, and the
 * codec between wire tensors and decoded tensors. grpc-js is a peer dependency used for types only:
 * the caller's grpc-js makes the runtime objects.
 */

// Loading
/** Absolute path of the proto/ directory (the package's own copy when built); the include root for every .proto file. */
export { protoRoot } from './load.js';
/** The .proto files the server loads, relative to protoRoot. */
export { protoFiles } from './load.js';
/** The proto-loader options the server and the generated types agree on. */
export { loaderOptions } from './load.js';
/** proto-loader's package definition of protoFiles (plus extra files), cached. */
export { loadPackageDefinition } from './load.js';
/** The typed grpc object with every service (Predictor, ModelAdmin, Jobs, Cluster, GRPCInferenceService), made by the caller's grpc-js; cached. */
export { loadGrpcObject } from './load.js';
/** The type of loadGrpcObject's result, and of the grpc-js function it takes. */
export type { GrpcPackageLoader, ProtoGrpcType } from './load.js';

// Messages and services
/** Generated modelserve.v1 message, client, handler and definition types (`X` to send, `X__Output` received). */
export type * from './messages.js';
/** The enums as name-to-name objects (enums travel as strings). */
export { DatasetFormat, JobState, OutputFormat, ReplicaState, VersionState } from './messages.js';

/** Open Inference Protocol (KServe v2, Triton's `inference` package) message, client and handler types, and its enums. */
export * as oip from './inference-messages.js';

// Tensors
/** Every datatype, in the protocol's order. */
export { dataTypes } from './tensor-types.js';
/** Element size, typed-contents field and storage of each datatype. */
export { dataTypeInfo } from './tensor-types.js';
/** Whether a string names a datatype. */
export { isDataType } from './tensor-types.js';
/** Datatypes, storage and decoded tensors (structurally identical to @modelserve/core's). */
export type {
  DataType,
  DataTypeInfo,
  DecodedTensor,
  NumericTensorData,
  TensorData,
  TensorDataMap,
  TypedContentsField,
  WireTensorContents,
} from './tensor-types.js';

// Codec
/** Validates and decodes a wire tensor; encodes a decoded tensor as raw or typed contents. */
export { decodeTensor, encodeTensor, parseDataType } from './tensor-codec.js';
/** A wire tensor as received and as sent. */
export type { EncodedTensor, WireTensor } from './tensor-codec.js';
/** Raw contents alone, for the Open Inference Protocol's request-level raw_input_contents. */
export { decodeRawTensorData, encodeRawTensorData } from './raw-codec.js';
/** Typed contents alone. */
export { decodeTypedContents, encodeTypedContents } from './typed-codec.js';
/** Typed contents as encodeTypedContents makes them. */
export type { EncodedTensorContents } from './typed-codec.js';
/** Shape validation (int64 strings to numbers) and element counts. */
export { elementCount, maxElements, parseShape } from './shape.js';
/** PredictRequest and PredictResponse with raw tensors straight to and from bytes (the client's hot path). */
export {
  parsePredictRequest,
  parsePredictResponse,
  serializePredictRequest,
  serializePredictResponse,
  serializePredictStreamResponse,
  WireFormatError,
} from './predict-wire.js';
export type {
  ParsedPredictRequest,
  ParsedPredictResponse,
  ParsedRawTensor,
  PredictResponseLike,
  PredictStreamResponseLike,
  RawPredictRequest,
  RawTensor,
} from './predict-wire.js';
/** The error every decoding failure throws; servers map it to INVALID_ARGUMENT. */
export { TensorCodecError } from './tensor-errors.js';
/** Which part of a tensor a TensorCodecError is about. */
export type { TensorCodecField } from './tensor-errors.js';
/** FP16 and BF16 bits to numbers and back (round to nearest, ties to even). */
export {
  bfloat16BitsToNumber,
  float16BitsToNumber,
  numberToBfloat16Bits,
  numberToFloat16Bits,
} from './float16.js';
/** Elements as people give them (JSON, JS values, typed arrays) to a datatype's storage, exactly or refused with the element and range named. */
export { tensorDataFromValues } from './tensor-values.js';
