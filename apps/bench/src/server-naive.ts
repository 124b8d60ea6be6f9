/**
 * Configuration (c), what a user writes in an afternoon (a forked process): a grpc-js Predictor
 * whose handler decodes the raw input and calls `session.run` right there, one request per run,
 * on the event loop, with onnxruntime's default session options.
 * Arguments: the model repository, then the model names (`<repo>/<name>/1/model.onnx`).
 */
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import type { PredictRequest__Output, PredictResponse } from '@modelserve/proto';
import ort from 'onnxruntime-node';
import { listenOnLoopback } from './server-listen.js';

const [repository = '.', ...names] = process.argv.slice(2);
const sessions = new Map<string, ort.InferenceSession>();
for (const name of names) sessions.set(name, await ort.InferenceSession.create(join(repository, name, '1', 'model.onnx')));

async function predict(request: PredictRequest__Output): Promise<PredictResponse> {
  const session = sessions.get(request.model_name);
  if (session === undefined) throw Object.assign(new Error(`unknown model ${request.model_name}`), { code: grpc.status.NOT_FOUND });
  const input = request.inputs[0];
  if (input === undefined) throw Object.assign(new Error('no input'), { code: grpc.status.INVALID_ARGUMENT });
  // Copied, because a Float32Array view needs an aligned offset.
  const data = new Float32Array(input.raw_contents.byteLength / 4);
  new Uint8Array(data.buffer).set(input.raw_contents);
  const results = await session.run({ [input.name]: new ort.Tensor('float32', data, input.shape.map(Number)) });
  const outputName = session.outputNames[0]!;
  const output = results[outputName]!;
  const values = output.data as Float32Array;
  return {
    model_name: request.model_name,
    model_version: '1',
    id: request.id,
    outputs: [{ name: outputName, datatype: 'FP32', shape: [...output.dims], raw_contents: Buffer.from(values.buffer, values.byteOffset, values.byteLength) }],
  };
}

const codeOf = (error: unknown): number => (error as { code?: number }).code ?? grpc.status.INTERNAL;

listenOnLoopback({
  Predict(call, callback) {
    predict(call.request).then(
      (response) => callback(null, response),
      (error: unknown) => callback({ code: codeOf(error), details: (error as Error).message }),
    );
  },
  PredictStream(call) {
    call.on('data', (request: PredictRequest__Output) => {
      predict(request).then(
        (response) => call.write({ id: request.id, response }),
        (error: unknown) => call.write({ id: request.id, error: { code: codeOf(error), message: (error as Error).message } }),
      );
    });
    call.on('end', () => call.end());
    call.on('error', () => undefined);
  },
});
