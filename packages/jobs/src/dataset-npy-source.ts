/**
 * NPY datasets: one .npy file for a model with one input, or a directory with `<input>.npy` for
 * each input. An array's first dimension counts the rows; the rest is a row's shape. Rows are read
 * at their offsets, so a file of any size costs only the rows asked for.
 */
import { type FileHandle, lstat, open } from 'node:fs/promises';
import path from 'node:path';
import { formatShape, invalidArgument, type NamedTensor, numericArrayOf } from '@modelserve/core';
import { checkRange, readExactly } from './dataset-io.js';
import { checkNpyDataLength, npyDataOffset, npyDescrOf, npyElementBytes, type NpyHeader, npyPreambleBytes, parseNpyHeader } from './npy.js';
import type { RowInputs, RowSource, RowTensorSpec } from './types.js';

/** Opens one .npy file (`file`, real path) as the rows of a model's only input. */
export async function openNpySource(file: string, where: string, inputs: readonly RowTensorSpec[]): Promise<RowSource> {
  if (inputs.length !== 1) {
    throw invalidArgument(`${where}: one .npy file holds one input, the model has ${inputs.length} (${inputs.map((s) => s.name).join(', ')}); use a directory of .npy files (npy-dir) or jsonl`);
  }
  const array = await NpyRows.open(file, where, inputs[0]!);
  return new NpySource([array], array.rows);
}

/**
 * Opens a directory (`dir`, real path) of `<input>.npy` files as a model's rows; `resolve` gives each
 * file's real path from its name, checked to stay in the data directory.
 */
export async function openNpyDirSource(dir: string, resolve: (name: string) => Promise<string>, where: string, inputs: readonly RowTensorSpec[]): Promise<RowSource> {
  const arrays: NpyRows[] = [];
  try {
    for (const spec of inputs) {
      const name = `${spec.name}.npy`;
      if ((await lstat(path.join(dir, name)).catch(() => undefined)) === undefined) {
        throw invalidArgument(`${where}: no ${name} for input "${spec.name}"; expected a .npy file for each input: ${inputs.map((s) => `${s.name}.npy`).join(', ')}`);
      }
      arrays.push(await NpyRows.open(await resolve(name), `${where}: ${name}`, spec));
    }
    const rows = arrays[0]?.rows ?? 0;
    const other = arrays.find((a) => a.rows !== rows);
    if (other !== undefined) throw invalidArgument(`${where}: ${arrays[0]!.spec.name}.npy has ${rows} rows, ${other.spec.name}.npy has ${other.rows}; expected the same number in each`);
    return new NpySource(arrays, rows);
  } catch (error) {
    await Promise.all(arrays.map((a) => a.close()));
    throw error;
  }
}

class NpySource implements RowSource {
  constructor(
    private readonly arrays: readonly NpyRows[],
    readonly rows: number,
  ) {}

  async read(start: number, end: number): Promise<RowInputs[]> {
    const columns = await Promise.all(this.arrays.map((a) => a.read(start, end)));
    return Array.from({ length: end - start }, (_, i): RowInputs => {
      const inputs = columns.map((c) => c[i]!);
      const problem = inputs.find((t): t is string => typeof t === 'string');
      return problem !== undefined ? { row: start + i, error: problem } : { row: start + i, inputs: inputs as NamedTensor[] };
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.arrays.map((a) => a.close()));
  }
}

/** One input's .npy file: its rows, each a tensor or (a BOOL element other than 0 or 1) why not. */
class NpyRows {
  readonly rows: number;
  private readonly rowShape: number[];
  private readonly rowElements: number;
  private readonly rowBytes: number;

  private constructor(
    private readonly handle: FileHandle,
    private readonly header: NpyHeader,
    readonly spec: RowTensorSpec,
    private readonly where: string,
  ) {
    [this.rows, ...this.rowShape] = header.shape as [number, ...number[]];
    this.rowElements = this.rowShape.reduce((a, b) => a * b, 1);
    this.rowBytes = this.rowElements * npyElementBytes(header.descr);
  }

  static async open(file: string, where: string, spec: RowTensorSpec): Promise<NpyRows> {
    const handle = await open(file, 'r');
    try {
      const header = await readHeader(handle, where);
      checkSpec(header, spec, where);
      return new NpyRows(handle, header, spec, where);
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  /**
   * Rows [start, end), each a view of one buffer read for them all: consecutive rows are adjacent
   * in it, so a batch of them is a view too (no copy, and one allocation per read rather than one
   * per row, which is what kept the garbage collector busy while a job ran beside online calls).
   */
  async read(start: number, end: number): Promise<(NamedTensor | string)[]> {
    checkRange(start, end, this.rows, this.where);
    const bytes = new Uint8Array((end - start) * this.rowBytes);
    await readExactly(this.handle, bytes, this.header.dataOffset + start * this.rowBytes, this.where);
    const { name, datatype } = this.spec;
    const Storage = numericArrayOf[this.header.datatype];
    return Array.from({ length: end - start }, (_, i) => {
      // Aligned: the buffer starts at 0 and a row's bytes are a whole number of elements.
      const data = new Storage(bytes.buffer, i * this.rowBytes, this.rowElements);
      if (datatype === 'BOOL') {
        const bad = (data as Uint8Array).findIndex((b) => b > 1);
        if (bad >= 0) return `input "${name}": element ${bad} of the row is ${(data as Uint8Array)[bad]}, expected 0 or 1 (|b1)`;
      }
      return { name, datatype, shape: [...this.rowShape], data } as NamedTensor;
    });
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}

async function readHeader(handle: FileHandle, where: string): Promise<NpyHeader> {
  const { size } = await handle.stat();
  const preamble = new Uint8Array(Math.min(size, npyPreambleBytes));
  await readExactly(handle, preamble, 0, where);
  const bytes = new Uint8Array(Math.min(size, npyDataOffset(preamble, where)));
  await readExactly(handle, bytes, 0, where);
  const header = parseNpyHeader(bytes, where);
  checkNpyDataLength(header, size, where);
  return header;
}

/** The element type must be the input's datatype's, exactly (no conversion), and a row's shape must fit the input's. */
function checkSpec(header: NpyHeader, spec: RowTensorSpec, where: string): void {
  const expected = npyDescrOf[spec.datatype];
  if (expected === undefined) throw invalidArgument(`${where}: input "${spec.name}" is ${spec.datatype}, which has no NumPy element type; use jsonl`);
  if (header.descr !== expected) throw invalidArgument(`${where}: input "${spec.name}": expected ${spec.datatype} (${expected}), got ${header.descr}`);
  if (header.shape.length === 0) throw invalidArgument(`${where}: expected an array whose first dimension counts the rows, got a scalar (shape ())`);
  const rowShape = header.shape.slice(1);
  const fits = rowShape.length === spec.shape.length && spec.shape.every((d, i) => d < 0 || d === rowShape[i]);
  if (!fits) {
    throw invalidArgument(`${where}: input "${spec.name}": expected rows of shape ${formatShape(spec.shape)}, got ${formatShape(rowShape)} (the array's shape is ${formatShape(header.shape)}, its first dimension the rows)`);
  }
}
