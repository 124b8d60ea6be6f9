import { buildModel, floatTensor, node, valueInfo } from './builder.js';
import { checkInput, type GeneratedModel } from './generated-model.js';
import { mulberry32, uniform } from './prng.js';
import { dense, relu } from './reference.js';

/** Options for `mlp()`; defaults give an MNIST-shaped 784-256-10 network. */
export interface MlpOptions {
  seed?: number;
  inputSize?: number;
  hidden?: number;
  outputs?: number;
}

/** Two-layer perceptron: input ['batch', inputSize] -> MatMul+Add+Relu -> MatMul+Add -> output ['batch', outputs] (logits). */
export function mlp(options: MlpOptions = {}): GeneratedModel {
  const { seed = 1, inputSize = 784, hidden = 256, outputs = 10 } = options;
  const random = mulberry32(seed);
  // PyTorch-style init, uniform in ±1/sqrt(fan_in), keeps logits O(1) for [0, 1) inputs.
  const w1 = uniform(random, inputSize * hidden, 1 / Math.sqrt(inputSize));
  const b1 = uniform(random, hidden, 1 / Math.sqrt(inputSize));
  const w2 = uniform(random, hidden * outputs, 1 / Math.sqrt(hidden));
  const b2 = uniform(random, outputs, 1 / Math.sqrt(hidden));

  const bytes = buildModel({
    name: `mlp_seed${seed}`,
    inputs: [valueInfo('input', 'float32', ['batch', inputSize])],
    outputs: [valueInfo('output', 'float32', ['batch', outputs])],
    initializers: [
      floatTensor('w1', [inputSize, hidden], w1),
      floatTensor('b1', [hidden], b1),
      floatTensor('w2', [hidden, outputs], w2),
      floatTensor('b2', [outputs], b2),
    ],
    nodes: [
      node('MatMul', ['input', 'w1'], ['h_mm']),
      node('Add', ['h_mm', 'b1'], ['h_pre']),
      node('Relu', ['h_pre'], ['h']),
      node('MatMul', ['h', 'w2'], ['o_mm']),
      node('Add', ['o_mm', 'b2'], ['output']),
    ],
  });

  return {
    bytes,
    forward(input, batch) {
      checkInput(input, batch * inputSize, 'mlp');
      const h = relu(dense(input, batch, w1, b1, inputSize, hidden));
      return dense(h, batch, w2, b2, hidden, outputs);
    },
  };
}
