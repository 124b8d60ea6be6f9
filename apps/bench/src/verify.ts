/**
 * One decoded prediction per server and model before any load: the server must answer the
 * benchmark's request with the model's real output (echo: the right size), or its numbers mean nothing.
 */
import * as grpc from '@grpc/grpc-js';
import { loadGrpcObject, type PredictResponse__Output } from '@modelserve/proto';
import { inputValues, predictRequest, type BenchModel } from './payloads.js';

const SEED = 1000;

/** Undefined when `address` answers `model` correctly, else what is wrong. */
export async function verifyPrediction(address: string, model: BenchModel, compareWithReference: boolean): Promise<string | undefined> {
  const client = new (loadGrpcObject(grpc.loadPackageDefinition).modelserve.v1.Predictor)(address, grpc.credentials.createInsecure());
  try {
    const response = await new Promise<PredictResponse__Output>((resolve, reject) => {
      client.Predict(predictRequest(model, SEED), { deadline: Date.now() + 30_000 }, (error, value) => (error === null && value !== undefined ? resolve(value) : reject(error ?? new Error('no response'))));
    });
    const output = response.outputs[0];
    if (output === undefined) return 'no output';
    const shape = output.shape.map(Number);
    if (output.datatype !== 'FP32' || shape.join(',') !== `1,${model.outputSize}`) return `output is ${output.datatype} [${shape.join(', ')}], expected FP32 [1, ${model.outputSize}]`;
    if (output.raw_contents.byteLength !== model.outputSize * 4) return `output has ${output.raw_contents.byteLength} raw bytes, expected ${model.outputSize * 4}`;
    if (!compareWithReference) return undefined;
    const raw = output.raw_contents;
    const got = new Float32Array(raw.byteLength / 4);
    new Uint8Array(got.buffer).set(raw);
    const expected = model.generated().forward(inputValues(model, 1, SEED), 1);
    const worst = Math.max(...Array.from(expected, (e, i) => Math.abs(e - got[i]!) / Math.max(1, Math.abs(e))));
    return worst <= 1e-3 ? undefined : `output differs from the reference evaluator by ${worst.toExponential(2)}`;
  } catch (error) {
    const e = error as grpc.ServiceError;
    return `Predict failed: ${e.details ?? e.message}`;
  } finally {
    client.close();
  }
}
