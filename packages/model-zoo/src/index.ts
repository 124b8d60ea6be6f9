/** Low-level ONNX graph builder helpers, for tests that need a bespoke model. */
export { attr, buildModel, floatTensor, int64Tensor, node, valueInfo, IR_VERSION, OPSET_VERSION } from './builder.js';
/** Builder types: dimensions (number or symbolic name) and a whole-graph spec. */
export type { Dim, GraphSpec } from './builder.js';
/** Element type names and their order. */
export { ELEMENT_TYPES, dataTypeOf, type OnnxElementType } from './element-types.js';
/** Seeded PRNG used for all weights. */
export { mulberry32, type Random } from './prng.js';
export { maxRelativeDiff } from './compare.js';
/** Shape of mlp()/cnn() results: model bytes plus a plain-TS forward pass. */
export type { GeneratedModel } from './generated-model.js';
/** MNIST-shaped two-layer perceptron with a reference evaluator. */
export { mlp, type MlpOptions } from './mlp.js';
/** MNIST-shaped small CNN with a reference evaluator. */
export { cnn, type CnnOptions } from './cnn.js';
/** One-node Identity models, including the unloadable bfloat16 one. */
export { identity, bf16Identity, type IdentityNames } from './identity.js';
/** Mixed-datatype model with several inputs and outputs (optionally an input with a default). */
export { multiIo, MULTI_IO_DEFAULT_BIAS, type MultiIoOptions } from './multi-io.js';
/** One Identity per supported element type: in_<type> -> out_<type>. */
export { datatypes, DATATYPES_MODEL_TYPES } from './datatypes.js';
/** The committed demo repository: writer, contents and reference evaluators. */
export { writeDemoRepository, demoModels, demoMlp, demoCnn, demoTinyMlp, type DemoModel, type DemoModelName } from './demo-repository.js';
/** Many small FP32 models of varied operators, one per index, and a repository writer for a thousand of them. */
export { tinyModel, tinyModelName, writeManyModelRepository, TINY_KINDS, DEFAULT_TINY_CONFIG, type TinyKind, type TinyModel, type ManyModelRepositoryOptions } from './tiny-zoo.js';
/** A deep MLP with one shared hidden matrix: ~2 ms per batch-1 run, 64 inputs, 10 outputs, ~1.2 MB. */
export { slowMlp, SLOW_MLP_LAYERS, type SlowMlpOptions } from './slow.js';
