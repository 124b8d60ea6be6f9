/**
 * Results as NPY: one .npy file for a job that keeps one output, or a directory with `<output>.npy`
 * for each. A row's shape comes from the first row that succeeded, and every row must share it; the
 * header is written then (the row count is known from the start), after it zeros for the rows that
 * failed before, so nothing waits in memory but a write buffer. Failed rows are zeros, and listed
 * in `<file>.errors.jsonl` (a directory: `errors.jsonl`), written only when some row failed.
 * NumPy has no bfloat16: BF16 outputs are written as float32 ('<f4'), which holds them exactly.
 */
import path from 'node:path';
import { elementCount, formatShape, invalidArgument, type NamedTensor, type NumericTensorData } from '@modelserve/core';
import { FileSink, RowCursor, StagedFiles } from './dataset-io.js';
import { formatNpyHeader, npyDescrOf, type NpyDescr, npyElementBytes } from './npy.js';
import type { ResultWriter, RowResult, RowTensorSpec } from './types.js';

/** Opens an NPY results writer for `target` (real path): a file for 'npy', a directory for 'npy-dir'. */
export async function openNpyWriter(target: string, where: string, format: 'npy' | 'npy-dir', outputs: readonly RowTensorSpec[], rowsTotal: number): Promise<ResultWriter> {
  if (format === 'npy' && outputs.length !== 1) {
    throw invalidArgument(`${where}: one .npy file holds one output, the job keeps ${outputs.length} (${outputs.map((o) => o.name).join(', ')}); use a directory (npy-dir) or jsonl`);
  }
  for (const spec of outputs) {
    if (spec.datatype === 'BYTES') throw invalidArgument(`${where}: output "${spec.name}" is BYTES, which NPY does not hold; use jsonl`);
    if (format === 'npy-dir' && !/^[^/\\]+$/.test(spec.name)) throw invalidArgument(`${where}: output "${spec.name}" cannot name a file in a directory; use jsonl`);
  }
  const staged = await StagedFiles.inDirectory(format === 'npy' ? path.dirname(target) : target, format === 'npy-dir');
  try {
    const names = format === 'npy' ? [path.basename(target)] : outputs.map((o) => `${o.name}.npy`);
    const columns: NpyColumn[] = [];
    for (const [i, spec] of outputs.entries()) columns.push(new NpyColumn(spec, await FileSink.create(staged.path(names[i]!)), rowsTotal));
    const errorsName = format === 'npy' ? `${path.basename(target)}.errors.jsonl` : 'errors.jsonl';
    return new NpyWriter(staged, columns, errorsName, new RowCursor(rowsTotal, where));
  } catch (error) {
    await staged.discard();
    throw error;
  }
}

class NpyWriter implements ResultWriter {
  private errors: FileSink | undefined;

  constructor(
    private readonly staged: StagedFiles,
    private readonly columns: readonly NpyColumn[],
    private readonly errorsName: string,
    private readonly cursor: RowCursor,
  ) {}

  /** Rows in order. A write that rejects leaves the writer to be aborted. */
  async write(rows: readonly RowResult[]): Promise<void> {
    for (const result of rows) {
      this.cursor.take(result.row);
      if (result.error !== undefined) {
        this.errors ??= await FileSink.create(this.staged.path(this.errorsName));
        await this.errors.write(Buffer.from(`${JSON.stringify({ row: result.row, error: result.error })}\n`));
        for (const column of this.columns) await column.fail();
        continue;
      }
      // Every output is checked before any is written.
      const tensors = this.columns.map((column) => column.check(result.row, result.outputs));
      for (const [i, column] of this.columns.entries()) await column.put(tensors[i]!);
    }
  }

  async close(): Promise<void> {
    this.cursor.end(true);
    for (const column of this.columns) await column.close();
    await this.errors?.close();
    this.staged.removeAtCommit(this.errorsName);
    await this.staged.commit();
  }

  async abort(): Promise<void> {
    this.cursor.end(false);
    for (const column of this.columns) await column.abandon();
    await this.errors?.abandon();
    await this.staged.discard();
  }
}

/** One output's .npy file. */
class NpyColumn {
  private readonly descr: NpyDescr;
  private rowShape: number[] | undefined;
  private rowBytes = 0;
  /** Rows that failed before the row shape was known. */
  private failedBefore = 0;

  constructor(
    private readonly spec: RowTensorSpec,
    private readonly sink: FileSink,
    private readonly rowsTotal: number,
  ) {
    this.descr = spec.datatype === 'BF16' ? '<f4' : npyDescrOf[spec.datatype]!;
  }

  /** The row's tensor for this output, if it can be written. */
  check(row: number, outputs: readonly NamedTensor[]): NamedTensor {
    const { name, datatype } = this.spec;
    const tensor = outputs.find((t) => t.name === name);
    if (tensor === undefined) throw invalidArgument(`row ${row}: no output "${name}"; got ${outputs.map((t) => t.name).join(', ') || 'none'}`);
    if (tensor.datatype !== datatype) throw invalidArgument(`row ${row}: output "${name}": expected ${datatype}, got ${tensor.datatype}`);
    if (tensor.data.length !== elementCount(tensor.shape)) throw invalidArgument(`row ${row}: output "${name}": shape ${formatShape(tensor.shape)} needs ${elementCount(tensor.shape)} elements, got ${tensor.data.length}`);
    if (this.rowShape === undefined) {
      const fits = tensor.shape.length === this.spec.shape.length && this.spec.shape.every((d, i) => d < 0 || d === tensor.shape[i]);
      if (!fits) throw invalidArgument(`row ${row}: output "${name}": expected shape ${formatShape(this.spec.shape)}, got ${formatShape(tensor.shape)}`);
    } else if (tensor.shape.length !== this.rowShape.length || tensor.shape.some((d, i) => d !== this.rowShape![i])) {
      throw invalidArgument(`row ${row}: output "${name}": expected shape ${formatShape(this.rowShape)} as the rows before, got ${formatShape(tensor.shape)}; a .npy file holds rows of one shape (use jsonl)`);
    }
    return tensor;
  }

  async put(tensor: NamedTensor): Promise<void> {
    if (this.rowShape === undefined) await this.start(tensor.shape);
    await this.sink.write(bytesOf(tensor));
  }

  async fail(): Promise<void> {
    if (this.rowShape === undefined) this.failedBefore++;
    else await this.sink.writeZeros(this.rowBytes);
  }

  async close(): Promise<void> {
    // No row succeeded: rows of the output's shape, a variable dimension 0.
    if (this.rowShape === undefined) await this.start(this.spec.shape.map((d) => Math.max(d, 0)));
    await this.sink.close();
  }

  abandon(): Promise<void> {
    return this.sink.abandon();
  }

  /** The header, then zeros for the rows that failed before. */
  private async start(rowShape: readonly number[]): Promise<void> {
    this.rowShape = [...rowShape];
    this.rowBytes = elementCount(rowShape) * npyElementBytes(this.descr);
    await this.sink.write(formatNpyHeader(this.descr, [this.rowsTotal, ...rowShape]));
    await this.sink.writeZeros(this.failedBefore * this.rowBytes);
  }
}

/** A tensor's bytes as its .npy element type (BF16 widened to float32). */
function bytesOf(tensor: NamedTensor): Uint8Array {
  const data = tensor.data as NumericTensorData;
  if (tensor.datatype === 'BF16') {
    const widened = Uint32Array.from(data as Uint16Array, (bits) => bits << 16);
    return new Uint8Array(widened.buffer);
  }
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}
