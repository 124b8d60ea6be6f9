import { readFileSync } from 'node:fs';
import { credentials, InterceptingCall, loadPackageDefinition, type ChannelCredentials, type Interceptor, type ServiceError } from '@grpc/grpc-js';
import { loadGrpcObject, type ModelAdminClient, type PredictorClient } from '@modelserve/proto';

/** TLS when $MODELSERVE_TLS_CA names the CA's PEM file (the server's --tls-cert), else plaintext. */
function channelCredentials(): ChannelCredentials {
  const ca = process.env['MODELSERVE_TLS_CA'];
  return ca === undefined || ca === '' ? credentials.createInsecure() : credentials.createSsl(readFileSync(ca));
}

/**
 * The inference token: `$MODELSERVE_INFERENCE_TOKEN`, the variable `modelserve serve` reads for
 * --inference-token. `$MODELSERVE_TOKEN`, which earlier versions sent, is refused rather than ignored.
 */
function inferenceToken(): string | undefined {
  if (process.env['MODELSERVE_TOKEN'] !== undefined) {
    throw new Error('$MODELSERVE_TOKEN is no longer read: put the inference token in $MODELSERVE_INFERENCE_TOKEN (the variable `modelserve serve` reads too) and unset MODELSERVE_TOKEN');
  }
  const token = process.env['MODELSERVE_INFERENCE_TOKEN'];
  return token === undefined || token === '' ? undefined : token;
}

/** Sends `authorization: Bearer <token>` on calls that carry no authorization of their own. */
function tokenInterceptor(token: string): Interceptor {
  return (options, nextCall) =>
    new InterceptingCall(nextCall(options), {
      start(metadata, listener, next) {
        if (metadata.get('authorization').length === 0) metadata.set('authorization', `Bearer ${token}`);
        next(metadata, listener);
      },
    });
}

/**
 * Admin and predictor clients for one server address. `$MODELSERVE_TLS_CA` turns on TLS and
 * `$MODELSERVE_INFERENCE_TOKEN` sends the server's inference token; admin changes take --token.
 * Throws if `$MODELSERVE_TOKEN` is set.
 */
export function connect(address: string): { admin: ModelAdminClient; predictor: PredictorClient; close(): void } {
  const token = inferenceToken();
  const grpcObject = loadGrpcObject(loadPackageDefinition);
  const options = { interceptors: token === undefined ? [] : [tokenInterceptor(token)] };
  const admin = new grpcObject.modelserve.v1.ModelAdmin(address, channelCredentials(), options);
  const predictor = new grpcObject.modelserve.v1.Predictor(address, channelCredentials(), options);
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
