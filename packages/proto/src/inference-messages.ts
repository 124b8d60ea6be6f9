/**
 * The generated Open Inference Protocol (`inference` package: Triton's grpc_service.proto and a
 * subset of its model_config.proto) types under their own names. The package index exports them
 * as the `oip` namespace, because several names (ModelMetadata, ModelStatus, …) exist in
 * modelserve.v1 too. `X` is what you may send, `X__Output` what you receive with loaderOptions.
 */
export type { CudaSharedMemoryRegisterRequest, CudaSharedMemoryRegisterRequest__Output } from './generated/inference/CudaSharedMemoryRegisterRequest.js';
export type { CudaSharedMemoryRegisterResponse, CudaSharedMemoryRegisterResponse__Output } from './generated/inference/CudaSharedMemoryRegisterResponse.js';
export type { CudaSharedMemoryStatusRequest, CudaSharedMemoryStatusRequest__Output } from './generated/inference/CudaSharedMemoryStatusRequest.js';
export type { CudaSharedMemoryStatusResponse, CudaSharedMemoryStatusResponse__Output } from './generated/inference/CudaSharedMemoryStatusResponse.js';
export type { CudaSharedMemoryUnregisterRequest, CudaSharedMemoryUnregisterRequest__Output } from './generated/inference/CudaSharedMemoryUnregisterRequest.js';
export type { CudaSharedMemoryUnregisterResponse, CudaSharedMemoryUnregisterResponse__Output } from './generated/inference/CudaSharedMemoryUnregisterResponse.js';
export { DataType } from './generated/inference/DataType.js';
export type { DataType__Output } from './generated/inference/DataType.js';
export type { GRPCInferenceServiceClient, GRPCInferenceServiceHandlers, GRPCInferenceServiceDefinition } from './generated/inference/GRPCInferenceService.js';
export type { InferBatchStatistics, InferBatchStatistics__Output } from './generated/inference/InferBatchStatistics.js';
export type { InferParameter, InferParameter__Output } from './generated/inference/InferParameter.js';
export type { InferStatistics, InferStatistics__Output } from './generated/inference/InferStatistics.js';
export type { InferTensorContents, InferTensorContents__Output } from './generated/inference/InferTensorContents.js';
export type { LogSettingsRequest, LogSettingsRequest__Output } from './generated/inference/LogSettingsRequest.js';
export type { LogSettingsResponse, LogSettingsResponse__Output } from './generated/inference/LogSettingsResponse.js';
export type { MemoryUsage, MemoryUsage__Output } from './generated/inference/MemoryUsage.js';
export type { ModelConfig, ModelConfig__Output } from './generated/inference/ModelConfig.js';
export type { ModelConfigRequest, ModelConfigRequest__Output } from './generated/inference/ModelConfigRequest.js';
export type { ModelConfigResponse, ModelConfigResponse__Output } from './generated/inference/ModelConfigResponse.js';
export type { ModelDynamicBatching, ModelDynamicBatching__Output } from './generated/inference/ModelDynamicBatching.js';
export type { ModelInferRequest, ModelInferRequest__Output } from './generated/inference/ModelInferRequest.js';
export type { ModelInferResponse, ModelInferResponse__Output } from './generated/inference/ModelInferResponse.js';
export type { ModelInput, ModelInput__Output } from './generated/inference/ModelInput.js';
export type { ModelInstanceGroup, ModelInstanceGroup__Output } from './generated/inference/ModelInstanceGroup.js';
export type { ModelMetadataRequest, ModelMetadataRequest__Output } from './generated/inference/ModelMetadataRequest.js';
export type { ModelMetadataResponse, ModelMetadataResponse__Output } from './generated/inference/ModelMetadataResponse.js';
export type { ModelOutput, ModelOutput__Output } from './generated/inference/ModelOutput.js';
export type { ModelParameter, ModelParameter__Output } from './generated/inference/ModelParameter.js';
export type { ModelQueuePolicy, ModelQueuePolicy__Output } from './generated/inference/ModelQueuePolicy.js';
export type { ModelReadyRequest, ModelReadyRequest__Output } from './generated/inference/ModelReadyRequest.js';
export type { ModelReadyResponse, ModelReadyResponse__Output } from './generated/inference/ModelReadyResponse.js';
export type { ModelRepositoryParameter, ModelRepositoryParameter__Output } from './generated/inference/ModelRepositoryParameter.js';
export type { ModelStatistics, ModelStatistics__Output } from './generated/inference/ModelStatistics.js';
export type { ModelStatisticsRequest, ModelStatisticsRequest__Output } from './generated/inference/ModelStatisticsRequest.js';
export type { ModelStatisticsResponse, ModelStatisticsResponse__Output } from './generated/inference/ModelStatisticsResponse.js';
export type { ModelStreamInferResponse, ModelStreamInferResponse__Output } from './generated/inference/ModelStreamInferResponse.js';
export type { ModelVersionPolicy, ModelVersionPolicy__Output } from './generated/inference/ModelVersionPolicy.js';
export type { RepositoryIndexRequest, RepositoryIndexRequest__Output } from './generated/inference/RepositoryIndexRequest.js';
export type { RepositoryIndexResponse, RepositoryIndexResponse__Output } from './generated/inference/RepositoryIndexResponse.js';
export type { RepositoryModelLoadRequest, RepositoryModelLoadRequest__Output } from './generated/inference/RepositoryModelLoadRequest.js';
export type { RepositoryModelLoadResponse, RepositoryModelLoadResponse__Output } from './generated/inference/RepositoryModelLoadResponse.js';
export type { RepositoryModelUnloadRequest, RepositoryModelUnloadRequest__Output } from './generated/inference/RepositoryModelUnloadRequest.js';
export type { RepositoryModelUnloadResponse, RepositoryModelUnloadResponse__Output } from './generated/inference/RepositoryModelUnloadResponse.js';
export type { ServerLiveRequest, ServerLiveRequest__Output } from './generated/inference/ServerLiveRequest.js';
export type { ServerLiveResponse, ServerLiveResponse__Output } from './generated/inference/ServerLiveResponse.js';
export type { ServerMetadataRequest, ServerMetadataRequest__Output } from './generated/inference/ServerMetadataRequest.js';
export type { ServerMetadataResponse, ServerMetadataResponse__Output } from './generated/inference/ServerMetadataResponse.js';
export type { ServerReadyRequest, ServerReadyRequest__Output } from './generated/inference/ServerReadyRequest.js';
export type { ServerReadyResponse, ServerReadyResponse__Output } from './generated/inference/ServerReadyResponse.js';
export type { StatisticDuration, StatisticDuration__Output } from './generated/inference/StatisticDuration.js';
export type { SystemSharedMemoryRegisterRequest, SystemSharedMemoryRegisterRequest__Output } from './generated/inference/SystemSharedMemoryRegisterRequest.js';
export type { SystemSharedMemoryRegisterResponse, SystemSharedMemoryRegisterResponse__Output } from './generated/inference/SystemSharedMemoryRegisterResponse.js';
export type { SystemSharedMemoryStatusRequest, SystemSharedMemoryStatusRequest__Output } from './generated/inference/SystemSharedMemoryStatusRequest.js';
export type { SystemSharedMemoryStatusResponse, SystemSharedMemoryStatusResponse__Output } from './generated/inference/SystemSharedMemoryStatusResponse.js';
export type { SystemSharedMemoryUnregisterRequest, SystemSharedMemoryUnregisterRequest__Output } from './generated/inference/SystemSharedMemoryUnregisterRequest.js';
export type { SystemSharedMemoryUnregisterResponse, SystemSharedMemoryUnregisterResponse__Output } from './generated/inference/SystemSharedMemoryUnregisterResponse.js';
export type { TraceSettingRequest, TraceSettingRequest__Output } from './generated/inference/TraceSettingRequest.js';
export type { TraceSettingResponse, TraceSettingResponse__Output } from './generated/inference/TraceSettingResponse.js';
