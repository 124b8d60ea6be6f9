/**
 * The generated modelserve.v1 types under stable names, so that consumers never import from
 * ./generated paths. `X` is what you may send (loose: optional fields, longs as number|string|Long),
 * `X__Output` what you receive with loaderOptions (defaults filled, longs and enums as strings).
 */
export type { PredictorClient, PredictorDefinition, PredictorHandlers } from './generated/modelserve/v1/Predictor.js';
export type { ModelAdminClient, ModelAdminDefinition, ModelAdminHandlers } from './generated/modelserve/v1/ModelAdmin.js';
export type { Tensor, Tensor__Output } from './generated/modelserve/v1/Tensor.js';
export type { TensorContents, TensorContents__Output } from './generated/modelserve/v1/TensorContents.js';
export type { TensorSpec, TensorSpec__Output } from './generated/modelserve/v1/TensorSpec.js';
export type { PredictRequest, PredictRequest__Output } from './generated/modelserve/v1/PredictRequest.js';
export type { PredictResponse, PredictResponse__Output } from './generated/modelserve/v1/PredictResponse.js';
export type {
  PredictStreamResponse,
  PredictStreamResponse__Output,
} from './generated/modelserve/v1/PredictStreamResponse.js';
// Renamed: an `Error` export would shadow the global Error wherever it is imported.
export type {
  Error as StreamError,
  Error__Output as StreamError__Output,
} from './generated/modelserve/v1/Error.js';
export type { ListModelsRequest, ListModelsRequest__Output } from './generated/modelserve/v1/ListModelsRequest.js';
export type { ListModelsResponse, ListModelsResponse__Output } from './generated/modelserve/v1/ListModelsResponse.js';
export type {
  GetModelMetadataRequest,
  GetModelMetadataRequest__Output,
} from './generated/modelserve/v1/GetModelMetadataRequest.js';
export type { ModelMetadata, ModelMetadata__Output } from './generated/modelserve/v1/ModelMetadata.js';
export type { ModelStatus, ModelStatus__Output } from './generated/modelserve/v1/ModelStatus.js';
export type { VersionStatus, VersionStatus__Output } from './generated/modelserve/v1/VersionStatus.js';
export type { LoadModelRequest, LoadModelRequest__Output } from './generated/modelserve/v1/LoadModelRequest.js';
export type { LoadModelResponse, LoadModelResponse__Output } from './generated/modelserve/v1/LoadModelResponse.js';
export type { UnloadModelRequest, UnloadModelRequest__Output } from './generated/modelserve/v1/UnloadModelRequest.js';
export type { UnloadModelResponse, UnloadModelResponse__Output } from './generated/modelserve/v1/UnloadModelResponse.js';
export type { GetModelStatisticsRequest, GetModelStatisticsRequest__Output } from './generated/modelserve/v1/GetModelStatisticsRequest.js';
export type { GetModelStatisticsResponse, GetModelStatisticsResponse__Output } from './generated/modelserve/v1/GetModelStatisticsResponse.js';
export type { Distribution, Distribution__Output } from './generated/modelserve/v1/Distribution.js';
export type { BatchSizeCount, BatchSizeCount__Output } from './generated/modelserve/v1/BatchSizeCount.js';
export type { VersionStatistics, VersionStatistics__Output } from './generated/modelserve/v1/VersionStatistics.js';
export type { DriftFeature, DriftFeature__Output } from './generated/modelserve/v1/DriftFeature.js';
export type { DriftTensor, DriftTensor__Output } from './generated/modelserve/v1/DriftTensor.js';
export type { GetDriftRequest, GetDriftRequest__Output } from './generated/modelserve/v1/GetDriftRequest.js';
export type { GetDriftResponse, GetDriftResponse__Output } from './generated/modelserve/v1/GetDriftResponse.js';
export type { VersionDrift, VersionDrift__Output } from './generated/modelserve/v1/VersionDrift.js';
export type { GetServerStatsRequest, GetServerStatsRequest__Output } from './generated/modelserve/v1/GetServerStatsRequest.js';
export type { ServerStats, ServerStats__Output } from './generated/modelserve/v1/ServerStats.js';
export type {
  SetServingStatusRequest,
  SetServingStatusRequest__Output,
} from './generated/modelserve/v1/SetServingStatusRequest.js';
export type {
  SetServingStatusResponse,
  SetServingStatusResponse__Output,
} from './generated/modelserve/v1/SetServingStatusResponse.js';
export type { VersionComparison, VersionComparison__Output } from './generated/modelserve/v1/VersionComparison.js';
export type { VersionWeight, VersionWeight__Output } from './generated/modelserve/v1/VersionWeight.js';
export type { Routing, Routing__Output } from './generated/modelserve/v1/Routing.js';
export type { GetRoutingRequest, GetRoutingRequest__Output } from './generated/modelserve/v1/GetRoutingRequest.js';
export type { SetRoutingRequest, SetRoutingRequest__Output } from './generated/modelserve/v1/SetRoutingRequest.js';
export type { RoutingResponse, RoutingResponse__Output } from './generated/modelserve/v1/RoutingResponse.js';
export type { EffectiveRouting, EffectiveRouting__Output } from './generated/modelserve/v1/EffectiveRouting.js';
export type { VersionShare, VersionShare__Output } from './generated/modelserve/v1/VersionShare.js';
export type { ReloadRepositoryRequest, ReloadRepositoryRequest__Output } from './generated/modelserve/v1/ReloadRepositoryRequest.js';
export type { DrainRequest, DrainRequest__Output } from './generated/modelserve/v1/DrainRequest.js';
export type { DrainResponse, DrainResponse__Output } from './generated/modelserve/v1/DrainResponse.js';
// modelserve.v1.Jobs
export type { JobsClient, JobsDefinition, JobsHandlers } from './generated/modelserve/v1/Jobs.js';
export type { Dataset, Dataset__Output } from './generated/modelserve/v1/Dataset.js';
export type { GetJobRequest, GetJobRequest__Output } from './generated/modelserve/v1/GetJobRequest.js';
export type { GetJobResultsRequest, GetJobResultsRequest__Output } from './generated/modelserve/v1/GetJobResultsRequest.js';
export type { InlineRows, InlineRows__Output } from './generated/modelserve/v1/InlineRows.js';
export type { Job, Job__Output } from './generated/modelserve/v1/Job.js';
export type { JobResultRow, JobResultRow__Output } from './generated/modelserve/v1/JobResultRow.js';
export type { JobRow, JobRow__Output } from './generated/modelserve/v1/JobRow.js';
export type { ListJobsRequest, ListJobsRequest__Output } from './generated/modelserve/v1/ListJobsRequest.js';
export type { ListJobsResponse, ListJobsResponse__Output } from './generated/modelserve/v1/ListJobsResponse.js';
export type { RowError, RowError__Output } from './generated/modelserve/v1/RowError.js';
export type { SubmitJobRequest, SubmitJobRequest__Output } from './generated/modelserve/v1/SubmitJobRequest.js';
// modelserve.v1.Cluster (the local supervisor, `modelserve cluster`)
export type { ClusterClient, ClusterDefinition, ClusterHandlers } from './generated/modelserve/v1/Cluster.js';
export type { ListReplicasRequest, ListReplicasRequest__Output } from './generated/modelserve/v1/ListReplicasRequest.js';
export type { ListReplicasResponse, ListReplicasResponse__Output } from './generated/modelserve/v1/ListReplicasResponse.js';
export type { Replica, Replica__Output } from './generated/modelserve/v1/Replica.js';
export type { WatchReplicasRequest, WatchReplicasRequest__Output } from './generated/modelserve/v1/WatchReplicasRequest.js';
// Enums are values too: objects mapping each name to itself (enums travel as strings).
export { OutputFormat } from './generated/modelserve/v1/OutputFormat.js';
export type { OutputFormat__Output } from './generated/modelserve/v1/OutputFormat.js';
export { VersionState } from './generated/modelserve/v1/VersionState.js';
export type { VersionState__Output } from './generated/modelserve/v1/VersionState.js';
export { JobState } from './generated/modelserve/v1/JobState.js';
export type { JobState__Output } from './generated/modelserve/v1/JobState.js';
export { DatasetFormat } from './generated/modelserve/v1/DatasetFormat.js';
export type { DatasetFormat__Output } from './generated/modelserve/v1/DatasetFormat.js';
export { ReplicaState } from './generated/modelserve/v1/ReplicaState.js';
export type { ReplicaState__Output } from './generated/modelserve/v1/ReplicaState.js';
