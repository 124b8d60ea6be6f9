/**
 * modelserve.v1 PredictRequest and PredictResponse straight to and from bytes, for tensors with raw
 * contents: the hot path of the client and of the server's Predict. proto-loader's (de)serializers go through protobufjs's
 * fromObject/toObject, which build message instances and fill defaults on every call; on a small
 * model that costs a client more CPU than choosing a replica does (`pnpm bench --sdk`). These
 * write and read the same proto3 wire format directly. What they do not cover is left to
 * proto-loader: the serializers answer undefined for a message with typed contents and the parsers
 * for one with typed contents (or a value proto-loader would render differently), so the caller
 * falls back to proto-loader for those.
 */

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

/** A received tensor with raw contents (a view on the message's bytes); shape dims as numbers. */
export interface ParsedRawTensor {
  name: string;
  datatype: string;
  shape: number[];
  contents: null;
  raw_contents: Buffer;
}

/** A PredictResponse whose outputs all have raw contents. */
export interface ParsedPredictResponse {
  model_name: string;
  model_version: string;
  id: string;
  outputs: ParsedRawTensor[];
}

// Field keys: (field number << 3) | wire type (0 varint, 2 length-delimited).
const LEN = 2;
const key = (field: number, wireType: number): number => (field << 3) | wireType;

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

/** Fields 1–4, which PredictRequest and PredictResponse share: model, version, id, and tensors. */
interface MessageHead {
  model_name: string;
  model_version: string;
  id: string;
}

/** The byte counts of a message's head, and their wire size. */
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
  const w = new Writer(Buffer.allocUnsafe(head.size));
  head.write(w, response, outputs);
  if (w.offset !== head.size) throw new Error(`serializePredictResponse: wrote ${w.offset} bytes, sized ${head.size}`);
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
  const idBytes = Buffer.byteLength(message.id);
  // The response field is written even when empty: it is a oneof member, so its presence says which.
  const size = (idBytes > 0 ? lengthDelimitedSize(idBytes) : 0) + lengthDelimitedSize(head.size);
  const w = new Writer(Buffer.allocUnsafe(size));
  w.string(1, message.id, idBytes);
  w.buffer[w.offset++] = key(2, LEN);
  w.varint(head.size);
  head.write(w, response, outputs);
  if (w.offset !== size) throw new Error(`serializePredictStreamResponse: wrote ${w.offset} bytes, sized ${size}`);
  return w.buffer;
}

/** Thrown for bytes that are not a valid message. */
export class WireFormatError extends Error {}

/** Reads one message's fields from `buffer[offset, end)`. */
class Reader {
  constructor(
    readonly buffer: Buffer,
    public offset: number,
    readonly end: number,
  ) {}

  /** A varint as a number: exact up to 2^53; int64 values beyond that (negative ones too) are rounded. */
  varint(): number {
    const b = this.buffer;
    const start = this.offset;
    let result = 0;
    let multiplier = 1;
    // Seven bytes (49 bits) add up exactly in a double; longer ones take the BigInt path.
    for (let i = 0; i < 7; i++) {
      if (this.offset >= this.end) throw new WireFormatError('truncated varint');
      const byte = b[this.offset++]!;
      result += (byte & 0x7f) * multiplier;
      if (byte < 0x80) return result;
      multiplier *= 128;
    }
    this.offset = start;
    let big = 0n;
    for (let i = 0; i < 10; i++) {
      if (this.offset >= this.end) throw new WireFormatError('truncated varint');
      const byte = b[this.offset++]!;
      big |= BigInt(byte & 0x7f) << BigInt(7 * i);
      if (byte < 0x80) return Number(BigInt.asIntN(64, big));
    }
    throw new WireFormatError('varint longer than 10 bytes');
  }

  /** The field number and wire type of the key read by nextKey(). */
  field = 0;
  wireType = 0;

  /** Reads a field's key. */
  nextKey(): void {
    const k = this.varint();
    this.field = Math.floor(k / 8);
    this.wireType = k % 8;
  }

  /** The end offset of a length-delimited field that starts here. */
  delimited(): number {
    const length = this.varint();
    const end = this.offset + length;
    if (end > this.end) throw new WireFormatError(`field of ${length} bytes runs past the end of its message`);
    return end;
  }

  string(): string {
    const end = this.delimited();
    const value = this.buffer.toString('utf8', this.offset, end);
    this.offset = end;
    return value;
  }

  /** Skips a field this parser does not read (of another number, or of an unexpected wire type, as protobuf's own parsers do). */
  skip(wireType: number, field = 0): void {
    if (wireType === 0) this.varint();
    else if (wireType === 1) this.offset += 8;
    else if (wireType === 2) this.offset = this.delimited();
    else if (wireType === 5) this.offset += 4;
    else if (wireType === 3) this.skipGroup(field);
    else throw new WireFormatError(wireType === 4 ? `end of group ${field} without its start` : `unsupported wire type ${wireType}`);
    if (this.offset > this.end) throw new WireFormatError('truncated field');
  }

  /** Skips a (deprecated, proto2) group up to its end tag. */
  private skipGroup(field: number): void {
    for (;;) {
      if (this.offset >= this.end) throw new WireFormatError(`group ${field} has no end`);
      this.nextKey();
      if (this.wireType === 4) {
        if (this.field !== field) throw new WireFormatError(`group ${field} ends with the end of group ${this.field}`);
        return;
      }
      this.skip(this.wireType, this.field);
    }
  }
}

