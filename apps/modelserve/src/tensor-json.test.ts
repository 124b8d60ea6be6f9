import { describe, expect, it } from 'vitest';
import { flattenJson, tensorFromValues, valuesOf } from './tensor-json.js';

describe('tensors typed as JSON', () => {
  it('reads the shape from the nesting', () => {
    expect(flattenJson([[1, 2, 3], [4, 5, 6]], 'x')).toEqual({ shape: [2, 3], values: [1, 2, 3, 4, 5, 6] });
    expect(flattenJson(7, 'x')).toEqual({ shape: [], values: [7] });
    expect(flattenJson([], 'x')).toEqual({ shape: [0], values: [] });
  });

  it('refuses ragged arrays, saying where', () => {
    expect(() => flattenJson([[1, 2], [3]], '--input x')).toThrow('--input x: ragged array: expected 2 elements at depth 1, got 1');
    expect(() => flattenJson([[1], 2], '--input x')).toThrow('--input x: ragged array: expected 1 elements at depth 1, got a value');
  });

  it('builds every datatype and prints it back, 64-bit integers beyond 2^53 as exact strings', () => {
    const int64 = tensorFromValues('x', 'INT64', [2], [1, '9007199254740993']);
    expect(valuesOf(int64)).toEqual([1, '9007199254740993']);
    expect(valuesOf(tensorFromValues('x', 'BOOL', [2], [true, false]))).toEqual([true, false]);
    expect(valuesOf(tensorFromValues('x', 'FP16', [2], [1.5, -2]))).toEqual([1.5, -2]);
    expect(valuesOf(tensorFromValues('x', 'BF16', [1], [1.5]))).toEqual([1.5]);
    expect(valuesOf(tensorFromValues('x', 'BYTES', [1], ['naïve']))).toEqual(['naïve']);
    expect(valuesOf(tensorFromValues('x', 'UINT8', [2], [0, 255]))).toEqual([0, 255]);
  });
});
