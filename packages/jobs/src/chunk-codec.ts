/**
 * The bytes a store keeps for a chunk's results and for a job's inline rows: a 4-byte
 * little-endian length, a JSON header (per row: its index and error, or its tensors' names,
 * datatypes, shapes and byte lengths), then every tensor's bytes back to back (BYTES elements as a
 * 4-byte little-endian length and the bytes, as raw_contents has them).
 */
import { type DataType, type NamedTensor, numericArrayOf, type TensorData } from '@modelserve/core';
import type { RowResult } from './types.js';

interface TensorHeader {
  n: string;
  d: DataType;
  s: number[];
  /** Bytes in the data section. */
  b: number;
}

interface RowHeader {
  r: number;
  e?: string;
  t?: TensorHeader[];
}

function tensorBytes(tensor: NamedTensor): Uint8Array {
  if (tensor.datatype !== 'BYTES') {
    const data = tensor.data as Exclude<TensorData, Uint8Array[]>;
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  }
  const elements = tensor.data as Uint8Array[];
  const out = new Uint8Array(elements.reduce((sum, e) => sum + 4 + e.byteLength, 0));
  const view = new DataView(out.buffer);
  let at = 0;
  for (const element of elements) {
    view.setUint32(at, element.byteLength, true);
    out.set(element, at + 4);
    at += 4 + element.byteLength;
  }
  return out;
}

function tensorFrom(header: TensorHeader, bytes: Uint8Array): NamedTensor {
  if (header.d === 'BYTES') {
    const elements: Uint8Array[] = [];
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let at = 0; at < bytes.byteLength; ) {
      const length = view.getUint32(at, true);
      elements.push(new Uint8Array(bytes.subarray(at + 4, at + 4 + length)));
      at += 4 + length;
    }
    return { name: header.n, datatype: 'BYTES', shape: header.s, data: elements };
  }
  const Typed = numericArrayOf[header.d];
  // A copy into a plain Uint8Array, aligned for its typed array (the data section has no
  // alignment). Not `bytes.slice()`: on a Buffer (what SQLite answers) that is a view, not a copy.
  const copy = new Uint8Array(bytes);
  return { name: header.n, datatype: header.d, shape: header.s, data: new Typed(copy.buffer, 0, copy.byteLength / Typed.BYTES_PER_ELEMENT) } as NamedTensor;
}

function encode(rows: readonly RowHeader[], tensors: readonly Uint8Array[]): Uint8Array {
  const header = Buffer.from(JSON.stringify(rows));
  const dataLength = tensors.reduce((sum, t) => sum + t.byteLength, 0);
  const out = Buffer.allocUnsafe(4 + header.byteLength + dataLength);
  out.writeUInt32LE(header.byteLength, 0);
  header.copy(out, 4);
  let at = 4 + header.byteLength;
  for (const t of tensors) {
    out.set(t, at);
    at += t.byteLength;
  }
  return out;
}

function decode(bytes: Uint8Array): { row: number; error?: string | undefined; tensors?: NamedTensor[] }[] {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = buffer.readUInt32LE(0);
  const rows = JSON.parse(buffer.subarray(4, 4 + headerLength).toString()) as RowHeader[];
  let at = 4 + headerLength;
  return rows.map((row) => {
    if (row.t === undefined) return { row: row.r, error: row.e ?? 'failed' };
    const tensors = row.t.map((t) => {
      const tensor = tensorFrom(t, bytes.subarray(at, at + t.b));
      at += t.b;
      return tensor;
    });
    return { row: row.r, tensors };
  });
}

function encodeTensors(row: number, tensors: readonly NamedTensor[], headers: RowHeader[], data: Uint8Array[]): void {
  const t: TensorHeader[] = [];
  for (const tensor of tensors) {
    const bytes = tensorBytes(tensor);
    t.push({ n: tensor.name, d: tensor.datatype, s: tensor.shape, b: bytes.byteLength });
    data.push(bytes);
  }
  headers.push({ r: row, t });
}

/** A chunk's row results as bytes. */
export function encodeChunk(results: readonly RowResult[]): Uint8Array {
  const headers: RowHeader[] = [];
  const data: Uint8Array[] = [];
  for (const result of results) {
    if (result.outputs === undefined) headers.push({ r: result.row, e: result.error });
    else encodeTensors(result.row, result.outputs, headers, data);
  }
  return encode(headers, data);
}

/** encodeChunk's rows back. */
export function decodeChunk(bytes: Uint8Array): RowResult[] {
  return decode(bytes).map((r) => (r.tensors === undefined ? { row: r.row, error: r.error ?? 'failed' } : { row: r.row, outputs: r.tensors }));
}

/** Inline rows (each row's inputs) as bytes. */
export function encodeRows(rows: readonly (readonly NamedTensor[])[]): Uint8Array {
  const headers: RowHeader[] = [];
  const data: Uint8Array[] = [];
  rows.forEach((inputs, row) => encodeTensors(row, inputs, headers, data));
  return encode(headers, data);
}

/** encodeRows's rows back. */
export function decodeRows(bytes: Uint8Array): NamedTensor[][] {
  return decode(bytes).map((r) => r.tensors ?? []);
}
