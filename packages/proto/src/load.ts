/**
 * Loads modelserve's .proto files with the one set of proto-loader options the whole server uses,
 * so that runtime objects match the generated types in ./generated. grpc-js is not imported here:
 * the caller hands over its own grpc-js's loadPackageDefinition (see loadGrpcObject).
 */
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as protoLoader from '@grpc/proto-loader';
import type { ProtoGrpcType as AdminProtoGrpcType } from './generated/admin.js';
import type { ProtoGrpcType as ClusterProtoGrpcType } from './generated/cluster.js';
import type { ProtoGrpcType as InferenceProtoGrpcType } from './generated/grpc_service.js';
import type { ProtoGrpcType as JobsProtoGrpcType } from './generated/jobs.js';
import type { ProtoGrpcType as PredictorProtoGrpcType } from './generated/predictor.js';
import type { ProtoGrpcType as TensorProtoGrpcType } from './generated/tensor.js';

// Built, the package carries its own copy of proto/ in dist/proto (scripts/copy-protos.mjs), which is
// all an installed package has. Run from src/ (vitest) there is none: the repository's top-level
// proto/, at the same depth from src/ as from dist/.
function findProtoRoot(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const packaged = resolve(here, 'proto');
  return existsSync(packaged) ? packaged : resolve(here, '../../../proto');
}

/** Absolute path of the proto/ directory every .proto file is loaded from (the include root). */
export const protoRoot: string = findProtoRoot();

/** The .proto files the server loads, relative to protoRoot. */
export const protoFiles: readonly string[] = [
  'modelserve/v1/tensor.proto',
  'modelserve/v1/predictor.proto',
  'modelserve/v1/admin.proto',
  'modelserve/v1/jobs.proto',
  'modelserve/v1/cluster.proto',
  'inference/model_config.proto',
  'inference/grpc_service.proto',
];

/** proto-loader options; the generated types are produced with the same flags (see scripts/gen-types.mjs). */
export const loaderOptions: Readonly<protoLoader.Options> = Object.freeze({
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [protoRoot],
});

/** The shape of the grpc object holding every package (modelserve.v1, inference), as generated from the .proto files. */
export type ProtoGrpcType = TensorProtoGrpcType & PredictorProtoGrpcType & AdminProtoGrpcType & JobsProtoGrpcType & ClusterProtoGrpcType & InferenceProtoGrpcType;

/** grpc-js's `loadPackageDefinition`: turns a package definition into client constructors and service definitions. */
export type GrpcPackageLoader = (definition: protoLoader.PackageDefinition) => object;

const definitions = new Map<string, protoLoader.PackageDefinition>();
const grpcObjects = new WeakMap<GrpcPackageLoader, ProtoGrpcType>();

/** Loads protoFiles plus `extraFiles` (relative to protoRoot) synchronously; cached per file list. */
export function loadPackageDefinition(extraFiles: readonly string[] = []): protoLoader.PackageDefinition {
  const files = [...protoFiles, ...extraFiles.filter((f) => !protoFiles.includes(f))];
  const key = files.join('\n');
  let definition = definitions.get(key);
  if (definition === undefined) {
    definition = protoLoader.loadSync(files, { ...loaderOptions });
    definitions.set(key, definition);
  }
  return definition;
}

/**
 * The grpc object of protoFiles (services and message definitions), typed by the generated code,
 * as `load` (grpc-js's loadPackageDefinition) makes it; cached per loader.
 */
// The caller passes grpc-js in so that its clients and services come from the grpc-js it uses with
// them (grpc-js checks credentials and channels with instanceof), and this contracts package needs
// grpc-js's types only.
export function loadGrpcObject(load: GrpcPackageLoader): ProtoGrpcType {
  let grpcObject = grpcObjects.get(load);
  if (grpcObject === undefined) {
    // The cast is the contract between proto-loader's untyped result and the generated types.
    grpcObject = load(loadPackageDefinition()) as ProtoGrpcType;
    grpcObjects.set(load, grpcObject);
  }
  return grpcObject;
}
