/**
 * Raw tensor contents: little-endian, row-major element bytes; BYTES elements each as a 4-byte
 * little-endian length and the bytes. Decoding and encoding share memory with the input wherever
 * alignment allows, since this is the hot path for large tensors.
 */
import { dataTypeInfo } from './tensor-types.js';
import type { DataType, NumericTensorData, TensorData, TensorDataMap } from './tensor-types.js';
import { TensorCodecError, counted, formatShape } from './tensor-errors.js';

// Typed arrays use the host's byte order and the wire is little-endian; byte-swapping is not
// implemented, so refuse big-endian hosts loudly rather than corrupt tensors.
if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
  throw new Error('@modelserve/proto: raw tensor contents require a little-endian host');
}

const empty = Buffer.alloc(0);

/**
 * Decodes raw contents of `count` elements of `datatype`. Numeric data is a view on `raw`'s memory
 * when raw.byteOffset is a multiple of the element size, otherwise one copy; BYTES elements are views.
 * `shape` only serves messages.
 */
export function decodeRawTensorData<D extends DataType>(
  datatype: D,
  shape: readonly number[],
  count: number,
  raw: Uint8Array,
  where: string,
): TensorDataMap[D];
export function decodeRawTensorData(
  datatype: DataType,
  shape: readonly number[],
  count: number,
  raw: Uint8Array,
  where: string,
): TensorData {
  const { size, array } = dataTypeInfo[datatype];
  if (array === undefined) return decodeRawBytes(shape, count, raw, where);
  if (raw.byteLength !== count * size) {
    throw new TensorCodecError(
      'raw',
      `${where}: raw contents hold ${counted(raw.byteLength, 'byte')}, expected ${count * size} ` +
        `(${counted(count, `${datatype} element`)} of ${size} bytes for shape ${formatShape(shape)})`,
    );
  }
  if (datatype === 'BOOL') checkBool(raw, where);
  if (raw.byteOffset % size === 0) return new array(raw.buffer, raw.byteOffset, count);
  // Small copies come from Node's buffer pool (8-byte aligned, not zero-filled): no new ArrayBuffer each.
  const copy = Buffer.allocUnsafe(raw.byteLength);
  copy.set(raw);
  return new array(copy.buffer, copy.byteOffset, count);
}

// BOOL storage promises 0 or 1 (other bytes are not valid bools for ONNX Runtime); this scan is the
// one per-element pass of raw decoding and does not copy.
function checkBool(raw: Uint8Array, where: string): void {
  for (let i = 0; i < raw.length; i++) {
    if (raw[i]! > 1) {
      throw new TensorCodecError('raw', `${where}: raw BOOL contents byte ${i} is ${raw[i]}, expected 0 or 1`);
    }
  }
}

function decodeRawBytes(shape: readonly number[], count: number, raw: Uint8Array, where: string): Uint8Array[] {
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const elements = new Array<Uint8Array>(count);
  let offset = 0;
  for (let i = 0; i < count; i++) {
    const left = raw.byteLength - offset;
    if (left < 4) {
      throw new TensorCodecError(
        'raw',
        left === 0
          ? `${where}: raw BYTES contents hold ${counted(i, 'element')}, expected ${count} for shape ${formatShape(shape)}`
          : `${where}: raw BYTES contents end with ${counted(left, 'byte')} at byte ${offset} where element ${i}'s ` +
              `4-byte length prefix should be`,
      );
    }
    const length = view.getUint32(offset, true);
    if (length > left - 4) {
      throw new TensorCodecError(
        'raw',
        `${where}: raw BYTES element ${i} at byte ${offset} is truncated: its length prefix says ` +
          `${counted(length, 'byte')}, only ${left - 4} follow`,
      );
    }
    elements[i] = raw.subarray(offset + 4, offset + 4 + length);
    offset += 4 + length;
  }
  if (offset !== raw.byteLength) {
    throw new TensorCodecError(
      'raw',
      `${where}: raw BYTES contents have ${counted(raw.byteLength - offset, 'byte')} left over after the ` +
        `${counted(count, 'element')} of shape ${formatShape(shape)}`,
    );
  }
  return elements;
}

/** Raw contents of `t`: a Buffer over the data's own memory for numeric types (no copy), a new Buffer for BYTES. */
export function encodeRawTensorData(t: { datatype: DataType; data: TensorData }): Buffer {
  if (t.datatype === 'BYTES') return encodeRawBytes(t.data as Uint8Array[]);
  const data = t.data as NumericTensorData;
  return data.byteLength === 0 ? empty : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

function encodeRawBytes(elements: readonly Uint8Array[]): Buffer {
  let total = 0;
  for (const e of elements) total += 4 + e.byteLength;
  const out = Buffer.allocUnsafe(total);
  let offset = 0;
  for (const e of elements) {
    out.writeUInt32LE(e.byteLength, offset);
    out.set(e, offset + 4);
    offset += 4 + e.byteLength;
  }
  return out;
}
