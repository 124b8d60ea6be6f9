/**
 * predict-wire's reading half: PredictRequest and PredictResponse with raw tensors from bytes, raw
 * contents as views on them (see predict-wire.ts).
 */
import { LEN, type MessageHead } from './predict-wire-format.js';

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
  /** The server answered from its response cache (false, proto3's default, when the field is absent). */
  cached: boolean;
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
  const response: ParsedPredictResponse = { model_name: '', model_version: '', id: '', outputs: [], cached: false };
  while (r.offset < r.end) {
    r.nextKey();
    if (r.field === 5 && r.wireType === 0) {
      response.cached = r.varint() !== 0;
      continue;
    }
    const head = readHeadField(r, response, response.outputs);
    if (head === undefined) return undefined;
    if (!head) r.skip(r.wireType, r.field);
  }
  return response;
}
