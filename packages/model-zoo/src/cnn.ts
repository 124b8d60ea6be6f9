import { attr, buildModel, floatTensor, node, valueInfo } from './builder.js';
import { checkInput, type GeneratedModel } from './generated-model.js';
import { mulberry32, uniform, type Random } from './prng.js';
import { conv2d, dense, maxPool2x2, relu } from './reference.js';

/** Options for `cnn()`. */
export interface CnnOptions {
  seed?: number;
}

const C1 = 8;
const C2 = 16;
const K = 3;
const FLAT = C2 * 7 * 7;
const CLASSES = 10;

/** Conv weights [cout, cin, k, k] and bias, uniform in ±1/sqrt(cin*k*k). */
function convParams(random: Random, cout: number, cin: number): [Float32Array, Float32Array] {
  const limit = 1 / Math.sqrt(cin * K * K);
  return [uniform(random, cout * cin * K * K, limit), uniform(random, cout, limit)];
}

/** Small LeNet-style CNN: input ['batch',1,28,28] -> 2x (Conv3x3 pad1 + Relu + MaxPool2x2) -> Flatten -> Gemm -> output ['batch',10]. */
export function cnn(options: CnnOptions = {}): GeneratedModel {
  const { seed = 1 } = options;
  const random = mulberry32(seed);
  const [w1, b1] = convParams(random, C1, 1);
  const [w2, b2] = convParams(random, C2, C1);
  const fcW = uniform(random, CLASSES * FLAT, 1 / Math.sqrt(FLAT));
  const fcB = uniform(random, CLASSES, 1 / Math.sqrt(FLAT));

  const convAttrs = [attr.ints('kernel_shape', [K, K]), attr.ints('pads', [1, 1, 1, 1])];
  const poolAttrs = [attr.ints('kernel_shape', [2, 2]), attr.ints('strides', [2, 2])];
  const bytes = buildModel({
    name: `cnn_seed${seed}`,
    inputs: [valueInfo('input', 'float32', ['batch', 1, 28, 28])],
    outputs: [valueInfo('output', 'float32', ['batch', CLASSES])],
    initializers: [
      floatTensor('conv1_w', [C1, 1, K, K], w1),
      floatTensor('conv1_b', [C1], b1),
      floatTensor('conv2_w', [C2, C1, K, K], w2),
      floatTensor('conv2_b', [C2], b2),
      floatTensor('fc_w', [CLASSES, FLAT], fcW),
      floatTensor('fc_b', [CLASSES], fcB),
    ],
    nodes: [
      node('Conv', ['input', 'conv1_w', 'conv1_b'], ['c1'], convAttrs),
      node('Relu', ['c1'], ['r1']),
      node('MaxPool', ['r1'], ['p1'], poolAttrs),
      node('Conv', ['p1', 'conv2_w', 'conv2_b'], ['c2'], convAttrs),
      node('Relu', ['c2'], ['r2']),
      node('MaxPool', ['r2'], ['p2'], poolAttrs),
      node('Flatten', ['p2'], ['flat'], [attr.int('axis', 1)]),
      node('Gemm', ['flat', 'fc_w', 'fc_b'], ['output'], [attr.int('transB', 1)]),
    ],
  });

  return {
    bytes,
    forward(input, batch) {
      checkInput(input, batch * 28 * 28, 'cnn');
      const c1 = relu(conv2d(input, { batch, channels: 1, height: 28, width: 28 }, w1, b1, C1, K, 1));
      const p1 = maxPool2x2(c1, { batch, channels: C1, height: 28, width: 28 });
      const c2 = relu(conv2d(p1, { batch, channels: C1, height: 14, width: 14 }, w2, b2, C2, K, 1));
      const p2 = maxPool2x2(c2, { batch, channels: C2, height: 14, width: 14 });
      // NCHW [batch,16,7,7] is already the row-major [batch,784] that Flatten(axis=1) yields.
      return dense(p2, batch, fcW, fcB, FLAT, CLASSES, 'gemm-transb');
    },
  };
}
