import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { datatypes } from './datatypes.js';
import { demoCnn, demoMlp, demoModels, writeDemoRepository } from './demo-repository.js';
import { sameBytes } from './testing/bytes.js';
import { load, maxAbsDiff, pixels, runFloat } from './testing/ort.js';

const COMMITTED = fileURLToPath(new URL('../../../apps/modelserve/models', import.meta.url));

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

describe('writeDemoRepository', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'model-zoo-'));
    await writeDemoRepository(dir);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('writes the Triton-style layout', async () => {
    expect(await listFiles(dir)).toEqual([
      'datatypes/1/model.onnx',
      'mnist_cnn/1/model.onnx',
      'mnist_cnn/config.yaml',
      'mnist_mlp/1/model.onnx',
      'mnist_mlp/2/model.onnx',
      'mnist_mlp/config.yaml',
      'tiny_mlp/1/model.onnx',
      'tiny_mlp/config.yaml',
    ]);
  });

  it('writes the exact config files', async () => {
    expect(await readFile(join(dir, 'mnist_mlp/config.yaml'), 'utf8')).toBe(
      '# Both versions serve; requests that name no version get the highest (2).\nmax_batch_size: 128\nversion_policy: all\n',
    );
    expect(await readFile(join(dir, 'mnist_cnn/config.yaml'), 'utf8')).toBe('max_batch_size: 64\n');
  });

  it('stores the models demoMlp/demoCnn/datatypes describe', async () => {
    const stored = async (p: string) => new Uint8Array(await readFile(join(dir, p)));
    expect(sameBytes(await stored('mnist_mlp/1/model.onnx'), demoMlp(1).bytes)).toBe(true);
    expect(sameBytes(await stored('mnist_mlp/2/model.onnx'), demoMlp(2).bytes)).toBe(true);
    expect(sameBytes(await stored('mnist_cnn/1/model.onnx'), demoCnn().bytes)).toBe(true);
    expect(sameBytes(await stored('datatypes/1/model.onnx'), datatypes())).toBe(true);
    expect(sameBytes(demoMlp(1).bytes, demoMlp(2).bytes)).toBe(false);
  });

  it('reference evaluators match onnxruntime on the written files', async () => {
    const input = pixels(2 * 784, 9);
    for (const version of demoModels.mnist_mlp.versions) {
      const session = await load(await readFile(join(dir, `mnist_mlp/${version}/model.onnx`)));
      expect(maxAbsDiff(demoMlp(version).forward(input, 2), await runFloat(session, input, [2, 784]))).toBeLessThan(1e-4);
    }
    const session = await load(await readFile(join(dir, 'mnist_cnn/1/model.onnx')));
    expect(maxAbsDiff(demoCnn().forward(input, 2), await runFloat(session, input, [2, 1, 28, 28]))).toBeLessThan(1e-4);
  });

  it('matches the committed apps/modelserve/models (run `pnpm run gen:demo` after changing generators)', async () => {
    const files = await listFiles(dir);
    expect(await listFiles(COMMITTED)).toEqual(files);
    for (const file of files) {
      const [fresh, committed] = await Promise.all([readFile(join(dir, file)), readFile(join(COMMITTED, file))]);
      expect(fresh.equals(committed), file).toBe(true);
    }
  });
});
