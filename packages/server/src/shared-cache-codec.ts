/**
 * The shared cache's value format: a version's outputs as one compact binary buffer.
 *
 * Layout (integers little-endian):
 *
 *     u8  format version (1)
 *     u32 tensor count
 *     per tensor:
 *       u32 name byte length, UTF-8 name
 *       u8  datatype code (`datatypeCodes`)
 *       u8  rank, then rank × u32 dimensions
 *       u32 element count (must equal the shape's)
 *       numeric: element count × element size bytes, the typed array's little-endian bytes
 *       BYTES:   per element, u32 byte length then the bytes
 *
 * Another replica (or another version of modelserve) wrote the value, so decoding trusts nothing:
 * a wrong version, an unknown datatype, a count that disagrees with the shape, a short or overlong
 * buffer all throw, saying what was expected and what was found.
 */
import { elementCount, numericArrayOf, type DataType, type NamedTensor, type NumericTensorData, type TensorData } from '@modelserve/core';

/** The format version written in the first byte; a value with another version is not decoded. */
export const codecVersion = 1;

/** The code of each datatype on the wire. Never renumber: replicas of different releases share values. */
const datatypeCodes: { readonly [D in DataType]: number } = {
  BOOL: 1,
  UINT8: 2,
  UINT16: 3,
  UINT32: 4,
  UINT64: 5,
  INT8: 6,
  INT16: 7,
  INT32: 8,
  INT64: 9,
  FP16: 10,
  BF16: 11,
  FP32: 12,
  FP64: 13,
  BYTES: 14,
};

const datatypeOfCode = new Map<number, DataType>(Object.entries(datatypeCodes).map(([datatype, code]) => [code, datatype as DataType]));

const maxU32 = 0xffff_ffff;
// Typed arrays use the platform's byte order; the format is little-endian, as is every platform Node ships for.
const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Encodes a version's outputs; throws if a tensor cannot be represented (data disagreeing with its shape, a rank over 255). */
export function encodeOutputs(outputs: readonly NamedTensor[]): Buffer {
  if (!littleEndian) throw new Error('shared cache codec: big-endian platforms are not supported');
  const names = outputs.map((tensor) => Buffer.from(tensor.name, 'utf8'));
  let size = 1 + 4;
  outputs.forEach((tensor, i) => {
    checkTensor(tensor);
    size += 4 + names[i]!.length + 1 + 1 + 4 * tensor.shape.length + 4;
    if (tensor.datatype === 'BYTES') for (const element of tensor.data as Uint8Array[]) size += 4 + element.length;
    else size += (tensor.data as NumericTensorData).byteLength;
  });

  const out = Buffer.allocUnsafe(size);
  let at = out.writeUInt8(codecVersion, 0);
  at = out.writeUInt32LE(outputs.length, at);
  outputs.forEach((tensor, i) => {
    const name = names[i]!;
    at = out.writeUInt32LE(name.length, at);
    at += name.copy(out, at);
    at = out.writeUInt8(datatypeCodes[tensor.datatype], at);
    at = out.writeUInt8(tensor.shape.length, at);
    for (const dim of tensor.shape) at = out.writeUInt32LE(dim, at);
    at = out.writeUInt32LE(tensor.data.length, at);
    if (tensor.datatype === 'BYTES') {
      for (const element of tensor.data as Uint8Array[]) {
        at = out.writeUInt32LE(element.length, at);
        out.set(element, at);
        at += element.length;
      }
    } else {
      const data = tensor.data as NumericTensorData;
      out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), at);
      at += data.byteLength;
    }
  });
  return out;
}

/** Throws unless `tensor` fits the format and its data matches its datatype and shape. */
function checkTensor(tensor: NamedTensor): void {
  const what = `tensor '${tensor.name}'`;
  if (!(tensor.datatype in datatypeCodes)) throw new Error(`shared cache codec: ${what} has datatype ${String(tensor.datatype)}, expected one of ${Object.keys(datatypeCodes).join(', ')}`);
  if (tensor.shape.length > 255) throw new Error(`shared cache codec: ${what} has rank ${tensor.shape.length}, at most 255 is supported`);
  for (const dim of tensor.shape) {
    if (!Number.isInteger(dim) || dim < 0 || dim > maxU32) throw new Error(`shared cache codec: ${what} has dimension ${dim}, expected an integer from 0 to ${maxU32}`);
  }
  const expected = elementCount(tensor.shape);
  if (tensor.data.length !== expected) throw new Error(`shared cache codec: ${what} of shape [${tensor.shape.join(', ')}] needs ${expected} elements, found ${tensor.data.length}`);
  if (tensor.datatype === 'BYTES' ? !Array.isArray(tensor.data) : Array.isArray(tensor.data)) {
    throw new Error(`shared cache codec: ${what} is ${tensor.datatype} but its data is ${Array.isArray(tensor.data) ? 'an array of byte strings' : 'a typed array'}`);
  }
}

