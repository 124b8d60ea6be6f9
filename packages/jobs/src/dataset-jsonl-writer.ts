/**
 * Results as JSONL: a line per row, `{"row": i, "outputs": {"<name>": <nested array>, ...}}` with
 * the outputs the job keeps, in their order, or `{"row": i, "error": "..."}`; values as
 * `tensorToJson` writes them.
 */
import path from 'node:path';
import { elementCount, formatShape, invalidArgument, type NamedTensor } from '@modelserve/core';
import { FileSink, RowCursor, StagedFiles } from './dataset-io.js';
import { tensorToJson } from './dataset-jsonl.js';
import type { ResultWriter, RowResult, RowTensorSpec } from './types.js';

/** Opens a JSONL results writer for the file `target` (real path). */
export async function openJsonlWriter(target: string, where: string, outputs: readonly RowTensorSpec[], rowsTotal: number): Promise<ResultWriter> {
  const staged = await StagedFiles.inDirectory(path.dirname(target), false);
  try {
    const sink = await FileSink.create(staged.path(path.basename(target)));
    return new JsonlWriter(staged, sink, outputs, new RowCursor(rowsTotal, where));
  } catch (error) {
    await staged.discard();
    throw error;
  }
}

class JsonlWriter implements ResultWriter {
  constructor(
    private readonly staged: StagedFiles,
    private readonly sink: FileSink,
    private readonly outputs: readonly RowTensorSpec[],
    private readonly cursor: RowCursor,
  ) {}

  /** Rows in order. A write that rejects leaves the writer to be aborted. */
  async write(rows: readonly RowResult[]): Promise<void> {
    const lines: string[] = [];
    for (const result of rows) {
      this.cursor.take(result.row);
      lines.push(JSON.stringify(result.error !== undefined ? { row: result.row, error: result.error } : { row: result.row, outputs: this.outputsOf(result.row, result.outputs) }));
    }
    if (lines.length > 0) await this.sink.write(Buffer.from(`${lines.join('\n')}\n`));
  }

  private outputsOf(row: number, tensors: readonly NamedTensor[]): Record<string, unknown> {
    // No prototype: an output named "__proto__" is a key like any other.
    const outputs = Object.create(null) as Record<string, unknown>;
    for (const { name, datatype } of this.outputs) {
      const tensor = tensors.find((t) => t.name === name);
      if (tensor === undefined) throw invalidArgument(`row ${row}: no output "${name}"; got ${tensors.map((t) => t.name).join(', ') || 'none'}`);
      if (tensor.datatype !== datatype) throw invalidArgument(`row ${row}: output "${name}": expected ${datatype}, got ${tensor.datatype}`);
      if (tensor.data.length !== elementCount(tensor.shape)) throw invalidArgument(`row ${row}: output "${name}": shape ${formatShape(tensor.shape)} needs ${elementCount(tensor.shape)} elements, got ${tensor.data.length}`);
      outputs[name] = tensorToJson(tensor);
    }
    return outputs;
  }

  async close(): Promise<void> {
    this.cursor.end(true);
    await this.sink.close();
    await this.staged.commit();
  }

  async abort(): Promise<void> {
    this.cursor.end(false);
    await this.sink.abandon();
    await this.staged.discard();
  }
}
