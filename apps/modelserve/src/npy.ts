/**
 * NumPy's .npy files (format versions 1.0, 2.0 and 3.0), read into typed arrays: the magic
 * `\x93NUMPY`, the version, the header's length (2 bytes little-endian in 1.0, 4 in 2.0 and 3.0),
 * the header (a Python dict literal: `descr`, `fortran_order`, `shape`), then the data.
 * https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html
 */
import type { DataType } from '@modelserve/proto';

/** The element types read, as NumPy's `descr` names them, with the datatype each becomes. */
export const npyDataTypes = {
  '<f4': 'FP32',
  '<f8': 'FP64',
  '<i4': 'INT32',
  '<i8': 'INT64',
  '|u1': 'UINT8',
  '|b1': 'BOOL',
} as const satisfies Record<string, DataType>;

/** An element type read: a key of `npyDataTypes`. */
export type NpyDescr = keyof typeof npyDataTypes;

/** The storage of each element type read. */
interface NpyDataMap {
  '<f4': Float32Array;
  '<f8': Float64Array;
  '<i4': Int32Array;
  '<i8': BigInt64Array;
  '|u1': Uint8Array;
  '|b1': Uint8Array;
}

const storageOf: { readonly [D in NpyDescr]: { new (buffer: ArrayBuffer, byteOffset: number, length: number): NpyDataMap[D]; BYTES_PER_ELEMENT: number } } = {
  '<f4': Float32Array,
  '<f8': Float64Array,
  '<i4': Int32Array,
  '<i8': BigInt64Array,
  '|u1': Uint8Array,
  '|b1': Uint8Array,
};

/** An array read from a .npy file: C order, its elements flat. BOOL elements are 0 or 1. */
export type NpyArray = {
  [D in NpyDescr]: { descr: D; datatype: (typeof npyDataTypes)[D]; shape: number[]; data: NpyDataMap[D] };
}[NpyDescr];

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
const supported = Object.keys(npyDataTypes).join(', ');

/** Reads a .npy file's bytes; throws, naming `where`, what was found and what is supported, for anything else. */
export function parseNpy(bytes: Uint8Array, where = '.npy file'): NpyArray {
  function fail(message: string): never {
    throw new Error(`${where}: ${message}`);
  }
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) fail('not a .npy file: it does not start with \\x93NUMPY');
  const major = bytes[6]!;
  const minor = bytes[7]!;
  if (![1, 2, 3].includes(major) || minor !== 0) fail(`format version ${major}.${minor} is not supported; supported: 1.0, 2.0, 3.0`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lengthBytes = major === 1 ? 2 : 4;
  if (bytes.length < 8 + lengthBytes) fail('the file ends inside its header');
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const dataStart = 8 + lengthBytes + headerLength;
  if (bytes.length < dataStart) fail(`the header is ${headerLength} bytes long but the file ends after ${bytes.length - 8 - lengthBytes}`);
  // Versions 1.0 and 2.0 write the header in latin1, 3.0 in UTF-8.
  const headerText = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(8 + lengthBytes, dataStart));
  const header = parseHeader(headerText, fail);

  const descr = header['descr'];
  // NumPy writes a structured type as a list of (name, type) tuples.
  if (Array.isArray(descr)) fail(`descr [${descr.map(pythonText).join(', ')}] is a structured type; supported: ${supported}`);
  if (typeof descr !== 'string') fail(`descr: expected a type such as '<f4', got ${pythonText(descr)}`);
  const fortranOrder = header['fortran_order'];
  if (typeof fortranOrder !== 'boolean') fail(`fortran_order: expected True or False, got ${pythonText(fortranOrder)}`);
  if (fortranOrder === true) fail('fortran_order is True (column-major), which is not supported: save a C-ordered array (numpy.ascontiguousarray)');
  const shape = header['shape'];
  if (!Array.isArray(shape) || !shape.every((d): d is number => typeof d === 'number' && Number.isSafeInteger(d) && d >= 0)) {
    fail(`shape: expected a tuple of non-negative integers, got ${pythonText(shape)}`);
  }
  const dims = shape as number[];
  if (!(descr in npyDataTypes)) {
    const bigEndian = descr.startsWith('>') && `<${descr.slice(1)}` in npyDataTypes;
    fail(
      bigEndian
        ? `element type '${descr}' is big-endian, which is not supported; supported: ${supported} (little-endian): convert with array.astype('<${descr.slice(1)}')`
        : `element type '${descr}' is not supported; supported: ${supported}`,
    );
  }
  const type = descr as NpyDescr;
  const Storage = storageOf[type];
  const count = dims.reduce((a, b) => a * b, 1);
  const expected = count * Storage.BYTES_PER_ELEMENT;
  const got = bytes.length - dataStart;
  if (got !== expected) fail(`shape ${pythonText(dims)} of '${type}' takes ${expected} bytes of data, the file has ${got}`);
  // A copy, so the typed array starts at an aligned offset whatever the header's length.
  const buffer = bytes.slice(dataStart).buffer;
  const data = new Storage(buffer, 0, count);
  if (type === '|b1') {
    const invalid = (data as Uint8Array).findIndex((b) => b > 1);
    if (invalid >= 0) fail(`element ${invalid} of a '|b1' array is ${(data as Uint8Array)[invalid]}, expected 0 or 1`);
  }
  return { descr: type, datatype: npyDataTypes[type], shape: dims, data } as NpyArray;
}

/** A Python literal as parsed: str, bool, None, int, and tuples and lists of them; dicts as records. */
type PythonValue = string | boolean | null | number | PythonValue[] | { [key: string]: PythonValue };

/** Parses the header: a dict literal with string keys, as `repr()` writes it. */
function parseHeader(text: string, fail: (message: string) => never): Record<string, PythonValue> {
  let at = 0;
  const bad = (what: string): never => fail(`header: ${what} at character ${at} of ${JSON.stringify(text.trim())}`);
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
        if (typeof key !== 'string') bad('expected a string key');
        space();
        if (text[at++] !== ':') bad("expected ':'");
        dict[key as string] = value();
        space();
        if (text[at] === ',') at++;
        else if (text[at] !== '}') bad("expected ',' or '}'");
      }
      at++;
      return dict;
    }
    const word = /^(True|False|None|-?\d+L?)/.exec(text.slice(at))?.[0];
    if (word === undefined) bad('unexpected text');
    at += word!.length;
    return word === 'True' ? true : word === 'False' ? false : word === 'None' ? null : Number(word!.replace(/L$/, ''));
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
  if (header === null || typeof header !== 'object' || Array.isArray(header)) return fail(`header: expected a dict, got ${JSON.stringify(text.trim())}`);
  for (const key of ['descr', 'fortran_order', 'shape']) if (!(key in header)) fail(`header: no '${key}' key in ${JSON.stringify(text.trim())}`);
  return header;
}

/** A parsed value as Python writes it, for messages. */
function pythonText(value: PythonValue | undefined): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'None';
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  if (typeof value === 'string') return `'${value}'`;
  if (typeof value === 'number') return String(value);
  if (Array.isArray(value)) return `(${value.map(pythonText).join(', ')}${value.length === 1 ? ',' : ''})`;
  return `{${Object.entries(value).map(([k, v]) => `'${k}': ${pythonText(v)}`).join(', ')}}`;
}
