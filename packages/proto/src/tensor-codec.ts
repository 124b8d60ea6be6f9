/**
 * Wire tensors (modelserve.v1.Tensor as proto-loader decodes it with loaderOptions) to decoded
 * tensors and back. Raw contents are passed to decodeTensor separately because the Open Inference
 * Protocol carries them at the request level (raw_input_contents[i]) rather than on the tensor.
 */
import { decodeRawTensorData, encodeRawTensorData } from './raw-codec.js';
import { elementCount, parseShape } from './shape.js';
import { dataTypeInfo, dataTypes, isDataType } from './tensor-types.js';
import type { DataType, DecodedTensor, TensorData, TypedContentsField, WireTensorContents } from './tensor-types.js';
import { TensorCodecError, counted, formatShape } from './tensor-errors.js';
import { decodeTypedContents, encodeTypedContents } from './typed-codec.js';
import type { EncodedTensorContents } from './typed-codec.js';

/** A tensor as received: shape dims as decimal strings (int64) or numbers, typed contents optional. */
export interface WireTensor {
  name: string;
  datatype: string;
  shape: readonly (string | number)[];
  contents?: WireTensorContents | null;
}

/** A tensor ready for proto-loader to serialize (assignable to the generated Tensor type). */
export interface EncodedTensor {
  name: string;
  datatype: DataType;
  /** Numbers, not strings: protobufjs turns numbers into int64 without parsing, and dims fit exactly. */
  shape: number[];
  contents: EncodedTensorContents | null;
  /** Empty when the contents are typed. */
  raw_contents: Buffer;
}

const typedFields: readonly TypedContentsField[] = [
  'bool_contents',
  'int_contents',
  'int64_contents',
  'uint_contents',
  'uint64_contents',
  'fp32_contents',
  'fp64_contents',
  'bytes_contents',
];

const noBytes = Buffer.alloc(0);
const noFields: TypedContentsField[] = [];

/** Checks that `datatype` is one of the protocol's datatypes. */
export function parseDataType(datatype: string, where: string): DataType {
  if (isDataType(datatype)) return datatype;
  throw new TensorCodecError(
    'datatype',
    `${where}: unknown datatype ${JSON.stringify(datatype)}, expected one of ${dataTypes.join(', ')}`,
  );
}

/**
 * Validates and decodes a wire tensor whose raw contents, if any, are `raw`.
 *
 * Proto3 cannot tell an unset repeated or bytes field from an empty one, so "set" means non-empty:
 * an empty `raw` next to typed contents is no raw at all, and a tensor with a 0 dimension
 * legitimately has neither. Raw numeric data is a view on `raw` when aligned (see decodeRawTensorData).
 * Throws TensorCodecError, with `where` (e.g. "model 'm' input 'x'") leading its message.
 */
export function decodeTensor(wire: WireTensor, raw: Uint8Array | null | undefined, where: string): DecodedTensor {
  const datatype = parseDataType(wire.datatype, where);
  const shape = parseShape(wire.shape, where);
  const count = elementCount(shape);
  const expected = dataTypeInfo[datatype].field;
  const contents = wire.contents ?? {};
  // Raw tensors (the hot path) carry no TensorContents at all: nothing to scan.
  const set = wire.contents === null || wire.contents === undefined ? noFields : setFields(contents);
  const rawBytes = raw?.byteLength ?? 0;
  if (rawBytes > 0 && set.length > 0) {
    throw new TensorCodecError(
      'contents',
      `${where}: both typed contents (${set.join(', ')}) and raw contents (${counted(rawBytes, 'byte')}) are set, ` +
        'expected one of them',
    );
  }
  if (set.length > 1) {
    throw new TensorCodecError(
      'contents',
      `${where}: typed contents are set in ${set.length} fields (${set.join(', ')}), expected only ${expected} for ${datatype}`,
    );
  }
  const field = set[0];
  if (field !== undefined && field !== expected) {
    throw new TensorCodecError('contents', `${where}: ${datatype} typed contents belong in ${expected}, got ${field}`);
  }
  let data: TensorData;
  if (raw && rawBytes > 0) {
    data = decodeRawTensorData(datatype, shape, count, raw, where);
  } else if (field !== undefined) {
    const n = contents[field]?.length ?? 0;
    if (n !== count) {
      throw new TensorCodecError(
        'contents',
        `${where}: ${field} holds ${counted(n, 'value')}, expected ${count} ` +
          `(${datatype} elements for shape ${formatShape(shape)})`,
      );
    }
    data = decodeTypedContents(datatype, contents, where);
  } else if (count === 0) {
    data = decodeRawTensorData(datatype, shape, 0, noBytes, where);
  } else {
    throw new TensorCodecError(
      'contents',
      `${where}: no contents, expected ${counted(count, `${datatype} element`)} for shape ${formatShape(shape)} ` +
        `in ${expected} or raw contents`,
    );
  }
  return { name: wire.name, datatype, shape, data };
}

function setFields(contents: WireTensorContents): TypedContentsField[] {
  const set: TypedContentsField[] = [];
  for (const f of typedFields) if ((contents[f]?.length ?? 0) > 0) set.push(f);
  return set;
}

/**
 * Encodes a decoded tensor for the wire. 'raw' shares the data's memory (numeric types; BYTES is
 * length-prefixed into a new buffer); 'typed' fills the datatype's TensorContents field.
 * The tensor is trusted (it comes from our own code): a data length that does not fit the shape is
 * a bug and throws a RangeError rather than a TensorCodecError.
 */
export function encodeTensor(t: DecodedTensor, format: 'raw' | 'typed'): EncodedTensor {
  const count = elementCount(t.shape);
  if (t.data.length !== count) {
    throw new RangeError(
      `tensor '${t.name}': data holds ${counted(t.data.length, `${t.datatype} element`)}, ` +
        `shape ${formatShape(t.shape)} needs ${count}`,
    );
  }
  return format === 'raw'
    ? { name: t.name, datatype: t.datatype, shape: t.shape, contents: null, raw_contents: encodeRawTensorData(t) }
    : { name: t.name, datatype: t.datatype, shape: t.shape, contents: encodeTypedContents(t), raw_contents: noBytes };
}
