import { readFileSync } from 'node:fs';
import { lookup } from 'node:dns/promises';
import {
  Channel,
  connectivityState,
  credentials,
  InterceptingCall,
  loadPackageDefinition,
  Metadata,
  status,
  type ChannelCredentials,
  type Interceptor,
  type ServiceError,
  type StatusObject,
} from '@grpc/grpc-js';
import { loadGrpcObject, type JobsClient, type ModelAdminClient, type PredictorClient } from '@modelserve/proto';

/** How long a client command waits for its connection: `--connect-timeout`, in seconds. */
let connectTimeoutSeconds = 10;

/** Sets how long the next connections wait to be established (the commands' `--connect-timeout`). */
export function setConnectTimeout(seconds: number): void {
  connectTimeoutSeconds = seconds;
}

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

/** What became of the channel's connection: ready, failed (the call says why), or not there in time. */
type Connection = 'ready' | 'failed' | 'timeout';

/** Connects the channel if idle and waits until it is ready, fails, or `timeoutMs` passes. */
function waitForConnection(channel: Channel, timeoutMs: number): Promise<Connection> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve) => {
    const check = (): void => {
      const state = channel.getConnectivityState(true);
      if (state === connectivityState.READY) return resolve('ready');
      if (state === connectivityState.TRANSIENT_FAILURE || state === connectivityState.SHUTDOWN) return resolve('failed');
      channel.watchConnectivityState(state, deadline, (error) => (error === undefined ? check() : resolve('timeout')));
    };
    check();
  });
}

/** `host` of `host:port` or `[v6]:port`. */
function hostOf(address: string): string {
  const bracketed = /^\[([^\]]+)\]/.exec(address);
  if (bracketed !== null) return bracketed[1]!;
  const colon = address.lastIndexOf(':');
  return colon < 0 ? address : address.slice(0, colon);
}

/** One line for a connection that could not be made: what happened at `address`, and what to do. */
async function connectionFailure(address: string, details: string): Promise<string> {
  if (details.startsWith('Name resolution failed')) {
    const host = hostOf(address);
    const why = await lookup(host).then(
      () => 'it resolved when looked up again: retry',
      (error: NodeJS.ErrnoException) => (error.code === 'ENOTFOUND' ? 'no such host name' : `the lookup failed: ${error.code ?? error.message}`),
    );
    return `cannot resolve host '${host}' of ${address} (${why}): check --address`;
  }
  // grpc-js: "No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.1:8999. Resolution note: "
  const last = /Last error: (?:Error: )?(.*?)\.? Resolution note:/.exec(details)?.[1] ?? details;
  if (last.includes('ECONNREFUSED')) return `nothing is listening on ${address} (connection refused): start a server with \`modelserve serve\`, or point --address at a running one`;
  if (last.includes('ETIMEDOUT')) return `connecting to ${address} timed out (${last}): is the host up and the port open to you? Check --address`;
  if (last.includes('EHOSTUNREACH') || last.includes('ENETUNREACH')) return `no route to ${address} (${last}): check --address`;
  return `cannot connect to ${address}: ${last}`;
}

/**
 * Waits for the connection before each call starts (at most --connect-timeout), and turns a
 * connection that cannot be made into one line naming the address and what went wrong. Calls on a
 * ready connection take as long as they take.
 */
function connectionInterceptor(channel: Channel, address: string): Interceptor {
  return (options, nextCall) =>
    new InterceptingCall(nextCall(options), {
      start(metadata, listener, next) {
        const seconds = connectTimeoutSeconds;
        void waitForConnection(channel, seconds * 1000).then((connection) => {
          if (connection === 'timeout') {
            const details = `connecting to ${address} timed out after ${seconds} s: is the host up, the port open to you, and a gRPC server listening on it? (--connect-timeout to wait longer)`;
            listener.onReceiveStatus({ code: status.UNAVAILABLE, details, metadata: new Metadata() });
            return;
          }
          if (connection === 'ready') return next(metadata, listener);
          next(metadata, {
            onReceiveStatus(received: StatusObject, nextStatus: (s: StatusObject) => void) {
              if (received.code !== status.UNAVAILABLE) return nextStatus(received);
              void connectionFailure(address, received.details).then((details) => nextStatus({ ...received, details }));
            },
          });
        });
      },
    });
}

/**
 * Admin, predictor and jobs clients for one server address, on one connection. `$MODELSERVE_TLS_CA`
 * turns on TLS and `$MODELSERVE_INFERENCE_TOKEN` sends the server's inference token; admin changes
 * take --token. Throws if `$MODELSERVE_TOKEN` is set.
 */
export function connect(address: string): { admin: ModelAdminClient; predictor: PredictorClient; jobs: JobsClient; close(): void } {
  const token = inferenceToken();
  const grpcObject = loadGrpcObject(loadPackageDefinition);
  const channelCreds = channelCredentials();
  const channel = new Channel(address, channelCreds, {});
  const interceptors = [connectionInterceptor(channel, address), ...(token === undefined ? [] : [tokenInterceptor(token)])];
  const options = { channelOverride: channel, interceptors };
  const admin = new grpcObject.modelserve.v1.ModelAdmin(address, channelCreds, options);
  const predictor = new grpcObject.modelserve.v1.Predictor(address, channelCreds, options);
  const jobs = new grpcObject.modelserve.v1.Jobs(address, channelCreds, options);
  return {
    admin,
    predictor,
    jobs,
    close() {
      channel.close();
    },
  };
}

/** Turns a callback-style unary call into a promise. */
export function call<Res>(start: (callback: (error: ServiceError | null, response?: Res) => void) => void): Promise<Res> {
  return new Promise((resolve, reject) => {
    start((error, response) => (error ? reject(error) : resolve(response as Res)));
  });
}
