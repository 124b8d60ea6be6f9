import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { NamedTensor } from '@modelserve/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDataset, openResultWriter } from './datasets.js';
import type { RowTensorSpec } from './types.js';

let data: string;

beforeAll(async () => {
  data = await mkdtemp(path.join(tmpdir(), 'modelserve-npy-'));
});

afterAll(async () => {
  await rm(data, { recursive: true, force: true });
});

/**
 * A .npy file as NumPy lays it out, built by hand (not by the writer under test): the magic, the
 * version, the header's length (uint16 LE in 1.0, uint32 LE in 2.0 and 3.0), the header padded
 * with spaces and a newline to a multiple of 64, then the data.
 */
function npy(descr: string, shape: string, data: ArrayBufferView = new Uint8Array(), major = 1, fortran = 'False'): Uint8Array {
  const header = `{'descr': '${descr}', 'fortran_order': ${fortran}, 'shape': ${shape}, }`;
  const prefix = major === 1 ? 10 : 12;
  const text = header + ' '.repeat((64 - ((prefix + header.length + 1) % 64)) % 64) + '\n';
  const out = new Uint8Array(prefix + text.length + data.byteLength);
  out.set([0x93, ...Buffer.from('NUMPY'), major, 0]);
  const view = new DataView(out.buffer);
  if (major === 1) view.setUint16(8, text.length, true);
  else view.setUint32(8, text.length, true);
  out.set(Buffer.from(text, 'latin1'), prefix);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), prefix + text.length);
  return out;
}

let files = 0;
/** Writes `bytes` as a new file under the data directory: its path there. */
async function put(bytes: Uint8Array, name = `f${files++}.npy`): Promise<string> {
  await mkdir(path.dirname(path.join(data, name)), { recursive: true });
  await writeFile(path.join(data, name), bytes);
  return name;
}

const spec = (name: string, datatype: RowTensorSpec['datatype'], shape: number[]): RowTensorSpec => ({ name, datatype, shape });

/** The rows of a dataset, each row's inputs or error. */
async function rowsOf(file: string, inputs: readonly RowTensorSpec[]): Promise<unknown[]> {
  const source = await openDataset(data, { path: file }, inputs);
  const rows = await source.read(0, source.rows);
  await source.close();
  return rows.map((r) => r.error ?? r.inputs);
}

