/** Which part of a wire tensor a TensorCodecError is about. */
export type TensorCodecField = 'datatype' | 'shape' | 'contents' | 'raw';

/**
 * A wire tensor that cannot be decoded: the client's fault, so servers answer INVALID_ARGUMENT.
 * The message names the tensor, what was expected and what was got.
 */
export class TensorCodecError extends Error {
  override readonly name = 'TensorCodecError';
  /** The offending part of the tensor. */
  readonly field: TensorCodecField;

  constructor(field: TensorCodecField, message: string) {
    super(message);
    this.field = field;
  }
}

/** A shape as messages print it: `[1,784]`, `[]` for a scalar. */
export function formatShape(shape: readonly (number | string)[]): string {
  return `[${shape.join(',')}]`;
}

/** `n` and the noun, plural unless n is 1: "1 element", "3 elements". */
export function counted(n: number | bigint, noun: string): string {
  return `${n} ${noun}${n === 1 || n === 1n ? '' : 's'}`;
}
