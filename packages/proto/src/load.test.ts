import { existsSync, readdirSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { loadPackageDefinition as grpcLoad } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { loadGrpcObject, loadPackageDefinition, loaderOptions, protoFiles, protoRoot } from './load.js';
import { OutputFormat, VersionState } from './messages.js';
import type { PredictorDefinition } from './messages.js';

function protoFilesOnDisk(): string[] {
  return readdirSync(protoRoot, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.proto'))
    .map((e) => relative(protoRoot, join(e.parentPath, e.name)).split(sep).join('/'))
    .sort();
}

describe('protoRoot and protoFiles', () => {
  it('point at the repository proto/ directory', () => {
    expect(protoRoot.endsWith(`${sep}proto`)).toBe(true);
    for (const f of protoFiles) expect(existsSync(join(protoRoot, f))).toBe(true);
  });

  it('list every .proto file, as the type generator sees them', () => {
    // scripts/gen-types.mjs generates types for every .proto under proto/; loading fewer would
    // leave generated types without runtime definitions.
    expect([...protoFiles].sort()).toEqual(protoFilesOnDisk());
  });

  it('use the agreed loader options', () => {
    expect(loaderOptions).toMatchObject({ keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });
    expect(loaderOptions.includeDirs).toEqual([protoRoot]);
  });
});

describe('loadPackageDefinition', () => {
  it('holds the services and messages of all files', () => {
    const def = loadPackageDefinition();
    for (const name of ['modelserve.v1.Predictor', 'modelserve.v1.ModelAdmin', 'modelserve.v1.Tensor']) {
      expect(def[name], name).toBeDefined();
    }
  });

  it('is cached per file list, ignoring extra files already loaded', () => {
    expect(loadPackageDefinition()).toBe(loadPackageDefinition());
    expect(loadPackageDefinition(['modelserve/v1/tensor.proto'])).toBe(loadPackageDefinition());
  });
});

describe('loadGrpcObject', () => {
  it('returns the typed services and message types of every file', () => {
    const v1 = loadGrpcObject(grpcLoad).modelserve.v1;
    const predictor: PredictorDefinition = v1.Predictor.service;
    expect(Object.keys(predictor).sort()).toEqual(['Predict', 'PredictStream']);
    expect(Object.keys(v1.ModelAdmin.service).sort()).toEqual([
      'Drain',
      'GetDrift',
      'GetModelMetadata',
      'GetModelStatistics',
      'GetRouting',
      'GetServerStats',
      'ListModels',
      'LoadModel',
      'ReloadRepository',
      'RollbackRouting',
      'SetRouting',
      'SetServingStatus',
      'UnloadModel',
    ]);
    const oip = loadGrpcObject(grpcLoad).inference.GRPCInferenceService.service;
    expect(Object.keys(oip)).toContain('ModelInfer');
    expect(oip.ModelStreamInfer.requestStream && oip.ModelStreamInfer.responseStream).toBe(true);
    expect(v1.Tensor.type).toBeDefined();
    expect(v1.TensorContents.type).toBeDefined();
    expect(predictor.PredictStream.requestStream && predictor.PredictStream.responseStream).toBe(true);
    expect(loadGrpcObject(grpcLoad)).toBe(loadGrpcObject(grpcLoad));
  });

  it('is made by the loader it is given, one object per loader', () => {
    const loads: unknown[] = [];
    const counting = (definition: Parameters<typeof grpcLoad>[0]) => {
      loads.push(definition);
      return grpcLoad(definition);
    };
    const own = loadGrpcObject(counting);
    expect(own).not.toBe(loadGrpcObject(grpcLoad));
    expect(loadGrpcObject(counting)).toBe(own);
    expect(loads).toHaveLength(1);
    expect(loads[0]).toBe(loadPackageDefinition());
  });

  it('decodes with the options the generated __Output types describe', () => {
    const { Predict } = loadGrpcObject(grpcLoad).modelserve.v1.Predictor.service;
    const req = Predict.requestDeserialize(Predict.requestSerialize({ model_name: 'm' }));
    expect(req).toMatchObject({ model_name: 'm', model_version: '', inputs: [], output_format: 'OUTPUT_FORMAT_UNSPECIFIED' });
    const tensor = Predict.requestDeserialize(
      Predict.requestSerialize({ inputs: [{ name: 'x', shape: [2, '3'] }] }),
    ).inputs[0];
    expect(tensor?.shape).toEqual(['2', '3']);
    expect(Buffer.isBuffer(tensor?.raw_contents)).toBe(true);
  });

  it('agrees with the generated enums', () => {
    const def = loadPackageDefinition();
    const names = (full: string) =>
      ((def[full] as { type: { value: { name: string }[] } }).type.value).map((v) => v.name);
    expect(Object.keys(OutputFormat)).toEqual(names('modelserve.v1.OutputFormat'));
    expect(Object.keys(VersionState)).toEqual(names('modelserve.v1.VersionState'));
  });
});
