/**
 * Server reflection (grpc.reflection.v1 and v1alpha) over modelserve's protos, for grpcurl and
 * other reflection clients.
 */
import { ReflectionService } from '@grpc/reflection';
import { loadPackageDefinition } from '@modelserve/proto';
import { createRequire } from 'node:module';
import path from 'node:path';
import { protoPath as healthProtoPath } from 'grpc-health-check';

const reflectionProtoDir = path.join(path.dirname(createRequire(import.meta.url).resolve('@grpc/reflection')), '../proto/grpc/reflection');
const reflectionProtos = ['v1/reflection.proto', 'v1alpha/reflection.proto'].map((file) => path.join(reflectionProtoDir, file));

/** Reflection itself, listed among the services as grpc-go servers list it. */
export const reflectionServices: readonly string[] = ['grpc.reflection.v1.ServerReflection', 'grpc.reflection.v1alpha.ServerReflection'];

/**
 * Reflection that lists exactly `services` (full names; add reflectionServices to list reflection
 * too) and describes every message of modelserve's protos, grpc.health.v1's and its own. The
 * package holds services that other processes serve (modelserve.v1.Cluster is the supervisor's),
 * so a port lists only what it answers.
 */
export function reflectionFor(services: readonly string[]): ReflectionService {
  return new ReflectionService(loadPackageDefinition([healthProtoPath, ...reflectionProtos]), { services: [...services] });
}
