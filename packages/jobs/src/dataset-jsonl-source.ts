/**
 * A JSONL dataset: one JSON object per line, `{"input": <array>}` for a model with one input or
 * `{"inputs": {"<name>": <array>, ...}}` for any number (other keys are ignored). Opening scans the
 * file once and keeps the byte offset of every `indexStride`th line, so a million-line file costs
 * about 125 KB and a read of rows [start, end) reads those lines and fewer than two strides more.
 * A line that is not a usable row fails alone, with the reason; blank lines at the end are not rows.
 */
import { type FileHandle, open } from 'node:fs/promises';
import type { NamedTensor } from '@modelserve/core';
import { checkRange, readExactly } from './dataset-io.js';
import { RowProblem, shown, tensorFromJson } from './dataset-jsonl.js';
import type { RowInputs, RowSource, RowTensorSpec } from './types.js';

/** Lines between two kept offsets. */
const indexStride = 64;

/** Opens a JSONL file (`file`, real path) as rows of `inputs`; `where` names it in messages. */
export async function openJsonlSource(file: string, where: string, inputs: readonly RowTensorSpec[]): Promise<RowSource> {
  const handle = await open(file, 'r');
  try {
    return new JsonlSource(handle, await indexLines(handle), where, inputs);
  } catch (error) {
    await handle.close();
    throw error;
  }
}

interface LineIndex {
  /** Byte offset of line `k * indexStride`, for every such line. */
  offsets: Float64Array;
  /** Lines up to the last that is not blank. */
  rows: number;
  /** Just past the last row's line. */
  end: number;
}

