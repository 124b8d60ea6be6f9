/**
 * predict-wire's writing half: PredictRequest, PredictResponse and PredictStreamResponse with raw
 * tensors to bytes, each message sized first and written into one buffer (see predict-wire.ts).
 */
import { key, LEN, type MessageHead } from './predict-wire-format.js';

/** A tensor with raw contents, as sent. */
export interface RawTensor {
  name: string;
  datatype: string;
  shape: readonly number[];
  raw_contents: Uint8Array;
}

/** A PredictRequest whose inputs all have raw contents (`output_format` and `priority` as numbers). */
export interface RawPredictRequest {
  model_name: string;
  model_version: string;
  id: string;
  inputs: readonly RawTensor[];
  outputs: readonly string[];
  /** OutputFormat's number: 0 unspecified, 1 typed, 2 raw. */
  output_format: number;
  priority: number;
}

function varintSize(n: number): number {
  if (n < 0) return 10; // int64 two's complement
  let size = 1;
  while (n >= 128) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

const lengthDelimitedSize = (bytes: number): number => 1 + varintSize(bytes) + bytes;

function tensorSize(t: RawTensor, nameBytes: number, datatypeBytes: number, shapeBytes: number): number {
  let size = 0;
  if (nameBytes > 0) size += lengthDelimitedSize(nameBytes);
  if (datatypeBytes > 0) size += lengthDelimitedSize(datatypeBytes);
  if (shapeBytes > 0) size += lengthDelimitedSize(shapeBytes);
  if (t.raw_contents.byteLength > 0) size += lengthDelimitedSize(t.raw_contents.byteLength);
  return size;
}

/** Writes into one buffer sized in advance. */
class Writer {
  offset = 0;
  constructor(readonly buffer: Buffer) {}

  varint(n: number): void {
    const b = this.buffer;
    if (n < 0) {
      let v = BigInt.asUintN(64, BigInt(n));
      for (let i = 0; i < 9; i++) {
        b[this.offset++] = Number(v & 0x7fn) | 0x80;
        v >>= 7n;
      }
      b[this.offset++] = Number(v);
      return;
    }
    while (n >= 128) {
      b[this.offset++] = (n % 128) | 0x80;
      n = Math.floor(n / 128);
    }
    b[this.offset++] = n;
  }

  /** A string field; an empty one is left out unless it is an element of a repeated field (`always`). */
  string(field: number, value: string, bytes: number, always = false): void {
    if (bytes === 0 && !always) return;
    this.buffer[this.offset++] = key(field, LEN);
    this.varint(bytes);
    this.offset += this.buffer.write(value, this.offset, bytes, 'utf8');
  }

  /** A varint field; 0 (the default) is left out. */
  varintField(field: number, value: number): void {
    if (value === 0) return;
    this.buffer[this.offset++] = key(field, 0);
    this.varint(value);
  }

  bytes(field: number, value: Uint8Array): void {
    if (value.byteLength === 0) return;
    this.buffer[this.offset++] = key(field, LEN);
    this.varint(value.byteLength);
    this.buffer.set(value, this.offset);
    this.offset += value.byteLength;
  }
}

/** Byte counts of a tensor's fields, worked out once for sizing and again for writing. */
interface TensorSizes {
  name: number;
  datatype: number;
  shape: number;
  /** The whole Tensor message. */
  total: number;
}

function tensorSizes(t: RawTensor): TensorSizes {
  const name = Buffer.byteLength(t.name);
  const datatype = Buffer.byteLength(t.datatype);
  let shape = 0;
  for (const d of t.shape) shape += varintSize(d);
  return { name, datatype, shape, total: tensorSize(t, name, datatype, shape) };
}

function writeTensor(w: Writer, field: number, t: RawTensor, sizes: TensorSizes): void {
  w.buffer[w.offset++] = key(field, LEN);
  w.varint(sizes.total);
  w.string(1, t.name, sizes.name);
  w.string(2, t.datatype, sizes.datatype);
  if (sizes.shape > 0) {
    w.buffer[w.offset++] = key(3, LEN);
    w.varint(sizes.shape);
    for (const d of t.shape) w.varint(d);
  }
  w.bytes(6, t.raw_contents);
}

/** The byte counts of a message's head (fields 1–4: model, version, id, tensors), and their wire size. */
class HeadSizes {
  readonly model: number;
  readonly version: number;
  readonly id: number;
  readonly tensors: TensorSizes[];
  readonly size: number;

  constructor(m: MessageHead, tensors: readonly RawTensor[]) {
    this.model = Buffer.byteLength(m.model_name);
    this.version = Buffer.byteLength(m.model_version);
    this.id = Buffer.byteLength(m.id);
    this.tensors = tensors.map(tensorSizes);
    let size = 0;
    if (this.model > 0) size += lengthDelimitedSize(this.model);
    if (this.version > 0) size += lengthDelimitedSize(this.version);
    if (this.id > 0) size += lengthDelimitedSize(this.id);
    for (const t of this.tensors) size += lengthDelimitedSize(t.total);
    this.size = size;
  }

  write(w: Writer, m: MessageHead, tensors: readonly RawTensor[]): void {
    w.string(1, m.model_name, this.model);
    w.string(2, m.model_version, this.version);
    w.string(3, m.id, this.id);
    for (let i = 0; i < tensors.length; i++) writeTensor(w, 4, tensors[i]!, this.tensors[i]!);
  }
}

/** The wire bytes of `request`: proto3 with default values left out. */
export function serializePredictRequest(request: RawPredictRequest): Buffer {
  const head = new HeadSizes(request, request.inputs);
  let size = head.size;
  for (const o of request.outputs) size += lengthDelimitedSize(Buffer.byteLength(o));
  if (request.output_format !== 0) size += 1 + varintSize(request.output_format);
  if (request.priority !== 0) size += 1 + varintSize(request.priority);

  const w = new Writer(Buffer.allocUnsafe(size));
  head.write(w, request, request.inputs);
  for (const o of request.outputs) w.string(5, o, Buffer.byteLength(o), true);
  w.varintField(6, request.output_format);
  w.varintField(7, request.priority);
  if (w.offset !== size) throw new Error(`serializePredictRequest: wrote ${w.offset} bytes, sized ${size}`);
  return w.buffer;
}

/** A PredictResponse as the server builds it: outputs with raw contents, or typed ones. */
export interface PredictResponseLike extends MessageHead {
  /** Answered from the response cache (field 5). */
  cached?: boolean;
  outputs: ReadonlyArray<{ name: string; datatype: string; shape: readonly number[]; contents?: unknown; raw_contents?: Uint8Array }>;
}

/** A response's outputs when every one has raw contents (what predict-wire writes), else undefined. */
function rawOutputs(response: PredictResponseLike): readonly RawTensor[] | undefined {
  for (const t of response.outputs) if ((t.contents !== null && t.contents !== undefined) || t.raw_contents === undefined) return undefined;
  return response.outputs as readonly RawTensor[];
}

/** The wire bytes of `response`, or undefined when an output has typed contents (serialize it with proto-loader). */
export function serializePredictResponse(response: PredictResponseLike): Buffer | undefined {
  const outputs = rawOutputs(response);
  if (outputs === undefined) return undefined;
  const head = new HeadSizes(response, outputs);
  const size = head.size + (response.cached === true ? 2 : 0);
  const w = new Writer(Buffer.allocUnsafe(size));
  head.write(w, response, outputs);
  if (response.cached === true) w.varintField(5, 1);
  if (w.offset !== size) throw new Error(`serializePredictResponse: wrote ${w.offset} bytes, sized ${size}`);
  return w.buffer;
}

/** A PredictStreamResponse as the server builds it. */
export interface PredictStreamResponseLike {
  id: string;
  response?: PredictResponseLike | null;
  error?: unknown;
}

/**
 * The wire bytes of a stream answer carrying a response, or undefined for one carrying an error
 * or typed contents (serialize those with proto-loader).
 */
export function serializePredictStreamResponse(message: PredictStreamResponseLike): Buffer | undefined {
  const { response } = message;
  if (response === undefined || response === null || (message.error !== undefined && message.error !== null)) return undefined;
  const outputs = rawOutputs(response);
  if (outputs === undefined) return undefined;
  const head = new HeadSizes(response, outputs);
  const inner = head.size + (response.cached === true ? 2 : 0);
  const idBytes = Buffer.byteLength(message.id);
  // The response field is written even when empty: it is a oneof member, so its presence says which.
  const size = (idBytes > 0 ? lengthDelimitedSize(idBytes) : 0) + lengthDelimitedSize(inner);
  const w = new Writer(Buffer.allocUnsafe(size));
  w.string(1, message.id, idBytes);
  w.buffer[w.offset++] = key(2, LEN);
  w.varint(inner);
  head.write(w, response, outputs);
  if (response.cached === true) w.varintField(5, 1);
  if (w.offset !== size) throw new Error(`serializePredictStreamResponse: wrote ${w.offset} bytes, sized ${size}`);
  return w.buffer;
}
