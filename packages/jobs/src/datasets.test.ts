import { mkdir, mkdtemp, readdir, readFile, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { NamedTensor } from '@modelserve/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { datasetFormat, openDataset, openResultWriter, resolveDataPath } from './datasets.js';
import { formatNpyHeader } from './npy.js';
import type { RowResult, RowTensorSpec } from './types.js';

let root: string;
let data: string;
let outside: string;

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'modelserve-datasets-'));
  data = path.join(root, 'data');
  outside = path.join(root, 'outside');
  await mkdir(path.join(data, 'sub'), { recursive: true });
  await mkdir(outside);
  await writeFile(path.join(outside, 'secret.jsonl'), '{"input": [1]}\n');
  await writeFile(path.join(data, 'sub', 'rows.jsonl'), '{"input": [1]}\n');
  await symlink(path.join(outside, 'secret.jsonl'), path.join(data, 'escape.jsonl'));
  await symlink(outside, path.join(data, 'escape-dir'));
  await symlink(path.join(data, 'sub', 'rows.jsonl'), path.join(data, 'alias.jsonl'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const x: RowTensorSpec = { name: 'x', datatype: 'FP32', shape: [3] };
const y: RowTensorSpec = { name: 'y', datatype: 'INT64', shape: [2] };

/** A .npy file of `rows` rows of x: row i is [i, i + 0.5, -i - 1]. */
async function writeNpy(file: string, rows: number): Promise<void> {
  const values = new Float32Array(rows * 3);
  for (let i = 0; i < rows; i++) values.set([i, i + 0.5, -i - 1], i * 3);
  await writeFile(file, Buffer.concat([formatNpyHeader('<f4', [rows, 3]), new Uint8Array(values.buffer)]));
}

const xRow = (i: number): NamedTensor => ({ name: 'x', datatype: 'FP32', shape: [3], data: Float32Array.of(i, i + 0.5, -i - 1) });
const yRow = (i: number): NamedTensor => ({ name: 'y', datatype: 'INT64', shape: [2], data: BigInt64Array.of(BigInt(i), -(2n ** 62n)) });

describe('resolveDataPath', () => {
  it('gives the real path of an input inside the data directory, through a symlink that stays inside', async () => {
    expect(await resolveDataPath(data, 'sub/rows.jsonl', 'input')).toBe(path.join(await realData(), 'sub', 'rows.jsonl'));
    expect(await resolveDataPath(data, 'alias.jsonl', 'input')).toBe(path.join(await realData(), 'sub', 'rows.jsonl'));
  });

  it('refuses an empty path, an absolute path, a .. segment and a NUL byte, naming the path', async () => {
    await expect(resolveDataPath(data, '', 'input')).rejects.toMatchObject({ errorCode: 'InvalidArgument', details: 'dataset path "": expected a path relative to the jobs data directory, got an empty one' });
    await expect(resolveDataPath(data, '/etc/passwd', 'input')).rejects.toMatchObject({ details: 'dataset path "/etc/passwd": expected a path relative to the jobs data directory, got an absolute one' });
    await expect(resolveDataPath(data, '../x', 'input')).rejects.toMatchObject({ details: 'dataset path "../x": expected a path inside the jobs data directory, got one that leaves it' });
    await expect(resolveDataPath(data, 'sub/../sub/rows.jsonl', 'output')).rejects.toMatchObject({ details: 'output path "sub/../sub/rows.jsonl": expected a path inside the jobs data directory, got one that leaves it' });
    await expect(resolveDataPath(data, 'a\0b', 'input')).rejects.toMatchObject({ details: 'dataset path "a\\u0000b": expected a path without NUL bytes, got one with' });
  });

  it('refuses a symlink that leads outside, for inputs and for outputs written through it', async () => {
    const leaves = 'expected a path inside the jobs data directory, got one that leads outside it through a symlink';
    await expect(resolveDataPath(data, 'escape.jsonl', 'input')).rejects.toMatchObject({ errorCode: 'InvalidArgument', details: `dataset path "escape.jsonl": ${leaves}` });
    await expect(resolveDataPath(data, 'escape-dir/secret.jsonl', 'input')).rejects.toMatchObject({ details: `dataset path "escape-dir/secret.jsonl": ${leaves}` });
    await expect(resolveDataPath(data, 'escape-dir/new/out.jsonl', 'output')).rejects.toMatchObject({ details: `output path "escape-dir/new/out.jsonl": ${leaves}` });
  });

  it('refuses an output that is a symlink itself, even one that stays inside', async () => {
    await expect(resolveDataPath(data, 'alias.jsonl', 'output')).rejects.toMatchObject({ details: 'output path "alias.jsonl": expected a file or directory to write, got a symlink' });
  });

  it('gives an output that does not exist yet, nor its parents', async () => {
    expect(await resolveDataPath(data, 'new/deeper/out.npy', 'output')).toBe(path.join(await realData(), 'new', 'deeper', 'out.npy'));
  });

  it('answers an input that does not exist with not found', async () => {
    await expect(resolveDataPath(data, 'missing.npy', 'input')).rejects.toMatchObject({ errorCode: 'InvalidArgument', details: 'dataset path "missing.npy": not found in the jobs data directory' });
  });
});

const realData = (): Promise<string> => realpath(data);

describe('datasetFormat', () => {
  it('tells the format from the path, or takes the one named when it agrees with file or directory', () => {
    expect(datasetFormat({ path: 'a.npy' }, false)).toBe('npy');
    expect(datasetFormat({ path: 'a.jsonl' }, false)).toBe('jsonl');
    expect(datasetFormat({ path: 'a' }, true)).toBe('npy-dir');
    expect(datasetFormat({ path: 'a.bin', format: 'npy' }, false)).toBe('npy');
    expect(() => datasetFormat({ path: 'a.npy', format: 'npy-dir' }, false)).toThrow('dataset "a.npy": format npy-dir expects a directory, got a file');
    expect(() => datasetFormat({ path: 'a', format: 'jsonl' }, true)).toThrow('dataset "a": format jsonl expects a file, got a directory');
    expect(() => datasetFormat({ path: 'a.csv' }, false)).toThrow('dataset "a.csv": cannot tell its format; expected a directory (npy-dir), a *.npy file (npy) or a *.jsonl file (jsonl), or a format named');
  });
});

describe('round trips', () => {
  const results = (n: number, failing: (i: number) => boolean, outputs: (i: number) => NamedTensor[]): RowResult[] =>
    Array.from({ length: n }, (_, row) => (failing(row) ? { row, error: `row ${row} failed` } : { row, outputs: outputs(row) }));

  it('npy: rows written come back, failed rows as zeros listed in <file>.errors.jsonl', async () => {
    const writer = await openResultWriter(data, { path: 'rt/out.npy' }, [x], 10);
    const rows = results(10, (i) => i === 0 || i === 7, (i) => [xRow(i)]);
    await writer.write(rows.slice(0, 4));
    await writer.write(rows.slice(4));
    await writer.close();
    const source = await openDataset(data, { path: 'rt/out.npy' }, [x]);
    expect(source.rows).toBe(10);
    const read = await source.read(0, 10);
    expect(read.map((r) => [...(r.inputs![0]!.data as Float32Array)])).toEqual(rows.map((r) => (r.error === undefined ? [...(xRow(r.row).data as Float32Array)] : [0, 0, 0])));
    await source.close();
    const errors = (await readFile(path.join(data, 'rt', 'out.npy.errors.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    expect(errors).toEqual([
      { row: 0, error: 'row 0 failed' },
      { row: 7, error: 'row 7 failed' },
    ]);
  });

  it('npy-dir: one file per output, read back as one dataset of two inputs', async () => {
    const writer = await openResultWriter(data, { path: 'rt/dir' }, [x, y], 5);
    await writer.write(results(5, () => false, (i) => [yRow(i), xRow(i)]));
    await writer.close();
    expect((await readdir(path.join(data, 'rt', 'dir'))).sort()).toEqual(['x.npy', 'y.npy']);
    const source = await openDataset(data, { path: 'rt/dir' }, [x, y]);
    expect(await source.read(3, 5)).toEqual([
      { row: 3, inputs: [xRow(3), yRow(3)] },
      { row: 4, inputs: [xRow(4), yRow(4)] },
    ]);
    await source.close();
  });

  it('jsonl: outputs and errors by row, read back as inputs', async () => {
    const writer = await openResultWriter(data, { path: 'rt/out.jsonl' }, [x, y], 3);
    await writer.write(results(3, (i) => i === 1, (i) => [xRow(i), yRow(i)]));
    await writer.close();
    const lines = (await readFile(path.join(data, 'rt', 'out.jsonl'), 'utf8')).split('\n');
    expect(lines).toEqual([
      '{"row":0,"outputs":{"x":[0,0.5,-1],"y":[0,"-4611686018427387904"]}}',
      '{"row":1,"error":"row 1 failed"}',
      '{"row":2,"outputs":{"x":[2,2.5,-3],"y":[2,"-4611686018427387904"]}}',
      '',
    ]);
    // A results line holds what an input line does: rewritten as {"inputs": ...}, it reads back.
    await writeFile(path.join(data, 'rt', 'again.jsonl'), lines.map((l) => l.replace(/^\{"row":\d+,"outputs":/, '{"inputs":')).join('\n'));
    const source = await openDataset(data, { path: 'rt/again.jsonl' }, [x, y]);
    const read = await source.read(0, 3);
    expect(read[0]).toEqual({ row: 0, inputs: [xRow(0), yRow(0)] });
    expect(read[1]).toEqual({ row: 1, error: 'expected a JSON object with "input" or "inputs", got keys "row", "error"' });
    expect(read[2]).toEqual({ row: 2, inputs: [xRow(2), yRow(2)] });
    await source.close();
  });
});

describe('random access', () => {
  it('reads any range of a 200,000-row .npy file in chunks of 64; a read\'s rows are adjacent views of its own buffer', async () => {
    const rows = 200_000;
    await writeNpy(path.join(data, 'big.npy'), rows);
    const source = await openDataset(data, { path: 'big.npy' }, [x]);
    expect(source.rows).toBe(rows);
    for (let start = 0; start < rows; start += 64) {
      const chunk = await source.read(start, Math.min(rows, start + 64));
      for (const r of chunk) {
        const d = r.inputs![0]!.data as Float32Array;
        if (d[0] !== r.row || d[1] !== r.row + 0.5 || d[2] !== -r.row - 1) throw new Error(`row ${r.row} holds ${[...d].join(', ')}`);
      }
      expect(chunk[0]!.row).toBe(start);
    }
    // A resumed job starts anywhere, and chunks are read at once: each read has a buffer of its
    // own, its rows side by side in it (so the engine batches them without a copy).
    const [late, early] = await Promise.all([source.read(199_990, 200_000), source.read(5, 6)]);
    expect(late.map((r) => r.row)).toEqual(Array.from({ length: 10 }, (_, i) => 199_990 + i));
    expect(early[0]!.inputs![0]!.data).toEqual(Float32Array.of(5, 5.5, -6));
    const views = late.map((r) => r.inputs![0]!.data as Float32Array);
    expect(views.map((v) => [v.buffer === views[0]!.buffer, v.byteOffset, v.length])).toEqual(views.map((_, i) => [true, i * 12, 3]));
    expect((early[0]!.inputs![0]!.data as Float32Array).buffer).not.toBe(views[0]!.buffer);
    await expect(source.read(199_999, 200_001)).rejects.toMatchObject({ errorCode: 'OutOfRange', details: 'dataset "big.npy": rows [199999, 200001): expected a range within its 200000 rows' });
    await source.close();
  });

  it('reads any range of a JSONL file, its index kept every 64 lines', async () => {
    const lines = Array.from({ length: 1000 }, (_, i) => JSON.stringify({ input: [i, i + 0.5, -i - 1] }));
    await writeFile(path.join(data, 'many.jsonl'), `${lines.join('\r\n')}\r\n\n  \n`);
    const source = await openDataset(data, { path: 'many.jsonl' }, [x]);
    expect(source.rows).toBe(1000);
    for (const [start, end] of [
      [0, 1],
      [63, 65],
      [64, 128],
      [500, 777],
      [999, 1000],
      [1000, 1000],
    ] as const) {
      const read = await source.read(start, end);
      expect(read.map((r) => r.row)).toEqual(Array.from({ length: end - start }, (_, i) => start + i));
      expect(read.map((r) => r.inputs![0])).toEqual(read.map((r) => xRow(r.row)));
    }
    await source.close();
  });
});

describe('writer atomicity', () => {
  for (const [format, target, outputs] of [
    ['npy', 'atomic/out.npy', [x]],
    ['npy-dir', 'atomic/dir', [x, y]],
    ['jsonl', 'atomic/out.jsonl', [x, y]],
  ] as const) {
    it(`${format}: nothing is visible before close, and abort leaves nothing`, async () => {
      const rows: RowResult[] = [0, 1, 2].map((row) => ({ row, outputs: [xRow(row), yRow(row)] }));
      const writer = await openResultWriter(data, { path: target }, outputs, 3);
      await writer.write(rows);
      expect(await visible(path.join(data, 'atomic'))).toEqual([]);
      await writer.close();
      expect(await visible(path.join(data, 'atomic'))).toEqual([path.basename(target)]);
      await rm(path.join(data, 'atomic'), { recursive: true });

      const aborted = await openResultWriter(data, { path: target }, outputs, 3);
      await aborted.write(rows.slice(0, 2));
      await aborted.abort();
      expect(await readdir(data)).not.toContain('atomic');
    });
  }

  it('refuses a close before every row was written, and rows out of order', async () => {
    const writer = await openResultWriter(data, { path: 'short.jsonl' }, [x], 3);
    await expect(writer.write([{ row: 1, outputs: [xRow(1)] }])).rejects.toMatchObject({ errorCode: 'InvalidArgument', details: 'output "short.jsonl": expected row 0 next, got row 1' });
    await writer.write([{ row: 0, outputs: [xRow(0)] }]);
    await expect(writer.close()).rejects.toMatchObject({ errorCode: 'FailedPrecondition', details: 'output "short.jsonl": expected 3 rows, got 1' });
    await writer.abort();
    expect(await readdir(data)).not.toContain('short.jsonl');
  });

  it('replaces an earlier results file, and drops its stale errors file when no row failed', async () => {
    for (const failing of [true, false]) {
      const writer = await openResultWriter(data, { path: 'again/out.npy' }, [x], 2);
      await writer.write([{ row: 0, outputs: [xRow(0)] }, failing ? { row: 1, error: 'no' } : { row: 1, outputs: [xRow(1)] }]);
      await writer.close();
      expect((await readdir(path.join(data, 'again'))).sort()).toEqual(failing ? ['out.npy', 'out.npy.errors.jsonl'] : ['out.npy']);
    }
  });
});

/** The names in `dir` a user sees: not hidden (temporary) ones. */
async function visible(dir: string): Promise<string[]> {
  const names = await readdir(dir).catch(() => []);
  return names.filter((n) => !n.startsWith('.'));
}
