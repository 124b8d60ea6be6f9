import { describe, expect, it } from 'vitest';
import type { ModelSignature } from './metadata.js';
import type { NamedTensor } from './tensor.js';
import { validateRequest } from './validate.js';

const signature: ModelSignature = {
  inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 4] }],
  outputs: [{ name: 'output', datatype: 'FP32', shape: [-1, 2] }],
};

function fp32(name: string, shape: number[]): NamedTensor {
  return { name, datatype: 'FP32', shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)) };
}

const check = (inputs: NamedTensor[], outputs: string[] = [], maxBatch = 8): void =>
  validateRequest("model 'm' version 1", signature, maxBatch, inputs, outputs);

describe('request validation', () => {
  it('accepts a request that fits the signature', () => {
    expect(() => check([fp32('input', [3, 4])], ['output'])).not.toThrow();
  });

  it('names a missing input and what was given', () => {
    expect(() => check([])).toThrow("model 'm' version 1: missing input 'input'; expected inputs 'input' FP32 [-1,4], got none");
  });

  it('names an unexpected input', () => {
    expect(() => check([fp32('input', [1, 4]), fp32('extra', [1])])).toThrow(
      "model 'm' version 1: unexpected input 'extra'; the model's inputs are 'input' FP32 [-1,4]",
    );
  });

  it('refuses an input given twice', () => {
    expect(() => check([fp32('input', [1, 4]), fp32('input', [1, 4])])).toThrow(/input 'input' is given more than once/);
  });

  it('names a wrong datatype', () => {
    const input: NamedTensor = { name: 'input', datatype: 'FP64', shape: [1, 4], data: new Float64Array(4) };
    expect(() => check([input])).toThrow("model 'm' version 1 input 'input': datatype FP64, expected FP32");
  });

  it('names a wrong rank', () => {
    expect(() => check([fp32('input', [4])])).toThrow("input 'input': shape [4] has rank 1, expected rank 2 ([-1,4])");
  });

  it('names a wrong dimension', () => {
    expect(() => check([fp32('input', [1, 3])])).toThrow("input 'input': dimension 1 is 3, expected 4 (shape [-1,4], got [1,3])");
  });

  it('refuses a batch over max_batch_size', () => {
    expect(() => check([fp32('input', [9, 4])])).toThrow("input 'input': batch size 9 exceeds max_batch_size 8");
    expect(() => check([fp32('input', [9, 4])], [], 0)).not.toThrow();
  });

  it('refuses data that does not fill the shape', () => {
    const input: NamedTensor = { name: 'input', datatype: 'FP32', shape: [2, 4], data: new Float32Array(4) };
    expect(() => check([input])).toThrow("input 'input': 4 elements given, expected 8 for shape [2,4]");
  });

  it('refuses an unknown requested output', () => {
    expect(() => check([fp32('input', [1, 4])], ['probs'])).toThrow("unknown output 'probs' requested; the model's outputs are 'output' FP32 [-1,2]");
  });

  it('accepts any rank when the model leaves it open', () => {
    const open: ModelSignature = { inputs: [{ name: 'x', datatype: 'FP32', shape: null }], outputs: [] };
    expect(() => validateRequest('m', open, 0, [fp32('x', [])], [])).not.toThrow();
    expect(() => validateRequest('m', open, 0, [fp32('x', [1, 1, 1, 1, 1, 1, 2])], [])).not.toThrow();
  });
});
