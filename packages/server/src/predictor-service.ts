import type { Logger, ModelRegistry } from '@modelserve/core';
import type { PredictorHandlers, PredictRequest__Output, PredictResponse, PredictStreamResponse } from '@modelserve/proto';
import { fromPredictRequest, toPredictResponse } from './convert.js';
import { serveStreamInference, serveUnaryInference, type InferenceCallOptions, type StreamCodec } from './inference-calls.js';

/** Options of the Predictor service. */
export interface PredictorOptions extends InferenceCallOptions {
  /** Requests accepted on one stream and not yet answered; reading pauses at this many. Default 256. */
  maxInflightPerStream?: number;
}

/** modelserve.v1 requests and responses; a failed stream request is answered with its id and an Error. */
const predictCodec: StreamCodec<PredictRequest__Output, PredictResponse, PredictStreamResponse> = {
  decode(request, context) {
    const { request: core, encoding } = fromPredictRequest(request, context);
    return { request: core, encode: (response) => toPredictResponse(response, encoding) };
  },
  ok: (request, response) => ({ id: request.id, response }),
  failed: (request, { code, details }) => ({ id: request.id, error: { code, message: details } }),
};

/** `modelserve.v1.Predictor` over a model registry. */
export function predictorService(registry: ModelRegistry, logger: Logger, options: PredictorOptions = {}): PredictorHandlers {
  const maxInflight = options.maxInflightPerStream ?? 256;
  return {
    Predict(call, callback) {
      serveUnaryInference(registry, logger, predictCodec, call, callback, options);
    },
    PredictStream(call) {
      serveStreamInference(registry, logger, predictCodec, call, maxInflight, options);
    },
  };
}