describe('an NPY dataset', () => {
  it('reads versions 1.0, 2.0 and 3.0, a row per first index', async () => {
    for (const major of [1, 2, 3]) {
      const file = await put(npy('<i2', '(2, 2)', Int16Array.of(1, -2, 3, -4), major));
      expect(await rowsOf(file, [spec('x', 'INT16', [2])])).toEqual([
        [{ name: 'x', datatype: 'INT16', shape: [2], data: Int16Array.of(1, -2) }],
        [{ name: 'x', datatype: 'INT16', shape: [2], data: Int16Array.of(3, -4) }],
      ]);
    }
  });

  it('maps each element type to its one datatype, one-byte types in either byte order', async () => {
    const cases = [
      ['<f2', 'FP16', Uint16Array.of(0x3c00)],
      ['<f8', 'FP64', Float64Array.of(0.1)],
      ['<i1', 'INT8', Int8Array.of(-3)],
      ['|i1', 'INT8', Int8Array.of(-3)],
      ['<u8', 'UINT64', BigUint64Array.of(2n ** 64n - 1n)],
      ['<u4', 'UINT32', Uint32Array.of(2 ** 32 - 1)],
      ['|b1', 'BOOL', Uint8Array.of(1)],
    ] as const;
    for (const [descr, datatype, values] of cases) {
      const file = await put(npy(descr, '(1,)', values));
      expect(await rowsOf(file, [spec('x', datatype, [])])).toEqual([[{ name: 'x', datatype, shape: [], data: values }]]);
    }
  });

  it('refuses another element type than the input datatype, without converting', async () => {
    const file = await put(npy('<f8', '(1, 3)', new Float64Array(3)), 'f64.npy');
    await expect(openDataset(data, { path: file }, [spec('x', 'FP32', [3])])).rejects.toMatchObject({ errorCode: 'InvalidArgument', details: 'dataset "f64.npy": input "x": expected FP32 (<f4), got <f8' });
    await expect(openDataset(data, { path: file }, [spec('x', 'BF16', [3])])).rejects.toMatchObject({ details: 'dataset "f64.npy": input "x" is BF16, which has no NumPy element type; use jsonl' });
  });

  it('refuses rows of another shape than the input takes, a variable dimension taking any', async () => {
    const file = await put(npy('<f4', '(2, 4, 3)', new Float32Array(24)), 'rows.npy');
    await expect(openDataset(data, { path: file }, [spec('x', 'FP32', [3, 4])])).rejects.toMatchObject({
      details: 'dataset "rows.npy": input "x": expected rows of shape [3,4], got [4,3] (the array\'s shape is [2,4,3], its first dimension the rows)',
    });
    await expect(openDataset(data, { path: file }, [spec('x', 'FP32', [12])])).rejects.toMatchObject({ details: expect.stringContaining('expected rows of shape [12], got [4,3]') });
    expect((await rowsOf(file, [spec('x', 'FP32', [-1, 3])]))[1]).toMatchObject([{ shape: [4, 3] }]);
  });

  it('refuses a Fortran-ordered, big-endian, truncated or scalar array, and one file for two inputs', async () => {
    const two = [spec('x', 'FP32', [2]), spec('y', 'FP32', [2])];
    const cases = [
      [npy('<f4', '(2, 2)', new Float32Array(4), 1, 'True'), 'fortran_order is True (column-major), which is not supported: save a C-ordered array (numpy.ascontiguousarray)'],
      [npy('>f4', '(2, 2)', new Float32Array(4)), "element type '>f4' is big-endian, which is not supported; supported: <f2, <f4, <f8, |i1, <i2, <i4, <i8, |u1, <u2, <u4, <u8, |b1 (little-endian): convert with array.astype('<f4')"],
      [npy('<f4', '(2, 2)', new Float32Array(3)), "shape (2, 2) of '<f4' takes 16 bytes of data, the file has 12"],
      [npy('<f4', '()', new Float32Array(1)), 'expected an array whose first dimension counts the rows, got a scalar (shape ())'],
    ] as const;
    for (const [bytes, message] of cases) {
      const file = await put(bytes, 'bad.npy');
      await expect(openDataset(data, { path: file }, [spec('x', 'FP32', [2])])).rejects.toMatchObject({ errorCode: 'InvalidArgument', details: `dataset "bad.npy": ${message}` });
    }
    await expect(openDataset(data, { path: 'bad.npy' }, two)).rejects.toMatchObject({
      details: 'dataset "bad.npy": one .npy file holds one input, the model has 2 (x, y); use a directory of .npy files (npy-dir) or jsonl',
    });
  });

  it('fails a row whose BOOL element is neither 0 nor 1, and reads the others', async () => {
    const file = await put(npy('|b1', '(3, 2)', Uint8Array.of(1, 0, 0, 2, 1, 1)));
    expect(await rowsOf(file, [spec('m', 'BOOL', [2])])).toEqual([
      [{ name: 'm', datatype: 'BOOL', shape: [2], data: Uint8Array.of(1, 0) }],
      'input "m": element 1 of the row is 2, expected 0 or 1 (|b1)',
      [{ name: 'm', datatype: 'BOOL', shape: [2], data: Uint8Array.of(1, 1) }],
    ]);
  });
});

describe('an NPY directory', () => {
  const inputs = [spec('a', 'FP32', [2]), spec('b', 'INT32', [])];

  it('reads <input>.npy for each input, ignoring other files', async () => {
    await put(npy('<f4', '(2, 2)', Float32Array.of(1, 2, 3, 4)), 'dir/a.npy');
    await put(npy('<i4', '(2,)', Int32Array.of(7, 8)), 'dir/b.npy');
    await put(new Uint8Array(3), 'dir/notes.txt');
    expect(await rowsOf('dir', inputs)).toEqual([
      [
        { name: 'a', datatype: 'FP32', shape: [2], data: Float32Array.of(1, 2) },
        { name: 'b', datatype: 'INT32', shape: [], data: Int32Array.of(7) },
      ],
      [
        { name: 'a', datatype: 'FP32', shape: [2], data: Float32Array.of(3, 4) },
        { name: 'b', datatype: 'INT32', shape: [], data: Int32Array.of(8) },
      ],
    ]);
  });

  it('refuses a missing file and files with different row counts', async () => {
    await put(npy('<f4', '(2, 2)', new Float32Array(4)), 'missing/a.npy');
    await expect(openDataset(data, { path: 'missing' }, inputs)).rejects.toMatchObject({ errorCode: 'InvalidArgument', details: 'dataset "missing": no b.npy for input "b"; expected a .npy file for each input: a.npy, b.npy' });
    await put(npy('<f4', '(2, 2)', new Float32Array(4)), 'uneven/a.npy');
    await put(npy('<i4', '(3,)', new Int32Array(3)), 'uneven/b.npy');
    await expect(openDataset(data, { path: 'uneven' }, inputs)).rejects.toMatchObject({ details: 'dataset "uneven": a.npy has 2 rows, b.npy has 3; expected the same number in each' });
  });
});

