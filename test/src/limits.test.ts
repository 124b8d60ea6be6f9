/**
 * Server limits with clear errors: the longest BYTES element, and the most models loaded at once.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { status } from '@grpc/grpc-js';
import { demoTinyMlp, identity } from '@modelserve/model-zoo';
import type { ListModelsResponse__Output } from '@modelserve/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failure, startTestServer, unary, type TestServer } from './support/server.js';

let root: string;
let t: TestServer;
beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'modelserve-limits-'));
  const put = async (relative: string, bytes: Uint8Array) => {
    await mkdir(path.dirname(path.join(root, relative)), { recursive: true });
    await writeFile(path.join(root, relative), bytes);
  };
  await put('text/1/model.onnx', identity('string', 'unranked'));
  await put('a/1/model.onnx', demoTinyMlp().bytes);
  await put('b/1/model.onnx', demoTinyMlp().bytes);
  t = await startTestServer({ modelRepository: root, maxBytesElement: 8, maxLoadedModels: 2 });
}, 60_000);
afterAll(async () => {
  await t.close();
  await rm(root, { recursive: true, force: true });
});

const loaded = async () => {
  const { models } = await unary<ListModelsResponse__Output>((cb) => t.admin.ListModels({}, cb));
  return models.filter((m) => m.versions.some((v) => v.state === 'VERSION_STATE_READY')).map((m) => m.name).sort();
};

describe('limits', () => {
  it('loads at most maxLoadedModels models, refuses one more with RESOURCE_EXHAUSTED, and has room again after an unload', async () => {
    const first = await loaded();
    expect(first).toHaveLength(2);
    const missing = ['a', 'b', 'text'].find((m) => !first.includes(m))!;
    const refused = await failure(unary((cb) => t.admin.LoadModel({ name: missing }, cb)));
    expect({ code: refused.code, details: refused.details }).toEqual({
      code: status.RESOURCE_EXHAUSTED,
      details: `model '${missing}' cannot load: 2 models are loaded, the limit is 2`,
    });
    const victim = first.find((m) => m !== 'text') ?? first[0]!;
    await unary((cb) => t.admin.UnloadModel({ name: victim }, cb));
    await unary((cb) => t.admin.LoadModel({ name: missing }, cb));
    expect(await loaded()).toEqual([...first.filter((m) => m !== victim), missing].sort());
    // Put text back for the next test if it was the one unloaded.
    const now = await loaded();
    if (!now.includes('text')) {
      const other = now.find((m) => m !== 'text')!;
      await unary((cb) => t.admin.UnloadModel({ name: other }, cb));
      await unary((cb) => t.admin.LoadModel({ name: 'text' }, cb));
    }
  });

  it('refuses a BYTES element longer than maxBytesElement, naming the element', async () => {
    const request = (elements: string[]) => ({
      model_name: 'text',
      inputs: [{ name: 'input', datatype: 'BYTES', shape: [elements.length], contents: { bytes_contents: elements.map((e) => Buffer.from(e)) } }],
    });
    expect((await unary<{ outputs: unknown[] }>((cb) => t.predictor.Predict(request(['12345678']), cb))).outputs).toHaveLength(1);
    const error = await failure(unary((cb) => t.predictor.Predict(request(['ok', '123456789']), cb)));
    expect({ code: error.code, details: error.details }).toEqual({
      code: status.INVALID_ARGUMENT,
      details: "model 'text' version 1: input 'input' BYTES element 1 is 9 bytes, expected at most 8",
    });
  });
});
