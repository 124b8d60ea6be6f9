import { credentials, type ServiceError } from '@grpc/grpc-js';
import { loadGrpcObject, type ModelAdminClient, type PredictorClient } from '@modelserve/proto';

/** Admin and predictor clients for one server address. */
export function connect(address: string): { admin: ModelAdminClient; predictor: PredictorClient; close(): void } {
  const grpcObject = loadGrpcObject();
  const admin = new grpcObject.modelserve.v1.ModelAdmin(address, credentials.createInsecure());
  const predictor = new grpcObject.modelserve.v1.Predictor(address, credentials.createInsecure());
  return {
    admin,
    predictor,
    close() {
      admin.close();
      predictor.close();
    },
  };
}

/** Turns a callback-style unary call into a promise. */
export function call<Res>(start: (callback: (error: ServiceError | null, response?: Res) => void) => void): Promise<Res> {
  return new Promise((resolve, reject) => {
    start((error, response) => (error ? reject(error) : resolve(response as Res)));
  });
}