/** One pass over the file: where every `indexStride`th line starts, and which lines are blank. */
async function indexLines(handle: FileHandle): Promise<LineIndex> {
  let offsets = new Float64Array(1024);
  let kept = 1; // line 0 starts at 0
  let line = 0;
  let base = 0;
  let content = false;
  let rows = 0;
  let end = 0;
  for await (const chunk of handle.createReadStream({ start: 0, autoClose: false, highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    for (let at = 0; at < chunk.length; ) {
      const newline = chunk.indexOf(10, at);
      const stop = newline < 0 ? chunk.length : newline;
      for (let i = at; !content && i < stop; i++) content = !isBlank(chunk[i]!);
      if (newline < 0) break;
      if (content) {
        rows = line + 1;
        end = base + newline + 1;
      }
      line++;
      content = false;
      if (line % indexStride === 0) {
        if (kept === offsets.length) {
          const grown = new Float64Array(offsets.length * 2);
          grown.set(offsets);
          offsets = grown;
        }
        offsets[kept++] = base + newline + 1;
      }
      at = newline + 1;
    }
    base += chunk.length;
  }
  if (content) {
    rows = line + 1;
    end = base;
  }
  return { offsets: offsets.slice(0, kept), rows, end };
}

/** Space, tab and carriage return. */
const isBlank = (byte: number): boolean => byte === 0x20 || byte === 0x09 || byte === 0x0d;

class JsonlSource implements RowSource {
  readonly rows: number;
  private readonly decoder = new TextDecoder('utf-8', { fatal: true });

  constructor(
    private readonly handle: FileHandle,
    private readonly index: LineIndex,
    private readonly where: string,
    private readonly inputs: readonly RowTensorSpec[],
  ) {
    this.rows = index.rows;
  }

  async read(start: number, end: number): Promise<RowInputs[]> {
    checkRange(start, end, this.rows, this.where);
    if (start === end) return [];
    const first = Math.floor(start / indexStride);
    const last = Math.ceil(end / indexStride);
    const from = this.index.offsets[first]!;
    const to = last < this.index.offsets.length ? this.index.offsets[last]! : this.index.end;
    const bytes = new Uint8Array(to - from);
    await readExactly(this.handle, bytes, from, this.where);
    const rows: RowInputs[] = [];
    let at = 0;
    for (let line = first * indexStride; line < end; line++) {
      const newline = bytes.indexOf(10, at);
      const stop = newline < 0 ? bytes.length : newline;
      if (line >= start) rows.push(this.row(line, bytes.subarray(at, stop)));
      at = stop + 1;
    }
    return rows;
  }

  private row(row: number, bytes: Uint8Array): RowInputs {
    try {
      return { row, inputs: this.parse(bytes) };
    } catch (error) {
      if (error instanceof RowProblem) return { row, error: error.message };
      throw error;
    }
  }

  private parse(bytes: Uint8Array): NamedTensor[] {
    let text: string;
    try {
      text = this.decoder.decode(bytes);
    } catch {
      throw new RowProblem('the line is not valid UTF-8');
    }
    if (text.trim() === '') throw new RowProblem('a blank line; expected a JSON object');
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw new RowProblem(jsonSyntaxError(text) ?? `invalid JSON: ${(error as Error).message}`);
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw new RowProblem(`expected a JSON object with "input" or "inputs", got ${Array.isArray(value) ? 'an array' : shown(value)}`);
    }
    const object = value as Record<string, unknown>;
    const names = this.inputs.map((s) => s.name).join(', ');
    const has = (key: string): boolean => Object.hasOwn(object, key);
    if (has('input') && has('inputs')) throw new RowProblem('expected "input" or "inputs", got both');
    if (has('input')) {
      if (this.inputs.length !== 1) throw new RowProblem(`"input" is for a model with one input; this one has ${this.inputs.length} (${names}): use "inputs"`);
      return [tensorFromJson(this.inputs[0]!, object['input'])];
    }
    if (!has('inputs')) throw new RowProblem(`expected a JSON object with "input" or "inputs", got keys ${Object.keys(object).map((k) => JSON.stringify(k)).join(', ') || 'none'}`);
    const given = object['inputs'];
    if (given === null || typeof given !== 'object' || Array.isArray(given)) throw new RowProblem(`"inputs": expected an object of arrays by input name, got ${Array.isArray(given) ? 'an array' : shown(given)}`);
    const byName = given as Record<string, unknown>;
    const unknown = Object.keys(byName).find((name) => !this.inputs.some((s) => s.name === name));
    if (unknown !== undefined) throw new RowProblem(`unknown input "${unknown}"; expected ${names}`);
    return this.inputs.map((spec) => {
      if (!Object.hasOwn(byName, spec.name)) throw new RowProblem(`missing input "${spec.name}"`);
      return tensorFromJson(spec, byName[spec.name]);
    });
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}

/**
 * Where and why `text` is not JSON: `invalid JSON at column N: ...`, columns counted from 1 in
 * characters (JSON.parse's messages name no position for most mistakes). Undefined if it is JSON.
 */
export function jsonSyntaxError(text: string): string | undefined {
  let at = 0;
  const got = (): string => (at < text.length ? `got ${JSON.stringify(text[at])}` : 'got the end of the line');
  const fail = (expected: string): never => {
    throw new RowProblem(`invalid JSON at column ${at + 1}: expected ${expected}, ${got()}`);
  };
  const space = (): void => {
    while (at < text.length && ' \t\n\r'.includes(text[at]!)) at++;
  };
  const literal = (word: string): void => {
    for (const c of word) {
      if (text[at] !== c) fail(`"${word}"`);
      at++;
    }
  };
  const string = (): void => {
    at++;
    for (;;) {
      const c = text[at];
      if (c === undefined) fail('a closing \'"\'');
      if (c === '"') {
        at++;
        return;
      }
      if (c! < ' ') fail('no control character in a string (escape it)');
      if (c === '\\') {
        at++;
        if (text[at] === 'u' && /^[0-9a-fA-F]{4}$/.test(text.slice(at + 1, at + 5))) at += 5;
        else if ('"\\/bfnrt'.includes(text[at] ?? 'x')) at++;
        else fail('an escape such as \\n or \\u00e9');
      } else at++;
    }
  };
  const digits = (): void => {
    if (!/[0-9]/.test(text[at] ?? '')) fail('a digit');
    while (/[0-9]/.test(text[at] ?? '')) at++;
  };
  const number = (): void => {
    if (text[at] === '-') at++;
    if (text[at] === '0') at++;
    else digits();
    if (text[at] === '.') {
      at++;
      digits();
    }
    if (text[at] === 'e' || text[at] === 'E') {
      at++;
      if (text[at] === '+' || text[at] === '-') at++;
      digits();
    }
  };
  const value = (): void => {
    space();
    const c = text[at];
    if (c === '{') return members('}', () => {
      if (text[at] !== '"') fail('a property name in double quotes');
      string();
      space();
      if (text[at] !== ':') fail("':'");
      at++;
      value();
    });
    if (c === '[') return members(']', value);
    if (c === '"') return string();
    if (c === 't' || c === 'f' || c === 'n') return literal(c === 't' ? 'true' : c === 'f' ? 'false' : 'null');
    if (c === '-' || /[0-9]/.test(c ?? '')) return number();
    fail('a value');
  };
  const members = (close: string, member: () => void): void => {
    at++;
    space();
    if (text[at] !== close) {
      for (;;) {
        space();
        member();
        space();
        if (text[at] === close) break;
        if (text[at] !== ',') fail(`',' or '${close}'`);
        at++;
      }
    }
    at++;
  };
  try {
    value();
    space();
    if (at < text.length) fail('the end of the line after the JSON value');
    return undefined;
  } catch (error) {
    if (error instanceof RowProblem) return error.message;
    throw error;
  }
}
