/**
 * Just enough protobuf wire format for the load workers to skip full message (de)serialization:
 * requests are encoded once, stream requests get their `id` appended (field order does not matter
 * in protobuf), and stream responses are read only for their `id` and whether they hold an error.
 */

const LEN = 2;
const VARINT = 0;
const I64 = 1;
const I32 = 5;

function varintBytes(value: number): number[] {
  const bytes: number[] = [];
  let v = value;
  while (v >= 0x80) {
    bytes.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  bytes.push(v);
  return bytes;
}

/** `encoded` (a `PredictRequest` without an id) with field 3, `id`, appended. */
export function appendRequestId(encoded: Buffer, id: string): Buffer {
  const idBytes = Buffer.from(id, 'utf8');
  const header = Buffer.from([(3 << 3) | LEN, ...varintBytes(idBytes.length)]);
  return Buffer.concat([encoded, header, idBytes], encoded.length + header.length + idBytes.length);
}

interface Cursor {
  offset: number;
}

function readVarint(buffer: Uint8Array, cursor: Cursor): number {
  let result = 0;
  let scale = 1;
  for (;;) {
    const byte = buffer[cursor.offset++];
    if (byte === undefined) throw new Error('truncated varint');
    result += (byte & 0x7f) * scale;
    if (byte < 0x80) return result;
    scale *= 0x80;
  }
}

/** Calls `onField` for each top-level field of a message; LEN fields get their bytes. */
function forEachField(buffer: Uint8Array, onField: (field: number, wireType: number, value: Uint8Array | number) => void): void {
  const cursor = { offset: 0 };
  while (cursor.offset < buffer.length) {
    const tag = readVarint(buffer, cursor);
    const field = Math.floor(tag / 8);
    const wireType = tag & 7;
    if (wireType === VARINT) onField(field, wireType, readVarint(buffer, cursor));
    else if (wireType === LEN) {
      const length = readVarint(buffer, cursor);
      if (cursor.offset + length > buffer.length) throw new Error('truncated field');
      onField(field, wireType, buffer.subarray(cursor.offset, cursor.offset + length));
      cursor.offset += length;
    } else if (wireType === I64) cursor.offset += 8;
    else if (wireType === I32) cursor.offset += 4;
    else throw new Error(`unsupported wire type ${wireType}`);
  }
}

/** What the load worker needs of a `PredictStreamResponse`. */
export interface StreamResponseHeader {
  id: string;
  /** The response carries outputs (field `response`). */
  ok: boolean;
  /** gRPC status code of an in-band error, when there is one. */
  errorCode?: number;
}

/** Reads a `PredictStreamResponse`'s `id` and `result` case without decoding the tensors. */
export function readStreamResponse(buffer: Uint8Array): StreamResponseHeader {
  const header: StreamResponseHeader = { id: '', ok: false };
  forEachField(buffer, (field, wireType, value) => {
    if (wireType !== LEN || typeof value === 'number') return;
    if (field === 1) header.id = Buffer.from(value.buffer, value.byteOffset, value.length).toString('utf8');
    else if (field === 2) header.ok = true;
    else if (field === 3) {
      header.errorCode = 0;
      forEachField(value, (f, _w, v) => {
        if (f === 1 && typeof v === 'number') header.errorCode = v;
      });
    }
  });
  return header;
}
