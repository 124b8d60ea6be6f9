import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { bf16Identity, identity, multiIo, writeDemoRepository } from '@modelserve/model-zoo';

/** Writes `bytes` (or text) at `root/relative`, creating folders. */
export async function put(root: string, relative: string, bytes: Uint8Array | string): Promise<void> {
  await mkdir(path.dirname(path.join(root, relative)), { recursive: true });
  await writeFile(path.join(root, relative), bytes);
}

/**
 * A repository with the demo models (mnist_mlp 1 and 2, mnist_cnn, datatypes) plus models for edge
 * cases: `any_rank` (FP32 identity of any rank), `multi_io`, `multi_io_default` (an input backed by an
 * initializer, which clients need not send), and `bf16` (which cannot load).
 */
export async function fixtureRepository(): Promise<string> {
  const root = await mkdtemp(path.join(tmpdir(), 'modelserve-fixtures-'));
  await writeDemoRepository(root);
  await put(root, 'any_rank/1/model.onnx', identity('float32', 'unranked'));
  await put(root, 'any_rank_int64/1/model.onnx', identity('int64', 'unranked'));
  await put(root, 'multi_io/1/model.onnx', multiIo());
  await put(root, 'multi_io_default/1/model.onnx', multiIo({ withDefault: true }));
  await put(root, 'bf16/1/model.onnx', bf16Identity());
  return root;
}
