import type { ClientDuplexStream } from '@grpc/grpc-js';
import type { PredictRequest, PredictStreamResponse__Output } from '@modelserve/proto';

/** Collects a stream's responses until it ends or fails. */
export function collect(call: ClientDuplexStream<PredictRequest, PredictStreamResponse__Output>): Promise<{
  responses: PredictStreamResponse__Output[];
  error: Error | undefined;
}> {
  const responses: PredictStreamResponse__Output[] = [];
  return new Promise((resolve) => {
    call.on('data', (response: PredictStreamResponse__Output) => responses.push(response));
    call.on('end', () => resolve({ responses, error: undefined }));
    call.on('error', (error: Error) => resolve({ responses, error }));
  });
}
