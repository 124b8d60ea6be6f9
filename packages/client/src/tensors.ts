/**
 * The SDK's tensors: what callers pass (typed arrays, or plain arrays with a shape) and what they
 * get back (typed arrays with shape and datatype; BYTES as strings). Conversion to and from the
 * wire uses @modelserve/proto's codec, raw contents both ways (the fast path).
 */
import { float16BitsToNumber, tensorDataFromValues, TensorCodecError, type DataType, type DecodedTensor, type NumericTensorData, type TensorDataMap } from '@modelserve/proto';
import { ModelServeError } from './errors.js';

export type { DataType };

/** Storage of each datatype in results: typed arrays; BOOL as 0/1 bytes; FP16/BF16 as raw bits; BYTES as strings. */
export type OutputDataMap = Omit<TensorDataMap, 'BYTES'> & { BYTES: string[] };

/** A result tensor. */
export interface Tensor<D extends DataType = DataType> {
  datatype: D;
  shape: number[];
  data: OutputDataMap[D];
}

/** Typed arrays an input may be given as. */
export type TypedArrayInput =
  | Float32Array
  | Float64Array
  | Int8Array
  | Int16Array
  | Int32Array
  | BigInt64Array
  | Uint8Array
  | Uint16Array
  | Uint32Array
  | BigUint64Array;

/**
 * One input: a typed array (1-D unless a shape is given), or flat (row-major) data with a shape.
 * `datatype` is inferred from the array (Float32Array → FP32, BigInt64Array → INT64, string[] →
 * BYTES, boolean[] → BOOL, number[] → FP32) unless given; FP16 and BF16 take raw bits (Uint16Array)
 * or numbers. Every value must be one the datatype holds exactly (floats: rounded to it, NaN and
 * ±Infinity kept), else the call fails with INVALID_ARGUMENT before anything is sent: BOOL takes
 * booleans (or 0/1 in a Uint8Array), integer datatypes integers in range (INT64/UINT64 also bigints
 * and decimal strings, but no number beyond 2^53), floats numbers that do not overflow to
 * ±Infinity, BYTES strings or Uint8Arrays.
 */
export type TensorInput =
  | TypedArrayInput
  | {
      data: TypedArrayInput | readonly number[] | readonly bigint[] | readonly boolean[] | readonly string[] | readonly Uint8Array[];
      shape?: readonly number[];
      datatype?: DataType;
    };

/** A request's inputs by name. */
export type TensorInputs = Record<string, TensorInput>;

const arrayDataType = new Map<unknown, DataType>([
  [Float32Array, 'FP32'],
  [Float64Array, 'FP64'],
  [Int8Array, 'INT8'],
  [Int16Array, 'INT16'],
  [Int32Array, 'INT32'],
  [BigInt64Array, 'INT64'],
  [Uint8Array, 'UINT8'],
  [Uint16Array, 'UINT16'],
  [Uint32Array, 'UINT32'],
  [BigUint64Array, 'UINT64'],
]);

const invalid = (message: string): ModelServeError => new ModelServeError('InvalidArgument', message);
const utf8Decoder = new TextDecoder();

function isTypedArray(value: unknown): value is TypedArrayInput {
  return ArrayBuffer.isView(value) && !(value instanceof DataView);
}

/**
 * The common input, taken as is: a typed array of its natural datatype (not FP16/BF16 bits or BOOL),
 * whole (no shape: 1-D) or with a shape that fits. Anything else is undefined, for toDecodedTensor
 * to convert or explain.
 */
function naturalInput(input: TensorInput): { datatype: DataType; shape: readonly number[]; data: TypedArrayInput } | undefined {
  const data = isTypedArray(input) ? input : isTypedArray(input.data) ? input.data : undefined;
  if (data === undefined) return undefined;
  const datatype = arrayDataType.get(data.constructor);
  if (datatype === undefined || (!isTypedArray(input) && input.datatype !== undefined && input.datatype !== datatype)) return undefined;
  const shape = isTypedArray(input) || input.shape === undefined ? [data.length] : input.shape;
  let count = 1;
  for (const d of shape) count *= d;
  return count === data.length ? { datatype, shape, data } : undefined;
}

/** The common input (see naturalInput) as a raw tensor whose contents are a view on its memory. */
export function naturalRawTensor(name: string, input: TensorInput): { name: string; datatype: DataType; shape: readonly number[]; raw_contents: Uint8Array } | undefined {
  const natural = naturalInput(input);
  if (natural === undefined) return undefined;
  const { data } = natural;
  return { name, datatype: natural.datatype, shape: natural.shape, raw_contents: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

/**
 * One caller input as a decoded tensor the codec can encode; every element checked by
 * @modelserve/proto's tensorDataFromValues. Throws a ModelServeError (InvalidArgument) naming the
 * input, and the element and the datatype's range when a value does not fit.
 */
export function toDecodedTensor(name: string, input: TensorInput): DecodedTensor {
  const natural = naturalInput(input);
  if (natural !== undefined) return { name, datatype: natural.datatype, shape: natural.shape as number[], data: natural.data as NumericTensorData } as DecodedTensor;
  const { data, shape: givenShape, datatype: givenType } = isTypedArray(input) ? { data: input, shape: undefined, datatype: undefined } : input;
  const length = data.length;
  const shape = givenShape === undefined ? [length] : [...givenShape];
  if (!isTypedArray(data)) {
    const nested = (data as readonly unknown[]).findIndex((v) => Array.isArray(v));
    if (nested >= 0) throw invalid(`input '${name}': expected flat (row-major) data for shape [${shape.join(',')}], got an array at element ${nested}`);
  }
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== length) throw invalid(`input '${name}': ${length} values for shape [${shape.join(',')}], expected ${count}`);
  const first = (data as ArrayLike<unknown>)[0];
  const datatype: DataType =
    givenType ??
    arrayDataType.get(data.constructor) ??
    (typeof first === 'string' || first instanceof Uint8Array ? 'BYTES' : typeof first === 'boolean' ? 'BOOL' : typeof first === 'bigint' ? 'INT64' : 'FP32');
  try {
    return { name, datatype, shape, data: tensorDataFromValues(datatype, data as ArrayLike<unknown>, `input '${name}'`) } as DecodedTensor;
  } catch (error) {
    if (error instanceof TensorCodecError) throw invalid(error.message);
    throw error;
  }
}

/** A decoded result tensor as the SDK returns it. */
export function fromDecodedTensor(tensor: DecodedTensor): Tensor {
  if (tensor.datatype === 'BYTES') {
    return { datatype: 'BYTES', shape: tensor.shape, data: (tensor.data as Uint8Array[]).map((b) => utf8Decoder.decode(b)) };
  }
  return { datatype: tensor.datatype, shape: tensor.shape, data: tensor.data } as Tensor;
}

/** FP16 bits (as in an FP16 result) to numbers. */
export function fp16ToNumbers(bits: Uint16Array): Float32Array {
  return Float32Array.from(bits, float16BitsToNumber);
}

/**
 * Numbers to FP16 bits, for an FP16 input given as bits; a value FP16 cannot hold (not a number, or
 * a finite number beyond ±65504 that would round to ±Infinity) is an InvalidArgument ModelServeError.
 */
export function numbersToFp16(values: ArrayLike<number>): Uint16Array {
  try {
    return tensorDataFromValues('FP16', Array.from(values), 'numbersToFp16');
  } catch (error) {
    if (error instanceof TensorCodecError) throw invalid(error.message);
    throw error;
  }
}
