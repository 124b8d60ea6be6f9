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

/** Resolves once `predicate` holds, polling; rejects after `timeoutMs`. */
export async function eventually(predicate: () => boolean, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > until) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
