/**
 * A whole .npy file read into a typed array, for `modelserve profile --input`. The header (format
 * versions 1.0, 2.0 and 3.0) is parsed by @modelserve/jobs' NPY reader; this file names the element
 * types the CLI takes and copies the data out.
 * https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html
 */
import { type DataType, invalidArgument, numericArrayOf } from '@modelserve/core';
import { checkNpyDataLength, parseNpyHeader } from '@modelserve/jobs/npy';

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

/** An array read from a .npy file: C order, its elements flat. BOOL elements are 0 or 1. */
export type NpyArray = {
  [D in NpyDescr]: { descr: D; datatype: (typeof npyDataTypes)[D]; shape: number[]; data: NpyDataMap[D] };
}[NpyDescr];

const accepted = Object.keys(npyDataTypes) as NpyDescr[];

/** Reads a .npy file's bytes; throws (InvalidArgument), naming `where`, what was found and what is supported, for anything else. */
export function parseNpy(bytes: Uint8Array, where = '.npy file'): NpyArray {
  const header = parseNpyHeader(bytes, where, accepted);
  checkNpyDataLength(header, bytes.length, where);
  const descr = header.descr as NpyDescr;
  const datatype = npyDataTypes[descr];
  const Storage = numericArrayOf[datatype];
  const count = header.shape.reduce((a, b) => a * b, 1);
  // A copy, so the typed array starts at an aligned offset whatever the header's length.
  const data = new Storage(bytes.slice(header.dataOffset).buffer, 0, count);
  if (descr === '|b1') {
    const invalid = (data as Uint8Array).findIndex((b) => b > 1);
    if (invalid >= 0) throw invalidArgument(`${where}: element ${invalid} of a '|b1' array is ${(data as Uint8Array)[invalid]}, expected 0 or 1`);
  }
  return { descr, datatype, shape: header.shape, data } as NpyArray;
}
