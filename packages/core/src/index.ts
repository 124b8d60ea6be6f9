/**
 * @modelserve/core: transport-free model serving — the repository, the registry and lifecycle of
 * model versions, the onnxruntime backend on a shared pool of worker threads, scheduling and validation.
 */

// Serving
export { estimateVersionBytes, ModelRegistry, modelControlModes } from './registry.js';
export type { ModelControlMode, RegistryOptions, RepositoryReport, VersionLoad } from './registry.js';
export type { InferenceRequest, InferenceResponse } from './inference.js';
export type { InferenceObserver, Outcome, RequestTrace, RunTrace, VersionObserver } from './observer.js';
export { ResponseCache, responseCacheKey } from './response-cache.js';
export type { CacheOutcome, CachedAnswer, ResponseCacheConfig, ResponseCacheStats } from './response-cache.js';
export type { SharedCacheFactory, SharedCacheTier } from './response-cache-types.js';
export { Cancellation } from './cancellation.js';
export type { CancelSignal } from './cancellation.js';

// Errors
export { Code, ModelServeError, codeOfStatus, detailsOf, errorCodes, internalError, invalidArgument, statusNameOf } from './errors.js';
export type { ErrorCode, FromOptions, StatusCode } from './errors.js';

// Tensors and metadata
export { elementCount, numericArrayOf } from './tensor.js';
export type { DataType, NamedTensor, NumericTensorData, Tensor, TensorData, TensorDataMap } from './tensor.js';
export { formatShape } from './metadata.js';
export type { ModelMetadata, ModelSignature, ModelStatus, TensorSpec, VersionState, VersionStatus } from './metadata.js';

// Repository and configuration
export { ModelRepository, checkModelName, parseVersion } from './repository.js';
export type { LayoutProblem, ModelEntry, RepositorySurvey } from './repository.js';
export { checkConfigRouting, configRouting, modelConfigSchema, parseModelConfig, readModelConfig, selectVersions, versionPolicy } from './config.js';
export { ModelRouter, checkRouting, formatPercent, stickyChoice, weightedChoice } from './router.js';
export type { EffectiveRouting, Routing } from './router.js';
export { compareOutputs } from './compare-outputs.js';
export type { OutputAgreement } from './compare-outputs.js';
export type { ModelConfig, VersionPolicy } from './config.js';

// Extension points: backends, schedulers, logging
export type { Backend, InstanceOptions, ModelInstance } from './backend.js';
export { OnnxRuntimeBackend } from './backend-onnxruntime.js';
export { InferencePool, type PoolOptions, type PoolStats } from './inference-pool.js';
export type { InferenceJob, Scheduler } from './scheduler.js';
export { DynamicBatcher } from './scheduler-dynamic-batcher.js';
export type { DynamicBatcherOptions } from './scheduler-dynamic-batcher.js';
export { systemClock } from './scheduler-clock.js';
export type { Clock } from './scheduler-clock.js';
export { VersionStats } from './statistics.js';
export type { Distribution, VersionComparison, VersionStatistics } from './statistics.js';
export { silentLogger } from './logger.js';
export type { Logger } from './logger.js';
