/**
 * The floor server (`pnpm bench:floor`) is a baseline, so it must answer what modelserve answers:
 * real outputs, each request its own row of a gathered run, and an error for a request it cannot read.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { loadGrpcObject, type PredictResponse__Output } from '@modelserve/proto';
import ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { benchModels, predictRequest } from './payloads.js';
import { generateModels, temporaryDirectory } from './repository.js';
import { listeningPort } from './servers-baseline.js';

const model = benchModels.cnn;
let dir: { path: string; remove: () => void };
let modelFile: string;
let session: ort.InferenceSession;

beforeAll(async () => {
  dir = await temporaryDirectory('modelserve-floor-test-');
  modelFile = join(dir.path, 'model.onnx');
  await writeFile(modelFile, generateModels([model]).get(model.name)!);
  session = await ort.InferenceSession.create(modelFile);
});

afterAll(() => dir.remove());

async function startFloor(mode: string, workers: number): Promise<{ child: ChildProcess; port: number }> {
  const script = fileURLToPath(new URL('../dist/server-floor.js', import.meta.url));
  const child = fork(script, [modelFile, mode, String(workers), ...model.sampleDims.map(String)], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  return { child, port: await listeningPort(child) };
}

describe.each([
  ['batched', 1],
  ['unbatched', 2],
])('floor server, %s', (mode, workers) => {
  it('answers 24 concurrent requests with the outputs onnxruntime gives each of them, and refuses one it cannot read', async () => {
    const { child, port } = await startFloor(mode, workers);
    const Predictor = loadGrpcObject(grpc.loadPackageDefinition).modelserve.v1.Predictor;
    const client = new Predictor(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    const call = (request: object): Promise<PredictResponse__Output> =>
      new Promise((resolve, reject) => client.Predict(request, (error, response) => (error === null ? resolve(response!) : reject(error))));
    try {
      const requests = Array.from({ length: 24 }, (_, i) => predictRequest(model, 7 + i));
      const answers = await Promise.all(requests.map(call));
      for (let i = 0; i < requests.length; i++) {
        const raw = requests[i]!.inputs![0]!.raw_contents as Buffer;
        const x = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
        const expected = (await session.run({ [model.inputName]: new ort.Tensor('float32', x, [1, ...model.sampleDims]) }))[session.outputNames[0]!]!.data as Float32Array;
        const got = answers[i]!.outputs[0]!.raw_contents;
        const values = new Float32Array(got.buffer.slice(got.byteOffset, got.byteOffset + got.byteLength));
        expect(values.length).toBe(model.outputSize);
        values.forEach((v, j) => expect(v).toBeCloseTo(expected[j]!, 4));
      }
      await expect(call({ model_name: model.name, inputs: [] })).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
    } finally {
      client.close();
      child.kill();
    }
  });
});
