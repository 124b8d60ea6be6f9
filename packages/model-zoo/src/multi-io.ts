import { attr, buildModel, floatTensor, node, valueInfo } from './builder.js';
import { dataTypeOf } from './element-types.js';

/** Options for `multiIo()`. */
export interface MultiIoOptions {
  /**
   * Adds a third input `bias` FP32 [1] that is also an initializer holding MULTI_IO_DEFAULT_BIAS.
   * ONNX (IR >= 4) treats such an input as optional: a feed overrides the stored default.
   */
  withDefault?: boolean;
}

/** The value `bias` takes in `multiIo({ withDefault: true })` when the request omits it. */
export const MULTI_IO_DEFAULT_BIAS = 0.5;

/**
 * Inputs `a` FP32 ['n'] and `b` INT64 ['n']; outputs `sum` = a + float(b) (+ bias) FP32 ['n']
 * and `b_out` = b INT64 ['n']. Exercises mixed datatypes on both sides of a request.
 */
export function multiIo(options: MultiIoOptions = {}): Uint8Array {
  const withDefault = options.withDefault ?? false;
  const nodes = [
    node('Cast', ['b'], ['b_float'], [attr.int('to', dataTypeOf('float32'))]),
    node('Add', ['a', 'b_float'], [withDefault ? 'ab' : 'sum']),
    node('Identity', ['b'], ['b_out']),
  ];
  if (withDefault) nodes.push(node('Add', ['ab', 'bias'], ['sum']));
  return buildModel({
    name: withDefault ? 'multi_io_with_default' : 'multi_io',
    inputs: [
      valueInfo('a', 'float32', ['n']),
      valueInfo('b', 'int64', ['n']),
      ...(withDefault ? [valueInfo('bias', 'float32', [1])] : []),
    ],
    outputs: [valueInfo('sum', 'float32', ['n']), valueInfo('b_out', 'int64', ['n'])],
    nodes,
    initializers: withDefault ? [floatTensor('bias', [1], Float32Array.of(MULTI_IO_DEFAULT_BIAS))] : [],
  });
}
