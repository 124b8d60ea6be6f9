/**
 * Many small FP32 models of varied operators, one per index, for serving a thousand models at once
 * (the many-model benchmark). Every model has one input `input` [batch, inputSize] and one output
 * `output` [batch, outputSize], so a client can feed any of them the same way; the operators vary
 * so that the server does not only ever see one graph shape.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { attr, buildModel, floatTensor, node, valueInfo } from './builder.js';
import { checkInput, type GeneratedModel } from './generated-model.js';
import { mlp } from './mlp.js';
import { mulberry32, uniform, type Random } from './prng.js';
import { dense } from './reference.js';

/** The operator patterns, in the order indices cycle through them. */
export const TINY_KINDS = ['matmul-add', 'matmul-add-relu', 'gemm', 'matmul-add-sigmoid', 'elementwise', 'softmax', 'matmul-add-tanh', 'mlp'] as const;

/** One of `TINY_KINDS`. */
export type TinyKind = (typeof TINY_KINDS)[number];

/** What `tinyModel()` returns: the model, its reference, its sizes per sample and its operator pattern. */
export type TinyModel = GeneratedModel & { inputSize: number; outputSize: number; kind: TinyKind };

/** Features per sample, inclusive: small enough that a thousand models stay a few tens of MB on disk. */
const MIN_FEATURES = 4;
const MAX_FEATURES = 64;

/** Activations after a dense layer: the ONNX operator and its float32 reference. */
const activations = {
  Relu: (x: number) => Math.max(x, 0),
  Sigmoid: (x: number) => Math.fround(1 / (1 + Math.exp(-x))),
  Tanh: (x: number) => Math.fround(Math.tanh(x)),
} as const;

type Activation = keyof typeof activations;

function features(random: Random): number {
  return MIN_FEATURES + Math.floor(random() * (MAX_FEATURES - MIN_FEATURES + 1));
}

/** Input and output declarations with the symbolic batch dimension `max_batch_size` > 0 needs. */
function io(inputSize: number, outputSize: number) {
  return { inputs: [valueInfo('input', 'float32', ['batch', inputSize])], outputs: [valueInfo('output', 'float32', ['batch', outputSize])] };
}

/** MatMul + Add, then an optional activation or a Softmax over each row. */
function denseModel(name: string, random: Random, inputSize: number, outputSize: number, after?: Activation | 'Softmax'): GeneratedModel {
  const limit = 1 / Math.sqrt(inputSize);
  const w = uniform(random, inputSize * outputSize, limit);
  const b = uniform(random, outputSize, limit);
  const last = after === undefined ? 'output' : 'pre';
  const nodes = [node('MatMul', ['input', 'w'], ['mm']), node('Add', ['mm', 'b'], [last])];
  if (after !== undefined) nodes.push(node(after, ['pre'], ['output'], after === 'Softmax' ? [attr.int('axis', -1)] : []));
  const bytes = buildModel({ name, ...io(inputSize, outputSize), initializers: [floatTensor('w', [inputSize, outputSize], w), floatTensor('b', [outputSize], b)], nodes });
  return {
    bytes,
    forward(input, batch) {
      checkInput(input, batch * inputSize, name);
      const y = dense(input, batch, w, b, inputSize, outputSize);
      if (after === 'Softmax') return softmaxRows(y, outputSize);
      if (after !== undefined) y.forEach((v, i) => (y[i] = activations[after](v)));
      return y;
    },
  };
}

/** Softmax of each row of `x`, in double precision, rounded once per element. */
function softmaxRows(x: Float32Array, width: number): Float32Array {
  const y = new Float32Array(x.length);
  for (let row = 0; row < x.length; row += width) {
    const values = x.subarray(row, row + width);
    const max = Math.max(...values);
    const exps = Array.from(values, (v) => Math.exp(v - max));
    const sum = exps.reduce((a, e) => a + e, 0);
    exps.forEach((e, i) => (y[row + i] = e / sum));
  }
  return y;
}

/** Gemm with transB=1 (weights stored [out, in], the layout PyTorch's Linear exports). */
function gemmModel(name: string, random: Random, inputSize: number, outputSize: number): GeneratedModel {
  const limit = 1 / Math.sqrt(inputSize);
  const w = uniform(random, outputSize * inputSize, limit);
  const b = uniform(random, outputSize, limit);
  const bytes = buildModel({
    name,
    ...io(inputSize, outputSize),
    initializers: [floatTensor('w', [outputSize, inputSize], w), floatTensor('b', [outputSize], b)],
    nodes: [node('Gemm', ['input', 'w', 'b'], ['output'], [attr.int('transB', 1)])],
  });
  return {
    bytes,
    forward(input, batch) {
      checkInput(input, batch * inputSize, name);
      return dense(input, batch, w, b, inputSize, outputSize, 'gemm-transb');
    },
  };
}