/** Decodes what `encodeOutputs` wrote. Every typed array owns a fresh, aligned buffer. Throws on anything else. */
export function decodeOutputs(buffer: Buffer): NamedTensor[] {
  const reader = new Reader(buffer);
  const version = reader.u8('the format version');
  if (version !== codecVersion) throw new Error(`shared cache value: expected format version ${codecVersion}, found ${version}`);
  const count = reader.u32('the tensor count');
  const outputs: NamedTensor[] = [];
  for (let i = 0; i < count; i++) outputs.push(readTensor(reader, i));
  if (reader.remaining() !== 0) throw new Error(`shared cache value: expected the end after ${count} tensors at byte ${reader.offset}, found ${reader.remaining()} more bytes`);
  return outputs;
}

function readTensor(reader: Reader, index: number): NamedTensor {
  const nameLength = reader.u32(`tensor ${index}'s name length`);
  const name = reader.bytes(nameLength, `tensor ${index}'s name`).toString('utf8');
  const what = `tensor ${index} ('${name}')`;
  const code = reader.u8(`${what}'s datatype`);
  const datatype = datatypeOfCode.get(code);
  if (datatype === undefined) throw new Error(`shared cache value: expected a datatype code from 1 to ${datatypeOfCode.size} for ${what}, found ${code}`);
  const rank = reader.u8(`${what}'s rank`);
  const shape: number[] = [];
  for (let d = 0; d < rank; d++) shape.push(reader.u32(`${what}'s dimension ${d}`));
  const length = reader.u32(`${what}'s element count`);
  const expected = elementCount(shape);
  if (length !== expected) throw new Error(`shared cache value: expected ${expected} elements for ${what} of shape [${shape.join(', ')}], found ${length}`);

  let data: TensorData;
  if (datatype === 'BYTES') {
    const elements: Uint8Array[] = [];
    for (let e = 0; e < length; e++) {
      const size = reader.u32(`${what}'s element ${e} length`);
      elements.push(new Uint8Array(reader.bytes(size, `${what}'s element ${e}`)));
    }
    data = elements;
  } else {
    const TypedArray = numericArrayOf[datatype];
    const bytes = reader.bytes(length * TypedArray.BYTES_PER_ELEMENT, `${what}'s ${datatype} data`);
    // A fresh, aligned buffer of its own: the array never depends on the value's offset or lifetime.
    const owned = new ArrayBuffer(bytes.length);
    new Uint8Array(owned).set(bytes);
    data = new TypedArray(owned, 0, length);
    if (datatype === 'BOOL') {
      const bad = (data as Uint8Array).findIndex((value) => value > 1);
      if (bad !== -1) throw new Error(`shared cache value: expected 0 or 1 for ${what}'s BOOL element ${bad}, found ${(data as Uint8Array)[bad]}`);
    }
  }
  return { name, datatype, shape, data } as NamedTensor;
}

/** Reads a buffer front to back; every read says what it expected when the buffer is too short. */
class Reader {
  offset = 0;
  constructor(private readonly buffer: Buffer) {}

  remaining(): number {
    return this.buffer.length - this.offset;
  }

  u8(what: string): number {
    this.need(1, what);
    return this.buffer.readUInt8(this.offset++);
  }

  u32(what: string): number {
    this.need(4, what);
    const value = this.buffer.readUInt32LE(this.offset);
    this.offset += 4;
    return value;
  }

  /** A view of the next `length` bytes (not a copy). */
  bytes(length: number, what: string): Buffer {
    this.need(length, what);
    const view = this.buffer.subarray(this.offset, this.offset + length);
    this.offset += length;
    return view;
  }

  private need(length: number, what: string): void {
    if (this.remaining() < length) {
      throw new Error(`shared cache value truncated: expected ${length} bytes of ${what} at byte ${this.offset}, found ${this.remaining()}`);
    }
  }
}
