import { TensorCodecError, formatShape } from './tensor-errors.js';

/** The largest dimension and the largest element count a tensor may have (int32 max, as in ORT and Triton). */
export const maxElements = 2 ** 31 - 1;

const integerString = /^-?\d+$/;

/**
 * Validates a wire shape (int64 dims as decimal strings, or numbers) and returns it as numbers.
 * Throws a TensorCodecError for a negative, non-integer or too-large dimension or element count.
 */
export function parseShape(shape: readonly (string | number)[], where: string): number[] {
  const dims = new Array<number>(shape.length);
  let hasZero = false;
  for (let i = 0; i < shape.length; i++) {
    const d = shape[i];
    // Number('') is 0 and Number('0x10') is 16: only plain decimal strings count as integers.
    const n = typeof d === 'number' ? d : typeof d === 'string' && integerString.test(d) ? Number(d) : NaN;
    if (!Number.isInteger(n) || n < 0 || n > maxElements) {
      throw new TensorCodecError(
        'shape',
        `${where}: shape ${formatShape(shape)} dimension ${i} is ${JSON.stringify(d)}, ` +
          `expected an integer from 0 to ${maxElements}`,
      );
    }
    dims[i] = n;
    if (n === 0) hasZero = true;
  }
  // A zero dimension empties the tensor whatever the others are; otherwise stop multiplying at the
  // limit, so that many large dims cannot overflow to Infinity.
  if (!hasZero) {
    let count = 1;
    for (const n of dims) {
      count *= n;
      if (count > maxElements) {
        throw new TensorCodecError(
          'shape',
          `${where}: shape ${formatShape(shape)} holds ${elementCountBig(dims)} elements, ` +
            `more than the limit of ${maxElements}`,
        );
      }
    }
  }
  return dims;
}

/** The number of elements a shape holds: 1 for a scalar, 0 when any dimension is 0. */
export function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

function elementCountBig(shape: readonly number[]): bigint {
  let n = 1n;
  for (const d of shape) n *= BigInt(d);
  return n;
}