/** 1-3 steps of `x * scale + shift`, per feature (broadcast over the batch); output size = input size. */
function elementwiseModel(name: string, random: Random, size: number): GeneratedModel {
  const steps = Array.from({ length: 1 + Math.floor(random() * 3) }, () => ({ scale: uniform(random, size, 2), shift: uniform(random, size, 1) }));
  const initializers = steps.flatMap((s, i) => [floatTensor(`scale${i}`, [size], s.scale), floatTensor(`shift${i}`, [size], s.shift)]);
  const nodes = steps.flatMap((_, i) => {
    const from = i === 0 ? 'input' : `y${i - 1}`;
    const to = i === steps.length - 1 ? 'output' : `y${i}`;
    return [node('Mul', [from, `scale${i}`], [`scaled${i}`]), node('Add', [`scaled${i}`, `shift${i}`], [to])];
  });
  const bytes = buildModel({ name, ...io(size, size), initializers, nodes });
  return {
    bytes,
    forward(input, batch) {
      checkInput(input, batch * size, name);
      const y = Float32Array.from(input);
      // Each Mul and Add is one float32 operation in ORT, so rounding after each matches it exactly.
      for (const { scale, shift } of steps) y.forEach((v, i) => (y[i] = Math.fround(Math.fround(v * scale[i % size]!) + shift[i % size]!)));
      return y;
    },
  };
}

/** The name of model `index` in a many-model repository: tiny-0000, tiny-0001, … */
export function tinyModelName(index: number): string {
  return `tiny-${String(index).padStart(4, '0')}`;
}

/**
 * Model `index` of the tiny zoo: its kind cycles through `TINY_KINDS`, its sizes and weights come
 * from a PRNG seeded by the index, so the same index always gives the same bytes.
 */
export function tinyModel(index: number): TinyModel {
  if (!Number.isInteger(index) || index < 0) throw new Error(`tinyModel: expected an index ≥ 0, got ${index}`);
  const kind = TINY_KINDS[index % TINY_KINDS.length]!;
  // A multiplicative hash spreads neighbouring indices over unrelated seeds.
  const random = mulberry32(Math.imul(index + 1, 0x9e3779b1));
  const inputSize = features(random);
  const outputSize = kind === 'elementwise' ? inputSize : features(random);
  const name = tinyModelName(index);
  const model = ((): GeneratedModel => {
    switch (kind) {
      case 'matmul-add': return denseModel(name, random, inputSize, outputSize);
      case 'matmul-add-relu': return denseModel(name, random, inputSize, outputSize, 'Relu');
      case 'matmul-add-sigmoid': return denseModel(name, random, inputSize, outputSize, 'Sigmoid');
      case 'matmul-add-tanh': return denseModel(name, random, inputSize, outputSize, 'Tanh');
      case 'softmax': return denseModel(name, random, inputSize, outputSize, 'Softmax');
      case 'gemm': return gemmModel(name, random, inputSize, outputSize);
      case 'elementwise': return elementwiseModel(name, random, inputSize);
      case 'mlp': return mlp({ seed: Math.floor(random() * 2 ** 32), inputSize, hidden: features(random), outputs: outputSize });
    }
  })();
  return { ...model, inputSize, outputSize, kind };
}

/** Options of `writeManyModelRepository`. */
export interface ManyModelRepositoryOptions {
  /** Every model's `config.yaml`; default `DEFAULT_TINY_CONFIG`. */
  config?: string;
}

/** Batched (so batching can be turned on), one session per version (a thousand versions on a few cores), warmed up. */
export const DEFAULT_TINY_CONFIG = 'max_batch_size: 8\ninstances:\n  count: 1\nwarmup: true\n';

/** Models written at once: enough to keep the disk busy, few enough not to hold a thousand files open. */
const WRITE_CONCURRENCY = 32;

/**
 * Writes models 0…count-1 of the tiny zoo as a Triton-style repository:
 * `<dir>/<name>/1/model.onnx` and `<dir>/<name>/config.yaml`. Returns the names in index order.
 */
export async function writeManyModelRepository(dir: string, count: number, options: ManyModelRepositoryOptions = {}): Promise<string[]> {
  const config = options.config ?? DEFAULT_TINY_CONFIG;
  const names = Array.from({ length: count }, (_, i) => tinyModelName(i));
  const writeOne = async (index: number): Promise<void> => {
    const modelDir = join(dir, names[index]!);
    await mkdir(join(modelDir, '1'), { recursive: true });
    await Promise.all([writeFile(join(modelDir, '1', 'model.onnx'), tinyModel(index).bytes), writeFile(join(modelDir, 'config.yaml'), config)]);
  };
  for (let start = 0; start < count; start += WRITE_CONCURRENCY) {
    await Promise.all(Array.from({ length: Math.min(WRITE_CONCURRENCY, count - start) }, (_, i) => writeOne(start + i)));
  }
  return names;
}
