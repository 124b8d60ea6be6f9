/** @modelserve/telemetry: Prometheus metrics, OpenTelemetry traces and drift statistics, fed by core's observer hooks. */
export { batchBuckets, durationBuckets, failureReason, Metrics } from './metrics.js';
export type { FailureReason, MetricsOptions } from './metrics.js';
export { combineObservers } from './observers.js';
export { RequestLog } from './request-log.js';
export { AdjustableSampler, spanContextOf, Tracing } from './tracing.js';
export type { TracedRequest, TracingOptions } from './tracing.js';
export type { LoggedInput, RequestLogOptions, RequestLogPayloads, RequestRecord } from './request-log.js';
export { DriftObserver } from './drift-observer.js';
export type { DriftObserverOptions, VersionDrift } from './drift-observer.js';
export * from './drift/index.js';