describe('an NPY results file', () => {
  const out = spec('y', 'FP32', [-1]);
  const y = (values: number[]): NamedTensor => ({ name: 'y', datatype: 'FP32', shape: [values.length], data: Float32Array.from(values) });

  it('writes the header NumPy writes, the shape from the first row that succeeded and zeros for failed rows', async () => {
    const writer = await openResultWriter(data, { path: 'w/first.npy' }, [out], 3);
    await writer.write([{ row: 0, error: 'bad input' }]);
    await writer.write([
      { row: 1, outputs: [y([1, 2])] },
      { row: 2, outputs: [y([3, 4])] },
    ]);
    await writer.close();
    const bytes = await readFile(path.join(data, 'w', 'first.npy'));
    expect(bytes.subarray(0, 128)).toEqual(Buffer.from(npy('<f4', '(3, 2)')));
    expect(new Float32Array(bytes.buffer.slice(bytes.byteOffset + 128, bytes.byteOffset + bytes.length))).toEqual(Float32Array.of(0, 0, 1, 2, 3, 4));
    expect(await readFile(path.join(data, 'w', 'first.npy.errors.jsonl'), 'utf8')).toBe('{"row":0,"error":"bad input"}\n');
  });

  it('refuses a row of another shape than the rows before', async () => {
    const writer = await openResultWriter(data, { path: 'w/ragged.npy' }, [out], 2);
    await writer.write([{ row: 0, outputs: [y([1, 2])] }]);
    await expect(writer.write([{ row: 1, outputs: [y([1, 2, 3])] }])).rejects.toMatchObject({
      errorCode: 'InvalidArgument',
      details: 'row 1: output "y": expected shape [2] as the rows before, got [3]; a .npy file holds rows of one shape (use jsonl)',
    });
    await writer.abort();
  });

  it('writes rows of the output shape, a variable dimension 0, when every row failed', async () => {
    const writer = await openResultWriter(data, { path: 'w/failed.npy' }, [spec('y', 'INT8', [-1, 2])], 2);
    await writer.write([
      { row: 0, error: 'a' },
      { row: 1, error: 'b' },
    ]);
    await writer.close();
    expect(await readFile(path.join(data, 'w', 'failed.npy'))).toEqual(Buffer.from(npy('|i1', '(2, 0, 2)')));
  });

  it('writes BF16 as float32, which holds it exactly', async () => {
    const writer = await openResultWriter(data, { path: 'w/bf16.npy' }, [spec('h', 'BF16', [2])], 1);
    await writer.write([{ row: 0, outputs: [{ name: 'h', datatype: 'BF16', shape: [2], data: Uint16Array.of(0x3f80, 0xc2f7) }] }]);
    await writer.close();
    const bytes = await readFile(path.join(data, 'w', 'bf16.npy'));
    expect(bytes.subarray(0, 128)).toEqual(Buffer.from(npy('<f4', '(1, 2)')));
    expect(new Float32Array(bytes.buffer.slice(bytes.byteOffset + 128, bytes.byteOffset + bytes.length))).toEqual(Float32Array.of(1, -123.5));
  });

  it('refuses BYTES outputs, and two outputs for one file', async () => {
    await expect(openResultWriter(data, { path: 'w/text.npy' }, [spec('t', 'BYTES', [1])], 1)).rejects.toMatchObject({ details: 'output "w/text.npy": output "t" is BYTES, which NPY does not hold; use jsonl' });
    await expect(openResultWriter(data, { path: 'w/two.npy' }, [out, spec('z', 'FP32', [1])], 1)).rejects.toMatchObject({
      details: 'output "w/two.npy": one .npy file holds one output, the job keeps 2 (y, z); use a directory (npy-dir) or jsonl',
    });
  });

  it('writes a million rows of ten floats, and reads the last one back', async () => {
    const rows = 1_000_000;
    const writer = await openResultWriter(data, { path: 'w/million.npy' }, [spec('y', 'FP32', [10])], rows);
    const chunk = 10_000;
    for (let start = 0; start < rows; start += chunk) {
      await writer.write(Array.from({ length: chunk }, (_, i) => ({ row: start + i, outputs: [{ name: 'y', datatype: 'FP32', shape: [10], data: new Float32Array(10).fill(start + i) } as NamedTensor] })));
    }
    await writer.close();
    const source = await openDataset(data, { path: 'w/million.npy' }, [spec('y', 'FP32', [10])]);
    expect(source.rows).toBe(rows);
    expect((await source.read(999_999, 1_000_000))[0]!.inputs![0]!.data).toEqual(new Float32Array(10).fill(999_999));
    await source.close();
  });
});
