/**
 * Start-up mistakes a newcomer makes, against real servers: a model that fails to load
 * (`--exit-on-error`), a port already in use (found before any model loads), and a server that
 * listens while its models load (health NOT_SERVING until they have).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { credentials, loadPackageDefinition, type ServiceError } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import type { Backend, InstanceOptions, ModelInstance } from '@modelserve/core';
import { FakeBackend, gate } from '@modelserve/core/testing';
import { demoTinyMlp } from '@modelserve/model-zoo';
import { loadGrpcObject, type PredictResponse__Output } from '@modelserve/proto';
import { startServer } from '@modelserve/server';
import { protoPath as healthProtoPath } from 'grpc-health-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliPath, spawnServe, type ServeProcess } from './support/cli.js';
import { put } from './support/fixtures.js';
import { failure, unary } from './support/server.js';
import { fp32, wire } from './support/tensors.js';

const run = promisify(execFile);
// Each test spawns node with grpc-js, the protos and onnxruntime, seconds apiece on a busy
// machine: a limit for a hung test, not a speed claim.
const spawnsTimeoutMs = 120_000;

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

const brokenModels = { 'broken/1/model.onnx': 'not an onnx model', 'flat/model.onnx': demoTinyMlp().bytes };
const flatMessage = 'model folder "flat" has model.onnx directly inside; expected <repo>/flat/<version>/model.onnx with a numeric version such as 1';

describe('modelserve serve --exit-on-error (the default)', () => {
  it('exits non-zero when a model fails at start-up, naming each failure on stderr in words', async () => {
    const serve = spawnServe(['--host', '127.0.0.1', '--port', '0', '--model-repository', await repository('exit', brokenModels)]);
    try {
      expect(await serve.exited).toBe(1);
      expect(serve.stderr).toEqual([
        `modelserve: error: ${flatMessage}`,
        expect.stringMatching(/^modelserve: error: model 'broken' version 1 failed to load: onnxruntime cannot load model 'broken' version 1: /),
        'modelserve: 2 models failed to load at start-up; exiting (--no-exit-on-error serves the models that loaded)',
      ]);
      expect(serve.logs.find((l) => l.msg === 'exiting: models failed to load at start-up (--exit-on-error)')).toMatchObject({ failures: [flatMessage, expect.any(String)] });
      expect(serve.logs.at(-1)).toMatchObject({ msg: 'modelserve stopped' });
    } finally {
      serve.kill();
    }
  }, spawnsTimeoutMs);

  it('keeps serving the models that loaded with --no-exit-on-error, still naming the failures on stderr', async () => {
    const serve = spawnServe(['--host', '127.0.0.1', '--port', '0', '--no-exit-on-error', '--model-repository', await repository('keep', brokenModels)]);
    try {
      const { address } = await serve.log((l) => l.msg === 'modelserve listening');
      await serve.errorLine((line) => line.includes('serving the models that loaded'));
      expect(serve.stderr).toEqual([
        `modelserve: error: ${flatMessage}`,
        expect.stringMatching(/^modelserve: error: model 'broken' version 1 failed to load: /),
        'modelserve: 2 models failed to load at start-up; serving the models that loaded (--no-exit-on-error)',
      ]);
      const { stdout } = await run(process.execPath, [cliPath, 'models', '--address', String(address)]);
      expect(stdout).toMatch(/broken\s+1\s+FAILED\s+onnxruntime cannot load/);
      expect(stdout).toMatch(/tiny_mlp\s+1\s+READY\s+100%/);
    } finally {
      serve.kill();
    }
  }, spawnsTimeoutMs);
});

describe('a port in use', () => {
  let first: ServeProcess;
  let port: number;
  beforeAll(async () => {
    first = spawnServe(['--host', '127.0.0.1', '--port', '0', '--model-repository', await repository('first')]);
    port = Number(String((await first.log((l) => l.msg === 'modelserve listening')).address).split(':').at(-1));
  }, spawnsTimeoutMs);
  afterAll(() => first.kill());

  it('is reported before any model loads, naming the process that holds it and the flag to change', async () => {
    const second = spawnServe(['--host', '127.0.0.1', '--port', String(port), '--model-repository', await repository('second')]);
    try {
      expect(await second.exited).toBe(1);
      const told = `port ${port} on 127.0.0.1 is in use by process ${first.process.pid} (`;
      // One line on stderr: grpc-js's own about the failed bind goes to the JSON log.
      expect(second.stderr).toEqual([expect.stringMatching(/\): stop it or pass --port$/)]);
      expect(second.stderr[0]).toContain(`modelserve: ${told}`);
      expect(second.logs.find((l) => l.source === 'grpc-js')).toMatchObject({ msg: expect.stringContaining('No address added') });
      expect(second.logs.find((l) => l.msg === 'cannot listen')).toMatchObject({ port, reason: expect.stringContaining(told) });
      // The port is bound before the repository loads: not one model was loaded to find out.
      expect(second.logs.filter((l) => l.msg === 'model version loaded' || l.msg === 'port bound; loading the model repository')).toEqual([]);
    } finally {
      second.kill();
    }
  }, spawnsTimeoutMs);
});

describe('a server loading its models', () => {
  it('listens at once, NOT_SERVING in health and ServerReady, and serves once the models have loaded', async () => {
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
      expect(await check('modelserve.v1.Liveness')).toBe('SERVING');
      // Models are listed once loaded, in name order, not in the order their loads finish.
      expect(await failure(unary((cb) => health.Check({ service: 'tiny_mlp' }, cb)))).toMatchObject({ code: 5 });
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
