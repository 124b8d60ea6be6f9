/**
 * The modelserve.v1 methods the client calls, and one attempt of a call on one endpoint: the
 * grpc-js request, the caller's abort, and the accounting every finished attempt reports.
 */
import { type ClientDuplexStream, Metadata } from '@grpc/grpc-js';
import {
  loadPackageDefinition,
  parsePredictResponse,
  serializePredictRequest,
  type ListModelsResponse__Output,
  type ModelMetadata__Output,
  type ParsedPredictResponse,
  type PredictResponse__Output,
  type PredictStreamResponse__Output,
  type RawPredictRequest,
} from '@modelserve/proto';
import type { Endpoint } from './endpoint.js';
import { ModelServeError } from './errors.js';

/** A method's path and its (de)serializers. */
export interface Method<Req, Res> {
  path: string;
  requestSerialize(value: Req): Buffer;
  responseDeserialize(bytes: Buffer): Res;
}

/** The methods the client calls. */
export interface Methods {
  predict: Method<RawPredictRequest, ParsedPredictResponse | PredictResponse__Output>;
  predictStream: Method<RawPredictRequest, PredictStreamResponse__Output>;
  listModels: Method<object, ListModelsResponse__Output>;
  metadata: Method<{ name: string; version: string }, ModelMetadata__Output>;
}

/** The PredictStream call's duplex stream. */
export type PredictStreamCall = ClientDuplexStream<RawPredictRequest, PredictStreamResponse__Output>;

/** Reports a finished attempt: when it started (`performance.now()`) and its error, if any. */
export type AttemptFinished = (endpoint: Endpoint, startedAt: number, error: ModelServeError | undefined) => void;

let methods: Methods | undefined;

/** The methods, loaded on first use. */
export function rpc(): Methods {
  if (methods === undefined) {
    const definition = loadPackageDefinition() as unknown as Record<string, Record<string, Method<never, never>>>;
    const predictor = definition['modelserve.v1.Predictor']!;
    const admin = definition['modelserve.v1.ModelAdmin']!;
    // Predict requests and responses skip protobufjs's object conversion (see @modelserve/proto's
    // predict-wire); a response with typed contents, which modelserve does not send when asked
    // for raw, still decodes through proto-loader.
    const predict = predictor['Predict'] as unknown as Method<unknown, PredictResponse__Output>;
    const stream = predictor['PredictStream'] as unknown as Method<unknown, PredictStreamResponse__Output>;
    methods = {
      predict: { path: predict.path, requestSerialize: serializePredictRequest, responseDeserialize: (bytes) => parsePredictResponse(bytes) ?? predict.responseDeserialize(bytes) },
      predictStream: { path: stream.path, requestSerialize: serializePredictRequest, responseDeserialize: stream.responseDeserialize },
      listModels: admin['ListModels'] as never,
      metadata: admin['GetModelMetadata'] as never,
    };
  }
  return methods;
}

/** Metadata of every call: the bearer token, if any. */
export function callMetadata(token: string | undefined): Metadata {
  const metadata = new Metadata();
  if (token !== undefined) metadata.set('authorization', `Bearer ${token}`);
  return metadata;
}

/** One unary attempt on an endpoint; `finished` hears of it, then `done` gets its error or its response, once. */
export function unaryAttempt<Req, Res>(
  endpoint: Endpoint,
  method: Method<Req, Res>,
  request: Req,
  call: { metadata: Metadata; deadline: number; signal: AbortSignal | undefined; finished: AttemptFinished },
  done: (error: ModelServeError | undefined, value: Res | undefined) => void,
): void {
  const { signal } = call;
  const startedAt = performance.now();
  endpoint.started();
  const onAbort = signal === undefined ? undefined : (): void => pending.cancel();
  const pending = endpoint.client.makeUnaryRequest(method.path, method.requestSerialize, method.responseDeserialize, request, call.metadata, { deadline: call.deadline }, (e, value) => {
    const error = e === null ? undefined : ModelServeError.from(e, { endpoint: endpoint.address });
    if (onAbort !== undefined) signal!.removeEventListener('abort', onAbort);
    call.finished(endpoint, startedAt, error);
    done(error, value);
  });
  if (onAbort !== undefined) signal!.addEventListener('abort', onAbort, { once: true });
}

/** The bidirectional PredictStream call on an endpoint; no deadline when `deadline` is undefined. */
export function openPredictStream(endpoint: Endpoint, metadata: Metadata, deadline: number | undefined): PredictStreamCall {
  const method = rpc().predictStream;
  return endpoint.client.makeBidiStreamRequest(method.path, method.requestSerialize, method.responseDeserialize, metadata, { deadline: deadline ?? Infinity });
}
