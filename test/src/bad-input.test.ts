import { status, type ServiceError } from '@grpc/grpc-js';
import type { PredictResponse__Output } from '@modelserve/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureRepository } from './support/fixtures.js';
import { failure, startTestServer, unary, type TestServer } from './support/server.js';
import { fp32, wire } from './support/tensors.js';

let t: TestServer;
let small: TestServer;
beforeAll(async () => {
  const repository = await fixtureRepository();
  t = await startTestServer({ modelRepository: repository });
  small = await startTestServer({ modelRepository: repository, maxMessageBytes: 4096 });
});
afterAll(async () => {
  await t.close();
  await small.close();
});

const mlpInput = (shape = [1, 784]) => wire(fp32('input', shape, new Float32Array(shape.reduce((a, b) => a * b, 1))));

async function rejected(request: object, server = t): Promise<ServiceError> {
  const error = await failure(unary<PredictResponse__Output>((cb) => server.predictor.Predict(request, cb)));
  // Whatever went wrong, the caller never sees a stack trace.
  expect(error.details).not.toMatch(/\n\s+at /);
  return error;
}

describe('bad requests get a precise status and message', () => {
  const cases: Array<[string, object, status, string | RegExp]> = [
    ['unknown model', { model_name: 'nope', inputs: [mlpInput()] }, status.NOT_FOUND, "model 'nope' is not in the repository; models: any_rank, any_rank_int64, bf16, datatypes, mnist_cnn, mnist_mlp, multi_io, multi_io_default, tiny_mlp"],
    ['unknown version', { model_name: 'mnist_mlp', model_version: '9', inputs: [mlpInput()] }, status.NOT_FOUND, "model 'mnist_mlp' has no version 9; versions: 1, 2"],
    ['a version that is not a number', { model_name: 'mnist_mlp', model_version: 'latest', inputs: [mlpInput()] }, status.INVALID_ARGUMENT, `model 'mnist_mlp': version "latest" is not valid: expected a positive integer or empty for the default version`],
    ['a model name that could escape the repository', { model_name: '../etc', inputs: [] }, status.INVALID_ARGUMENT, /^model name "..\/etc" is not valid/],
    ['a missing input', { model_name: 'multi_io', inputs: [wire(fp32('a', [1], [1]))] }, status.INVALID_ARGUMENT, "model 'multi_io' version 1: missing input 'b'; expected inputs 'a' FP32 [-1], 'b' INT64 [-1], got 'a'"],
    ['no inputs at all', { model_name: 'mnist_mlp', inputs: [] }, status.INVALID_ARGUMENT, "model 'mnist_mlp' version 2: missing input 'input'; expected inputs 'input' FP32 [-1,784], got none"],
    ['an extra input', { model_name: 'mnist_mlp', inputs: [mlpInput(), wire(fp32('extra', [1], [0]))] }, status.INVALID_ARGUMENT, "model 'mnist_mlp' version 2: unexpected input 'extra'; the model's inputs are 'input' FP32 [-1,784]"],
    ['a misnamed input', { model_name: 'mnist_mlp', inputs: [wire(fp32('image', [1, 784], new Float32Array(784)))] }, status.INVALID_ARGUMENT, "model 'mnist_mlp' version 2: unexpected input 'image'; the model's inputs are 'input' FP32 [-1,784]"],
    ['a wrong datatype', { model_name: 'mnist_mlp', inputs: [wire({ name: 'input', datatype: 'FP64', shape: [1, 784], data: new Float64Array(784) })] }, status.INVALID_ARGUMENT, "model 'mnist_mlp' version 2 input 'input': datatype FP64, expected FP32"],
    ['a wrong rank', { model_name: 'mnist_mlp', inputs: [mlpInput([784])] }, status.INVALID_ARGUMENT, "model 'mnist_mlp' version 2 input 'input': shape [784] has rank 1, expected rank 2 ([-1,784])"],
    ['a wrong dimension', { model_name: 'mnist_mlp', inputs: [mlpInput([1, 780])] }, status.INVALID_ARGUMENT, "model 'mnist_mlp' version 2 input 'input': dimension 1 is 780, expected 784 (shape [-1,784], got [1,780])"],
    ['a batch over max_batch_size', { model_name: 'tiny_mlp', inputs: [wire(fp32('input', [9, 4], new Float32Array(36)))] }, status.INVALID_ARGUMENT, "model 'tiny_mlp' version 1 input 'input': batch size 9 exceeds max_batch_size 8"],
    ['raw bytes that do not match the shape', { model_name: 'mnist_mlp', inputs: [{ ...mlpInput(), raw_contents: Buffer.alloc(3132) }] }, status.INVALID_ARGUMENT, /^model 'mnist_mlp' input 'input': .*3132 bytes.*expected 3136/],
    ['typed and raw contents both set', { model_name: 'mnist_mlp', inputs: [{ ...mlpInput(), contents: { fp32_contents: new Array(784).fill(0) } }] }, status.INVALID_ARGUMENT, /^model 'mnist_mlp' input 'input': .*both/],
    ['typed contents in the wrong field', { model_name: 'mnist_mlp', inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], contents: { int_contents: [1, 2, 3, 4] } }] }, status.INVALID_ARGUMENT, /^model 'mnist_mlp' input 'input': .*fp32_contents.*int_contents/],
    ['too few typed values', { model_name: 'tiny_mlp', inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], contents: { fp32_contents: [1, 2, 3] } }] }, status.INVALID_ARGUMENT, /^model 'tiny_mlp' input 'input': .*3.*expected 4/],
    ['a value out of range for its datatype', { model_name: 'datatypes', inputs: [{ name: 'in_uint8', datatype: 'UINT8', shape: [1], contents: { uint_contents: [300] } }] }, status.INVALID_ARGUMENT, /^model 'datatypes' input 'in_uint8': .*300/],
    ['an unknown datatype', { model_name: 'mnist_mlp', inputs: [{ name: 'input', datatype: 'FLOAT', shape: [1, 784] }] }, status.INVALID_ARGUMENT, /^model 'mnist_mlp' input 'input': .*FLOAT.*FP32/],
    ['a negative dimension', { model_name: 'mnist_mlp', inputs: [{ ...mlpInput(), shape: [-1, 784] }] }, status.INVALID_ARGUMENT, /^model 'mnist_mlp' input 'input': .*-1/],
    ['malformed BYTES length prefixes', { model_name: 'datatypes', inputs: [{ name: 'in_string', datatype: 'BYTES', shape: [1], raw_contents: Buffer.from([9, 0, 0, 0, 65]) }] }, status.INVALID_ARGUMENT, /^model 'datatypes' input 'in_string': /],
    ['an unknown requested output', { model_name: 'tiny_mlp', inputs: [wire(fp32('input', [1, 4], [1, 2, 3, 4]))], outputs: ['probabilities'] }, status.INVALID_ARGUMENT, "model 'tiny_mlp' version 1: unknown output 'probabilities' requested; the model's outputs are 'output' FP32 [-1,3]"],
    ['a model that failed to load', { model_name: 'bf16', model_version: '1', inputs: [] }, status.UNAVAILABLE, /^model 'bf16' version 1 is not ready: it is FAILED \(onnxruntime cannot load model 'bf16' version 1: .*\)/],
  ];
  for (const [what, request, code, message] of cases) {
    it(`${what} → ${status[code]}`, async () => {
      const error = await rejected(request);
      expect(error.code).toBe(code);
      if (typeof message === 'string') expect(error.details).toBe(message);
      else expect(error.details).toMatch(message);
    });
  }

  it('a message over the size limit → RESOURCE_EXHAUSTED, and the server goes on', async () => {
    const error = await rejected({ model_name: 'mnist_mlp', inputs: [mlpInput([2, 784])] }, small);
    expect(error.code).toBe(status.RESOURCE_EXHAUSTED);
    const ok = await unary<PredictResponse__Output>((cb) => small.predictor.Predict({ model_name: 'tiny_mlp', inputs: [wire(fp32('input', [1, 4], [1, 2, 3, 4]))] }, cb));
    expect(ok.model_version).toBe('1');
  });
});
