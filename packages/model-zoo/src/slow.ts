import { buildModel, floatTensor, node, valueInfo } from './builder.js';
import { checkInput, type GeneratedModel } from './generated-model.js';
import { mulberry32, uniform } from './prng.js';
import { dense } from './reference.js';

/** Options for `slowMlp()`; the defaults take about 2 ms per run of batch 1 on one thread. */
export interface SlowMlpOptions {
  seed?: number;
  inputSize?: number;
  hidden?: number;
  /** Hidden layers after the first; they all share one weight matrix, so they add time but not bytes. */
  layers?: number;
  outputs?: number;
}

/** Default hidden layers of `slowMlp()` (each ~13 µs at width 512): ~2 ms per batch-1 run with onnxruntime-node on one thread of a 2-core VM. */
export const SLOW_MLP_LAYERS = 150;

/**
 * A deep MLP that is slow for its size, for benchmarks that need a model with a real cost per run
 * (the response cache's): input ['batch', inputSize] -> MatMul+Add+Tanh -> `layers` × (the same
 * hidden MatMul+Add+Tanh) -> MatMul, plus a skip MatMul of the input, + bias -> output ['batch',
 * outputs]. Tanh keeps the activations bounded however deep it gets, so the reference still agrees
 * with onnxruntime at the end; but repeating one matrix contracts, so after many layers the chain
 * forgets its input, and the skip term is what keeps each answer a distinct function of its input.
 */
export function slowMlp(options: SlowMlpOptions = {}): GeneratedModel {
  const { seed = 1, inputSize = 64, hidden = 512, layers = SLOW_MLP_LAYERS, outputs = 10 } = options;
  const random = mulberry32(seed);
  // Weights of variance 1/fan_in (uniform in ±sqrt(3/fan_in)) keep pre-activations O(1), so tanh neither saturates nor vanishes.
  const limit = (fanIn: number): number => Math.sqrt(3 / fanIn);
  const wIn = uniform(random, inputSize * hidden, limit(inputSize));
  const bIn = uniform(random, hidden, 0.1);
  const wHidden = uniform(random, hidden * hidden, limit(hidden));
  const bHidden = uniform(random, hidden, 0.1);
  const wOut = uniform(random, hidden * outputs, limit(hidden));
  const wSkip = uniform(random, inputSize * outputs, limit(inputSize));
  const bOut = uniform(random, outputs, 0.1);

  const layer = (input: string, w: string, b: string, output: string): ReturnType<typeof node>[] => [
    node('MatMul', [input, w], [`${output}_mm`]),
    node('Add', [`${output}_mm`, b], [`${output}_pre`]),
    node('Tanh', [`${output}_pre`], [output]),
  ];
  const nodes = layer('input', 'w_in', 'b_in', 'h0');
  for (let i = 1; i <= layers; i++) nodes.push(...layer(`h${i - 1}`, 'w_hidden', 'b_hidden', `h${i}`));
  nodes.push(
    node('MatMul', [`h${layers}`, 'w_out'], ['o_deep']),
    node('MatMul', ['input', 'w_skip'], ['o_skip']),
    node('Add', ['o_deep', 'o_skip'], ['o_sum']),
    node('Add', ['o_sum', 'b_out'], ['output']),
  );

  const bytes = buildModel({
    name: `slow_mlp_seed${seed}`,
    inputs: [valueInfo('input', 'float32', ['batch', inputSize])],
    outputs: [valueInfo('output', 'float32', ['batch', outputs])],
    initializers: [
      floatTensor('w_in', [inputSize, hidden], wIn),
      floatTensor('b_in', [hidden], bIn),
      floatTensor('w_hidden', [hidden, hidden], wHidden),
      floatTensor('b_hidden', [hidden], bHidden),
      floatTensor('w_out', [hidden, outputs], wOut),
      floatTensor('w_skip', [inputSize, outputs], wSkip),
      floatTensor('b_out', [outputs], bOut),
    ],
    nodes,
  });

  return {
    bytes,
    forward(input, batch) {
      checkInput(input, batch * inputSize, 'slowMlp');
      let h = tanh(dense(input, batch, wIn, bIn, inputSize, hidden));
      for (let i = 0; i < layers; i++) h = tanh(dense(h, batch, wHidden, bHidden, hidden, hidden));
      const deep = dense(h, batch, wOut, new Float32Array(outputs), hidden, outputs);
      const skip = dense(input, batch, wSkip, new Float32Array(outputs), inputSize, outputs);
      return deep.map((d, i) => Math.fround(Math.fround(d + (skip[i] ?? 0)) + (bOut[i % outputs] ?? 0)));
    },
  };
}

/** In-place tanh, rounded to float32 as ORT's tensors are. */
function tanh(x: Float32Array): Float32Array {
  for (let i = 0; i < x.length; i++) x[i] = Math.fround(Math.tanh(x[i] ?? 0));
  return x;
}
