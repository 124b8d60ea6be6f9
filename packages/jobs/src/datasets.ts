/**
 * Datasets a job reads its rows from and writes its results to, under the jobs data directory:
 * NPY (one file for one tensor, or a directory of `<name>.npy` files) and JSONL (a JSON object per
 * line). Readers read rows at their offsets (a resumed job starts anywhere, a file may be larger than
 * memory); writers take rows in order and make their files visible at close, by renaming them.
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { invalidArgument } from '@modelserve/core';
import { openJsonlSource } from './dataset-jsonl-source.js';
import { openJsonlWriter } from './dataset-jsonl-writer.js';
import { openNpyDirSource, openNpySource } from './dataset-npy-source.js';
import { openNpyWriter } from './dataset-npy-writer.js';
import { resolveDataPath } from './dataset-path.js';
import type { DatasetFormat, DatasetRef, ResultWriter, RowSource, RowTensorSpec } from './types.js';

export { resolveDataPath } from './dataset-path.js';

const formats: readonly DatasetFormat[] = ['npy', 'npy-dir', 'jsonl'];

/**
 * The format of a dataset: its explicit format, which must agree with what the path is (npy-dir a
 * directory, npy and jsonl a file), or else from the path: a directory is npy-dir, `*.npy` npy,
 * `*.jsonl` jsonl.
 */
export function datasetFormat(ref: DatasetRef, isDirectory: boolean): DatasetFormat {
  const where = `dataset ${JSON.stringify(ref.path)}`;
  if (ref.format !== undefined) {
    if (!formats.includes(ref.format)) throw invalidArgument(`${where}: expected format npy, npy-dir or jsonl, got ${JSON.stringify(ref.format)}`);
    if ((ref.format === 'npy-dir') !== isDirectory) {
      throw invalidArgument(`${where}: format ${ref.format} expects ${ref.format === 'npy-dir' ? 'a directory' : 'a file'}, got ${isDirectory ? 'a directory' : 'a file'}`);
    }
    return ref.format;
  }
  if (isDirectory) return 'npy-dir';
  if (ref.path.endsWith('.npy')) return 'npy';
  if (ref.path.endsWith('.jsonl')) return 'jsonl';
  throw invalidArgument(`${where}: cannot tell its format; expected a directory (npy-dir), a *.npy file (npy) or a *.jsonl file (jsonl), or a format named`);
}

/** Opens a dataset under `dataDir` as the rows of a model's `inputs` (shapes without the batch dimension). */
export async function openDataset(dataDir: string, ref: DatasetRef, inputs: readonly RowTensorSpec[]): Promise<RowSource> {
  const file = await resolveDataPath(dataDir, ref.path, 'input');
  const format = datasetFormat(ref, (await stat(file)).isDirectory());
  const where = `dataset ${JSON.stringify(ref.path)}`;
  switch (format) {
    case 'npy':
      return openNpySource(file, where, inputs);
    case 'npy-dir':
      return openNpyDirSource(file, (name) => resolveDataPath(dataDir, path.posix.join(ref.path, name), 'input'), where, inputs);
    case 'jsonl':
      return openJsonlSource(file, where, inputs);
  }
}

/**
 * Opens a writer of `rowsTotal` results under `dataDir`, for a job that keeps `outputs`. A path
 * that does not exist yet is a file when named `*.npy` or `*.jsonl` and the format is not npy-dir,
 * else a directory; parent directories are created.
 */
export async function openResultWriter(dataDir: string, ref: DatasetRef, outputs: readonly RowTensorSpec[], rowsTotal: number): Promise<ResultWriter> {
  const target = await resolveDataPath(dataDir, ref.path, 'output');
  const existing = await stat(target).catch(() => undefined);
  const isDirectory = existing?.isDirectory() ?? (ref.format === 'npy-dir' || !/\.(npy|jsonl)$/.test(ref.path));
  const format = datasetFormat(ref, isDirectory);
  const where = `output ${JSON.stringify(ref.path)}`;
  return format === 'jsonl' ? openJsonlWriter(target, where, outputs, rowsTotal) : openNpyWriter(target, where, format, outputs, rowsTotal);
}
