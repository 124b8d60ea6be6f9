/**
 * NumPy's .npy header (format versions 1.0, 2.0 and 3.0), read and written: the magic `\x93NUMPY`,
 * the version, the header's length (2 bytes little-endian in 1.0, 4 in 2.0 and 3.0), the header (a
 * Python dict literal: `descr`, `fortran_order`, `shape`), then the data in C order. Shared by the
 * jobs' dataset readers and writers and the CLI's whole-file reader; errors are InvalidArgument.
 * https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html
 */
import { type DataType, invalidArgument } from '@modelserve/core';

/** The element types read and written, as NumPy's `descr` names them, with the datatype each holds. */
export const npyDataTypes = {
  '<f2': 'FP16',
  '<f4': 'FP32',
  '<f8': 'FP64',
  '|i1': 'INT8',
  '<i2': 'INT16',
  '<i4': 'INT32',
  '<i8': 'INT64',
  '|u1': 'UINT8',
  '<u2': 'UINT16',
  '<u4': 'UINT32',
  '<u8': 'UINT64',
  '|b1': 'BOOL',
} as const satisfies Record<string, Exclude<DataType, 'BYTES' | 'BF16'>>;

/** An element type read: a key of `npyDataTypes`. */
export type NpyDescr = keyof typeof npyDataTypes;

/** Every element type, in `npyDataTypes`' order. */
export const npyDescrs: readonly NpyDescr[] = Object.keys(npyDataTypes) as NpyDescr[];

/** The element type of each datatype that has one (BF16 and BYTES have none in NumPy). */
export const npyDescrOf: Partial<Record<DataType, NpyDescr>> = Object.fromEntries(npyDescrs.map((d) => [npyDataTypes[d], d]));

/** A parsed header: a C-ordered array of `shape` whose data starts at `dataOffset`. */
export interface NpyHeader {
  descr: NpyDescr;
  datatype: (typeof npyDataTypes)[NpyDescr];
  shape: number[];
  dataOffset: number;
}

/** Bytes enough to know where any version's data starts (`npyDataOffset`). */
export const npyPreambleBytes = 12;

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

/** Bytes per element of an element type. */
export const npyElementBytes = (descr: NpyDescr): number => Number(descr.slice(2));

/**
 * Where the data starts, from a file's first `npyPreambleBytes` bytes (fewer for a shorter file):
 * checks the magic and the version. Throws naming `where`.
 */
export function npyDataOffset(prefix: Uint8Array, where: string): number {
  if (prefix.length < 10 || MAGIC.some((b, i) => prefix[i] !== b)) throw fail(where, 'not a .npy file: it does not start with \\x93NUMPY');
  const major = prefix[6]!;
  const minor = prefix[7]!;
  if (![1, 2, 3].includes(major) || minor !== 0) throw fail(where, `format version ${major}.${minor} is not supported; supported: 1.0, 2.0, 3.0`);
  const view = new DataView(prefix.buffer, prefix.byteOffset, prefix.byteLength);
  if (major === 1) return 10 + view.getUint16(8, true);
  if (prefix.length < 12) throw fail(where, 'the file ends inside its header');
  return 12 + view.getUint32(8, true);
}

/**
 * Parses the header of a .npy file from its first bytes (through the data offset at least).
 * `descrs` are the element types accepted (default: all of `npyDataTypes`); one-byte types may be
 * spelled with any byte order ('<i1' is '|i1'). Throws, naming `where`, what was found and what is
 * accepted, for anything else.
 */
export function parseNpyHeader(bytes: Uint8Array, where: string, descrs: readonly NpyDescr[] = npyDescrs): NpyHeader {
  const dataOffset = npyDataOffset(bytes, where);
  const lengthBytes = bytes[6] === 1 ? 2 : 4;
  if (bytes.length < dataOffset) throw fail(where, `the header is ${dataOffset - 8 - lengthBytes} bytes long but the file ends after ${bytes.length - 8 - lengthBytes}`);
  // Versions 1.0 and 2.0 write the header in latin1, 3.0 in UTF-8.
  const text = new TextDecoder(bytes[6] === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(8 + lengthBytes, dataOffset));
  const header = parseDict(text, where);
  const supported = descrs.join(', ');

  const descr = header['descr'];
  // NumPy writes a structured type as a list of (name, type) tuples.
  if (Array.isArray(descr)) throw fail(where, `descr [${descr.map(pythonText).join(', ')}] is a structured type; supported: ${supported}`);
  if (typeof descr !== 'string') throw fail(where, `descr: expected a type such as '<f4', got ${pythonText(descr)}`);
  const fortranOrder = header['fortran_order'];
  if (typeof fortranOrder !== 'boolean') throw fail(where, `fortran_order: expected True or False, got ${pythonText(fortranOrder)}`);
  if (fortranOrder) throw fail(where, 'fortran_order is True (column-major), which is not supported: save a C-ordered array (numpy.ascontiguousarray)');
  const shape = header['shape'];
  if (!Array.isArray(shape) || !shape.every((d): d is number => typeof d === 'number' && Number.isSafeInteger(d) && d >= 0)) {
    throw fail(where, `shape: expected a tuple of non-negative integers, got ${pythonText(shape)}`);
  }
  const type = (/^[<>|][iub]1$/.test(descr) ? `|${descr.slice(1)}` : descr) as NpyDescr;
  if (!descrs.includes(type)) {
    const bigEndian = descr.startsWith('>') && descrs.includes(`<${descr.slice(1)}` as NpyDescr);
    throw fail(
      where,
      bigEndian
        ? `element type '${descr}' is big-endian, which is not supported; supported: ${supported} (little-endian): convert with array.astype('<${descr.slice(1)}')`
        : `element type '${descr}' is not supported; supported: ${supported}`,
    );
  }
  return { descr: type, datatype: npyDataTypes[type], shape: shape as number[], dataOffset };
}

