/**
 * @modelserve/client: typed predict / predictStream over one or many modelserve replicas, with
 * client-side load balancing, health watching, outlier ejection and retries within a budget.
 * The in-process twin is `@modelserve/client/local`.
 */
export { createClient, ModelServeClient } from './client.js';
export type { ClientOptions, ClientStats } from './client.js';
export type { HedgingOptions, RetryOptions, RetryStats } from './call-strategy.js';
export type { OutlierDetectionOptions } from './endpoint-ejection.js';
export type { EndpointStats } from './endpoint-set.js';
export { ModelServeError } from './errors.js';
export type {
  ModelInfo,
  ModelMetadata,
  PredictOptions,
  PredictResult,
  Predictor,
  StreamOptions,
  StreamRequest,
  StreamResult,
  TensorSpec,
  VersionInfo,
} from './types.js';
export { fp16ToNumbers, numbersToFp16 } from './tensors.js';
export type { DataType, OutputDataMap, Tensor, TensorInput, TensorInputs, TypedArrayInput } from './tensors.js';
export { LeastRequest, PeakEwma, RandomPick, RoundRobin, WeightedRoundRobin, createPicker } from './policies.js';
export type { EndpointView, Picker, PolicyName } from './policies.js';
export { dnsResolver, parseDnsTarget, pollingResolver, staticResolver, supervisorResolver } from './resolvers.js';
export type { ResolvedEndpoint, Resolver, SupervisorResolverOptions } from './resolvers.js';
export { RetryBudget } from './retry-budget.js';
export type { RetryBudgetOptions } from './retry-budget.js';
export { status } from '@grpc/grpc-js';
