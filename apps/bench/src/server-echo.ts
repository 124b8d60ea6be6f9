/**
 * Configuration (b), the transport limit (a forked process): a bare grpc-js Predictor that
 * decodes each request and answers with a precomputed response the size of the real one (10 FP32,
 * raw). Whatever a server does beyond this costs more than gRPC itself. Argument `direct`: the same
 * answers on the transport modelserve uses (grpc-js with calls answered on its HTTP/2 streams).
 */
import type { PredictRequest__Output, PredictResponse } from '@modelserve/proto';
import { listenOnLoopback } from './server-listen.js';

const OUTPUT_VALUES = 10;
const outputBytes = Buffer.alloc(OUTPUT_VALUES * 4);

function answer(request: PredictRequest__Output): PredictResponse {
  return {
    model_name: request.model_name,
    model_version: '1',
    id: request.id,
    outputs: [{ name: 'output', datatype: 'FP32', shape: [1, OUTPUT_VALUES], raw_contents: outputBytes }],
  };
}

listenOnLoopback({
  Predict(call, callback) {
    callback(null, answer(call.request));
  },
  PredictStream(call) {
    call.on('data', (request: PredictRequest__Output) => {
      call.write({ id: request.id, response: answer(request) });
    });
    call.on('end', () => call.end());
    call.on('error', () => undefined);
  },
}, { direct: process.argv[2] === 'direct' });
