/**
 * Tiny real gRPC servers on 127.0.0.1:0 for the client's unit tests: grpc.health.v1 (from
 * grpc-health-check) and modelserve.v1.Predictor with handlers the test writes.
 */
import { Server, ServerCredentials, type ServerDuplexStream, type ServerUnaryCall, type sendUnaryData, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { loadPackageDefinition, type PredictRequest__Output, type PredictResponse, type PredictStreamResponse } from '@modelserve/proto';
import { HealthImplementation, type ServingStatus } from 'grpc-health-check';

/** A running server. */
export interface TestServer {
  address: string;
  /** Sets the health of the whole server (service ""). */
  setHealth(status: ServingStatus): void;
  /** Stops at once, breaking every call. */
  stop(): void;
}

/** Handlers of modelserve.v1.Predictor; a missing one answers UNIMPLEMENTED. */
export interface PredictorHandlers {
  predict?(call: ServerUnaryCall<PredictRequest__Output, PredictResponse>, callback: sendUnaryData<PredictResponse>): void;
  predictStream?(call: ServerDuplexStream<PredictRequest__Output, PredictStreamResponse>): void;
}

/** Starts a server with the health service (unless `health` is false) and, if given, a Predictor. */
export async function startServer(options: { health?: boolean; predictor?: PredictorHandlers } = {}): Promise<TestServer> {
  const server = new Server();
  const health = new HealthImplementation({ '': 'SERVING' });
  if (options.health !== false) health.addToServer(server);
  if (options.predictor !== undefined) {
    const service = (loadPackageDefinition() as unknown as Record<string, Parameters<Server['addService']>[0]>)['modelserve.v1.Predictor']!;
    const handlers: UntypedServiceImplementation = {};
    if (options.predictor.predict) handlers['Predict'] = options.predictor.predict as never;
    if (options.predictor.predictStream) handlers['PredictStream'] = options.predictor.predictStream as never;
    server.addService(service, handlers);
  }
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  return {
    address: `127.0.0.1:${port}`,
    setHealth: (status) => health.setStatus('', status),
    stop: () => server.forceShutdown(),
  };
}

/** A one-output response (`y`, FP32, the given values) to a request, with raw contents. */
export function answerOf(request: PredictRequest__Output, values: number[]): PredictResponse {
  return {
    model_name: request.model_name,
    model_version: '1',
    id: request.id,
    outputs: [{ name: 'y', datatype: 'FP32', shape: [values.length], raw_contents: Buffer.from(new Float32Array(values).buffer) }],
  };
}

/** Resolves once `check` holds, looking every few ms; fails after `ms`. */
export async function eventually(check: () => boolean, ms = 5000, what = 'the condition'): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
