/** The demo models and the requests sent to them: batch 1, raw FP32 contents, deterministic values. */
import { demoCnn, demoMlp, mulberry32, type GeneratedModel } from '@modelserve/model-zoo';
import { loadPackageDefinition, type PredictRequest } from '@modelserve/proto';
import type { ModelKey } from './types.js';

/** A model the benchmark serves, under the name it has in the demo repository. */
export interface BenchModel {
  key: ModelKey;
  name: string;
  /** What the tables call it. */
  label: string;
  inputName: string;
  outputName: string;
  /** Input dimensions of one sample (the batch dimension comes first on the wire). */
  sampleDims: number[];
  /** Output values per sample. */
  outputSize: number;
  /** The ONNX model and its plain-TypeScript reference. */
  generated: () => GeneratedModel;
}

/** The demo MLP (784→256→10) and CNN (1×28×28 → 10), as in `apps/modelserve/models`. */
export const benchModels: Readonly<Record<ModelKey, BenchModel>> = {
  mlp: {
    key: 'mlp',
    name: 'mnist_mlp',
    label: 'MLP 784→256→10',
    inputName: 'input',
    outputName: 'output',
    sampleDims: [784],
    outputSize: 10,
    generated: () => demoMlp(1),
  },
  cnn: {
    key: 'cnn',
    name: 'mnist_cnn',
    label: 'CNN 1×28×28',
    inputName: 'input',
    outputName: 'output',
    sampleDims: [1, 28, 28],
    outputSize: 10,
    generated: () => demoCnn(),
  },
};

/** What a request needs to know of the model it is for (the many-model mode's tiny models have no `BenchModel`). */
export type RequestTarget = Pick<BenchModel, 'name' | 'inputName' | 'sampleDims'>;

/** Values per sample of a model's input. */
export function sampleSize(model: Pick<BenchModel, 'sampleDims'>): number {
  return model.sampleDims.reduce((a, b) => a * b, 1);
}

/** `batch` samples of deterministic inputs in [0, 1), the same for every configuration. */
export function inputValues(model: Pick<BenchModel, 'sampleDims'>, batch: number, seed: number): Float32Array {
  const random = mulberry32(seed);
  const values = new Float32Array(sampleSize(model) * batch);
  for (let i = 0; i < values.length; i++) values[i] = random();
  return values;
}

/** A `PredictRequest` of one sample with raw contents (the fast path). */
export function predictRequest(model: RequestTarget, seed: number): PredictRequest {
  const values = inputValues(model, 1, seed);
  return {
    model_name: model.name,
    inputs: [
      {
        name: model.inputName,
        datatype: 'FP32',
        shape: [1, ...model.sampleDims],
        raw_contents: Buffer.from(values.buffer, values.byteOffset, values.byteLength),
      },
    ],
  };
}

/** Distinct requests the load workers cycle through. */
export const PAYLOAD_POOL = 8;

type PredictSerializer = (value: PredictRequest) => Buffer;
let serializer: PredictSerializer | undefined;

/** One request of one sample for `model`, encoded once as protobuf (base64) so the load workers never serialize. */
export function encodedRequest(model: RequestTarget, seed: number): string {
  serializer ??= (loadPackageDefinition()['modelserve.v1.Predictor'] as unknown as Record<'Predict', { requestSerialize: PredictSerializer }>).Predict.requestSerialize;
  return serializer(predictRequest(model, seed)).toString('base64');
}

/** The pool of requests for `model`, encoded once. */
export function encodedPayloads(model: RequestTarget): string[] {
  return Array.from({ length: PAYLOAD_POOL }, (_, i) => encodedRequest(model, 1000 + i));
}
