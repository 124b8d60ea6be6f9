/**
 * A server over 200 models (the tiny zoo, one session each on the shared inference pool), through
 * the Open Inference Protocol: every model listed READY, and every one answering as its reference
 * evaluator does.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { mulberry32, tinyModel, tinyModelName, writeManyModelRepository, maxRelativeDiff } from '@modelserve/model-zoo';
import { decodeRawTensorData, encodeRawTensorData, type DecodedTensor, type oip } from '@modelserve/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, unary, type TestServer } from './support/server.js';
import { fp32 } from './support/tensors.js';

const MODELS = 200;
const names = Array.from({ length: MODELS }, (_, i) => tinyModelName(i));

let root: string;
let t: TestServer;
beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'modelserve-many-models-'));
  await writeManyModelRepository(root, MODELS);
  // Resolves once every model has loaded (READY or FAILED).
  t = await startTestServer({ modelRepository: root });
}, 120_000);
afterAll(async () => {
  await t?.close();
  await rm(root, { recursive: true, force: true });
});

type Client = oip.GRPCInferenceServiceClient;
/** A unary OIP call by method name, as a promise. */
function call<Res>(method: keyof Client & string, request: object): Promise<Res> {
  const fn = t.inference[method] as unknown as (req: object, cb: (e: unknown, r?: Res) => void) => void;
  return unary<Res>((cb) => fn.call(t.inference, request, cb as never));
}

/** Seeded values in [-1, 1) for model `index`'s input. */
function sample(index: number, count: number): Float32Array {
  const random = mulberry32(2000 + index);
  return Float32Array.from({ length: count }, () => random() * 2 - 1);
}

/** Sends tiny model `index` one ModelInfer (batch 1 or 2, raw contents) and checks the answer against its reference evaluator. */
async function answersAsItsReference(index: number): Promise<void> {
  const model = tinyModel(index);
  const batch = 1 + (index % 2);
  const x = sample(index, batch * model.inputSize);
  const input: DecodedTensor = fp32('input', [batch, model.inputSize], x);
  const response = await call<oip.ModelInferResponse__Output>('ModelInfer', {
    model_name: names[index],
    id: `many-${index}`,
    inputs: [{ name: 'input', datatype: 'FP32', shape: input.shape }],
    raw_input_contents: [encodeRawTensorData(input)],
  });
  expect(response).toMatchObject({ model_name: names[index], model_version: '1', id: `many-${index}` });
  expect(response.outputs.map((o) => [o.name, o.datatype, o.shape.map(Number)])).toEqual([['output', 'FP32', [batch, model.outputSize]]]);
  const y = decodeRawTensorData('FP32', [batch, model.outputSize], batch * model.outputSize, response.raw_output_contents[0]!, 'output') as Float32Array;
  expect(maxRelativeDiff(y, model.forward(x, batch)), names[index]).toBeLessThan(1e-4);
}

describe('a server with 200 models', () => {
  it('is ready and lists every model READY in RepositoryIndex', async () => {
    expect(await call('ServerReady', {})).toEqual({ ready: true });
    const { models } = await call<oip.RepositoryIndexResponse__Output>('RepositoryIndex', {});
    expect(models.map((m) => m.name).sort()).toEqual(names);
    expect(models.filter((m) => m.state !== 'READY' || m.version !== '1')).toEqual([]);
  });

  it('answers one ModelInfer for every model as its reference evaluator does', async () => {
    await Promise.all(names.map((_, i) => answersAsItsReference(i)));
  }, 60_000);
});
