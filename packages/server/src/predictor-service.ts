import type { sendUnaryData, ServerDuplexStream, ServerUnaryCall } from '@grpc/grpc-js';
import type { CancelSignal, Logger, ModelRegistry } from '@modelserve/core';
import type {
  PredictorHandlers,
  PredictRequest__Output,
  PredictResponse,
  PredictStreamResponse,
} from '@modelserve/proto';
import { CallCancellation, deadlineOf } from './call-deadline.js';
import { fromPredictRequest, toPredictResponse } from './convert.js';
import { callStatusOf, serviceErrorOf } from './status.js';
import { serveStream } from './stream.js';

/** Options of the Predictor service. */
export interface PredictorOptions {
  /** Requests accepted on one stream and not yet answered; reading pauses at this many. Default 256. */
  maxInflightPerStream?: number;
}

/** `modelserve.v1.Predictor` over a model registry. */
export function predictorService(registry: ModelRegistry, logger: Logger, options: PredictorOptions = {}): PredictorHandlers {
  const run = async (request: PredictRequest__Output, deadline: number | undefined, signal: CancelSignal): Promise<PredictResponse> => {
    const { request: core, encoding } = fromPredictRequest(request, deadline, signal);
    const response = await registry.infer(core);
    return toPredictResponse(response, encoding);
  };

  return {
    Predict(call: ServerUnaryCall<PredictRequest__Output, PredictResponse>, callback: sendUnaryData<PredictResponse>) {
      const cancellation = new CallCancellation(call);
      run(call.request, deadlineOf(call), cancellation).then(
        (response) => {
          cancellation.finish();
          callback(null, response);
        },
        (error: unknown) => {
          cancellation.finish();
          callback(serviceErrorOf(error, logger));
        },
      );
    },

    PredictStream(call: ServerDuplexStream<PredictRequest__Output, PredictStreamResponse>) {
      const deadline = deadlineOf(call);
      serveStream<PredictRequest__Output, PredictStreamResponse>(call, {
        maxInflight: options.maxInflightPerStream ?? 256,
        handle: async (request, signal) => {
          try {
            return { id: request.id, response: await run(request, deadline, signal) };
          } catch (error) {
            const { code, details } = callStatusOf(error, logger);
            return { id: request.id, error: { code, message: details } };
          }
        },
      });
    },
  };
}
