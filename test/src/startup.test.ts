/**
 * Start-up against real servers: a server listens while its models load (health NOT_SERVING until
 * they have).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { credentials, loadPackageDefinition, type ServiceError } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import type { Backend, InstanceOptions, ModelInstance } from '@modelserve/core';
import { FakeBackend, gate } from '@modelserve/core/testing';
import { demoTinyMlp } from '@modelserve/model-zoo';
import { loadGrpcObject, type PredictResponse__Output } from '@modelserve/proto';
import { startServer } from '@modelserve/server';
import { protoPath as healthProtoPath } from 'grpc-health-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { put } from './support/fixtures.js';
import { failure, unary } from './support/server.js';
import { fp32, wire } from './support/tensors.js';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'modelserve-startup-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A repository under the test's folder with a good tiny_mlp, plus `extra` files. */
async function repository(name: string, extra: Record<string, Uint8Array | string> = {}): Promise<string> {
  const dir = path.join(root, name);
  await put(dir, 'tiny_mlp/1/model.onnx', demoTinyMlp().bytes);
  await put(dir, 'tiny_mlp/config.yaml', 'instances: {count: 1}\n');
  for (const [file, bytes] of Object.entries(extra)) await put(dir, file, bytes);
  return dir;
}

type HealthClient = { Check(request: { service: string }, callback: (e: ServiceError | null, r?: { status: string }) => void): void; close(): void };

describe('a server loading its models', () => {
  it('listens at once with every health status NOT_SERVING, and serves once they have loaded', async () => {
    const dir = await repository('loading');
    await put(dir, 'tiny_mlp/config.yaml', 'instances: {count: 1}\nwarmup: false\n');
    const release = gate();
    const fake = new FakeBackend(() => ({
      signature: { inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 4] }], outputs: [{ name: 'output', datatype: 'FP32', shape: [-1, 3] }] },
      run: (inputs) => [{ name: 'output', datatype: 'FP32', shape: [inputs[0]!.shape[0]!, 3], data: new Float32Array(inputs[0]!.shape[0]! * 3) }],
    }));
    // Loading holds until the test releases it.
    const backend: Backend = {
      name: 'held',
      createInstance: async (options: InstanceOptions): Promise<ModelInstance> => {
        await release.promise;
        return fake.createInstance(options);
      },
    };
    let bound: (address: string) => void = () => undefined;
    const boundAt = new Promise<string>((resolve) => (bound = resolve));
    const logger = {
      info: (fields: object, message: string) => {
        if (message === 'port bound; loading the model repository') bound(String((fields as { address: string }).address));
      },
      warn: () => undefined,
      error: () => undefined,
    };
    const starting = startServer({ modelRepository: dir, host: '127.0.0.1', port: 0, backend, logger });
    const address = await boundAt;
    const healthPackage = loadPackageDefinition(loadSync(healthProtoPath, { enums: String })) as unknown as {
      grpc: { health: { v1: { Health: new (address: string, creds: ReturnType<typeof credentials.createInsecure>) => HealthClient } } };
    };
    const health = new healthPackage.grpc.health.v1.Health(address, credentials.createInsecure());
    const grpcObject = loadGrpcObject(loadPackageDefinition);
    const predictor = new grpcObject.modelserve.v1.Predictor(address, credentials.createInsecure());
    const inference = new grpcObject.inference.GRPCInferenceService(address, credentials.createInsecure());
    const check = async (service: string) => (await unary<{ status: string }>((cb) => health.Check({ service }, cb))).status;
    const predict = () => unary<PredictResponse__Output>((cb) => predictor.Predict({ model_name: 'tiny_mlp', inputs: [wire(fp32('input', [1, 4], new Float32Array(4)))] }, cb));
    try {
      expect(await check('')).toBe('NOT_SERVING');
      expect(await check('modelserve.v1.Predictor')).toBe('NOT_SERVING');
      expect((await unary<{ ready: boolean }>((cb) => inference.ServerReady({}, cb))).ready).toBe(false);
      expect(await failure(predict())).toMatchObject({ code: 14 });
      release.open();
      const server = await starting;
      expect(await check('')).toBe('SERVING');
      expect(await check('tiny_mlp')).toBe('SERVING');
      expect((await predict()).model_version).toBe('1');
      await server.close(1000);
    } finally {
      release.open();
      health.close();
      predictor.close();
      inference.close();
    }
  });
});