/** A Tensor, or undefined when it has typed contents. */
function parseTensor(r: Reader, end: number): ParsedRawTensor | undefined {
  const tensor: ParsedRawTensor = { name: '', datatype: '', shape: [], contents: null, raw_contents: noBytes };
  const inner = new Reader(r.buffer, r.offset, end);
  while (inner.offset < end) {
    inner.nextKey();
    const { field, wireType } = inner;
    if (field === 1 && wireType === LEN) tensor.name = inner.string();
    else if (field === 2 && wireType === LEN) tensor.datatype = inner.string();
    else if (field === 3 && wireType === LEN) {
      const shapeEnd = inner.delimited();
      const packed = new Reader(r.buffer, inner.offset, shapeEnd);
      while (packed.offset < shapeEnd) tensor.shape.push(packed.varint());
      inner.offset = shapeEnd;
    } else if (field === 3 && wireType === 0) tensor.shape.push(inner.varint());
    else if (field === 5) return undefined;
    else if (field === 6 && wireType === LEN) {
      const rawEnd = inner.delimited();
      tensor.raw_contents = r.buffer.subarray(inner.offset, rawEnd);
      inner.offset = rawEnd;
    } else inner.skip(wireType, field);
  }
  r.offset = end;
  return tensor;
}

const noBytes = Buffer.alloc(0);

function readerOf(bytes: Uint8Array): Reader {
  const buffer = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return new Reader(buffer, 0, buffer.length);
}

/**
 * Reads the field whose key `r` just read if it is one of the head's (1–4: model, version, id, a
 * tensor): true when it was, false for another field, undefined for a tensor with typed contents.
 */
function readHeadField(r: Reader, m: MessageHead, tensors: ParsedRawTensor[]): boolean | undefined {
  if (r.wireType !== LEN || r.field < 1 || r.field > 4) return false;
  if (r.field === 1) m.model_name = r.string();
  else if (r.field === 2) m.model_version = r.string();
  else if (r.field === 3) m.id = r.string();
  else {
    const tensor = parseTensor(r, r.delimited());
    if (tensor === undefined) return undefined;
    tensors.push(tensor);
  }
  return true;
}

/** A PredictRequest with raw inputs, shaped as proto-loader renders it (enums as names, uint64 as a decimal string) but with shape dims as numbers. */
export interface ParsedPredictRequest {
  model_name: string;
  model_version: string;
  id: string;
  inputs: ParsedRawTensor[];
  outputs: string[];
  output_format: 'OUTPUT_FORMAT_UNSPECIFIED' | 'OUTPUT_FORMAT_TYPED' | 'OUTPUT_FORMAT_RAW';
  priority: number;
  timeout_us: string;
}

const outputFormats = ['OUTPUT_FORMAT_UNSPECIFIED', 'OUTPUT_FORMAT_TYPED', 'OUTPUT_FORMAT_RAW'] as const;

/**
 * A PredictRequest from its wire bytes, or undefined when an input has typed contents or a field
 * holds a value proto-loader would render otherwise (an unknown output format, a uint64 past 2^53,
 * a uint32 past 2^32): parse those with proto-loader. Throws WireFormatError for bytes that are not
 * a PredictRequest.
 */
export function parsePredictRequest(bytes: Uint8Array): ParsedPredictRequest | undefined {
  const r = readerOf(bytes);
  const request: ParsedPredictRequest = { model_name: '', model_version: '', id: '', inputs: [], outputs: [], output_format: 'OUTPUT_FORMAT_UNSPECIFIED', priority: 0, timeout_us: '0' };
  while (r.offset < r.end) {
    r.nextKey();
    const { field, wireType } = r;
    const head = readHeadField(r, request, request.inputs);
    if (head === undefined) return undefined;
    if (head) continue;
    if (field === 5 && wireType === LEN) request.outputs.push(r.string());
    else if (field === 6 && wireType === 0) {
      const format = outputFormats[r.varint()];
      if (format === undefined) return undefined;
      request.output_format = format;
    } else if (field === 7 && wireType === 0) {
      const priority = r.varint();
      if (priority < 0 || priority >= 2 ** 32) return undefined;
      request.priority = priority;
    } else if (field === 8 && wireType === 0) {
      const timeout = r.varint();
      if (timeout < 0 || timeout > Number.MAX_SAFE_INTEGER) return undefined;
      request.timeout_us = String(timeout);
    } else r.skip(wireType, field);
  }
  return request;
}

/**
 * A PredictResponse from its wire bytes, or undefined when an output has typed contents (parse it
 * with proto-loader then). Raw contents are views on `bytes`. Throws WireFormatError for bytes
 * that are not a PredictResponse.
 */
export function parsePredictResponse(bytes: Uint8Array): ParsedPredictResponse | undefined {
  const r = readerOf(bytes);
  const response: ParsedPredictResponse = { model_name: '', model_version: '', id: '', outputs: [] };
  while (r.offset < r.end) {
    r.nextKey();
    const head = readHeadField(r, response, response.outputs);
    if (head === undefined) return undefined;
    if (!head) r.skip(r.wireType, r.field);
  }
  return response;
}
