/** @modelserve/server: every modelserve API on one grpc-js server and one port. */
export { BindError, startServer, defaultMaxMessageBytes, adminMethods } from './server.js';
export { serveCallsDirectly, directCallPaths, testedGrpcJsVersions, loadedGrpcJsVersion } from './direct-calls.js';
export type { DirectCallOptions, DirectCallsInstall } from './direct-calls.js';
export { directCallsFromEnv } from './direct-calls-env.js';
export { Ingress } from './ingress.js';
export type { Access, IngressMethod, ServiceDeclaration, ServiceRegistrar } from './ingress.js';
export { tokenProblem } from './auth.js';
export type { AuthOptions } from './auth.js';
export type { RunningServer, ServerOptions } from './server.js';
export { callStatusOf } from './status.js';
export type { CallStatus } from './status.js';
export { predictorService } from './predictor-service.js';
export type { PredictorOptions } from './predictor-service.js';
export { adminService } from './admin-service.js';
export { inferenceService, serverExtensions, serverName, serverVersion } from './inference-service.js';
export type { InferenceServiceOptions } from './inference-service.js';
export { ServerHealth } from './health.js';
export { ServerStatsRecorder } from './server-stats.js';