/** Checks that a file holding `fileBytes` bytes has exactly the data its header describes. */
export function checkNpyDataLength(header: NpyHeader, fileBytes: number, where: string): void {
  const expected = header.shape.reduce((a, b) => a * b, 1) * npyElementBytes(header.descr);
  const got = fileBytes - header.dataOffset;
  if (got !== expected) throw fail(where, `shape ${pythonText(header.shape)} of '${header.descr}' takes ${expected} bytes of data, the file has ${got}`);
}

/**
 * The header of a C-ordered array of `shape`: version 1.0 (2.0 when it needs more than 64 KiB),
 * padded with spaces so the data starts at a multiple of 64, as NumPy writes it.
 */
export function formatNpyHeader(descr: NpyDescr, shape: readonly number[]): Uint8Array {
  const dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${pythonText([...shape])}, }`;
  const prefix = dict.length + 64 > 0xffff ? 12 : 10;
  const text = dict + ' '.repeat((64 - ((prefix + dict.length + 1) % 64)) % 64) + '\n';
  const out = new Uint8Array(prefix + text.length);
  out.set(MAGIC);
  out[6] = prefix === 10 ? 1 : 2;
  const view = new DataView(out.buffer);
  if (prefix === 10) view.setUint16(8, text.length, true);
  else view.setUint32(8, text.length, true);
  out.set(new TextEncoder().encode(text), prefix);
  return out;
}

function fail(where: string, message: string): Error {
  return invalidArgument(`${where}: ${message}`);
}

/** A Python literal as parsed: str, bool, None, int, and tuples and lists of them; dicts as records. */
type PythonValue = string | boolean | null | number | PythonValue[] | { [key: string]: PythonValue };

/** Parses the header: a dict literal with string keys, as `repr()` writes it. */
function parseDict(text: string, where: string): Record<string, PythonValue> {
  let at = 0;
  const bad = (what: string): never => {
    throw fail(where, `header: ${what} at character ${at} of ${JSON.stringify(text.trim())}`);
  };
  const space = (): void => {
    while (at < text.length && /\s/.test(text[at]!)) at++;
  };
  const value = (): PythonValue => {
    space();
    const c = text[at];
    if (c === "'" || c === '"') {
      const end = text.indexOf(c, at + 1);
      if (end < 0) bad('unterminated string');
      const s = text.slice(at + 1, end);
      at = end + 1;
      return s;
    }
    if (c === '(' || c === '[') return sequence(c === '(' ? ')' : ']');
    if (c === '{') {
      at++;
      const dict: Record<string, PythonValue> = {};
      for (space(); text[at] !== '}'; space()) {
        const key = value();
        if (typeof key !== 'string') return bad('expected a string key');
        space();
        if (text[at++] !== ':') bad("expected ':'");
        dict[key] = value();
        space();
        if (text[at] === ',') at++;
        else if (text[at] !== '}') bad("expected ',' or '}'");
      }
      at++;
      return dict;
    }
    const word = /^(True|False|None|-?\d+L?)/.exec(text.slice(at))?.[0];
    if (word === undefined) return bad('unexpected text');
    at += word.length;
    return word === 'True' ? true : word === 'False' ? false : word === 'None' ? null : Number(word.replace(/L$/, ''));
  };
  const sequence = (close: string): PythonValue[] => {
    at++;
    const items: PythonValue[] = [];
    for (space(); text[at] !== close; space()) {
      items.push(value());
      space();
      if (text[at] === ',') at++;
      else if (text[at] !== close) bad(`expected ',' or '${close}'`);
    }
    at++;
    return items;
  };
  const header = value();
  space();
  if (at !== text.length) bad('unexpected text after the dict');
  if (header === null || typeof header !== 'object' || Array.isArray(header)) throw fail(where, `header: expected a dict, got ${JSON.stringify(text.trim())}`);
  for (const key of ['descr', 'fortran_order', 'shape']) if (!(key in header)) throw fail(where, `header: no '${key}' key in ${JSON.stringify(text.trim())}`);
  return header;
}

/** A parsed value as Python writes it, for messages and headers. */
function pythonText(value: PythonValue | undefined): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'None';
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  if (typeof value === 'string') return `'${value}'`;
  if (typeof value === 'number') return String(value);
  if (Array.isArray(value)) return `(${value.map(pythonText).join(', ')}${value.length === 1 ? ',' : ''})`;
  return `{${Object.entries(value)
    .map(([k, v]) => `'${k}': ${pythonText(v)}`)
    .join(', ')}}`;
}
