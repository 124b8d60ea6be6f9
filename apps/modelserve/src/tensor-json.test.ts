import { dataTypes, TensorCodecError, type DataType } from '@modelserve/proto';
import { describe, expect, it } from 'vitest';
import { flattenJson, generatedValues, tensorFromValues, valuesOf } from './tensor-json.js';

describe('tensors typed as JSON', () => {
  it('reads the shape from the nesting', () => {
    expect(flattenJson([[1, 2, 3], [4, 5, 6]], 'x')).toEqual({ shape: [2, 3], values: [1, 2, 3, 4, 5, 6] });
    expect(flattenJson(7, 'x')).toEqual({ shape: [], values: [7] });
    expect(flattenJson([], 'x')).toEqual({ shape: [0], values: [] });
  });

  it('refuses ragged arrays, saying where', () => {
    expect(() => flattenJson([[1, 2], [3]], "input 'x'")).toThrow("input 'x': ragged array: expected 2 elements at depth 1, got 1 at element 2");
    expect(() => flattenJson([[1], 2], "input 'x'")).toThrow("input 'x': ragged array: expected 2 levels of nesting, got 1 at element 1");
    expect(() => flattenJson([[1, [2]]], "input 'x'")).toThrow("input 'x': ragged array: expected 2 levels of nesting, got 3 at element 1");
  });

  it("checks the nesting against the model's shape, naming the element", () => {
    const where = "input 'input'";
    expect(flattenJson([[1, 2, 3, 4]], where, [-1, 4])).toEqual({ shape: [1, 4], values: [1, 2, 3, 4] });
    expect(() => flattenJson([[[1, 2, 3, 4]]], where, [-1, 4])).toThrow("input 'input': expected 2 levels of nesting for shape [-1,4], got 3 at element 0");
    expect(() => flattenJson([1, 2, 3, 4], where, [-1, 4])).toThrow("input 'input': expected 2 levels of nesting for shape [-1,4], got 1 at element 0");
    expect(() => flattenJson([[1, 2, 3, [4]]], where, [-1, 4])).toThrow("input 'input': expected 2 levels of nesting for shape [-1,4], got 3 at element 3");
    expect(() => flattenJson({}, where, [-1, 4])).toThrow("input 'input': expected 2 levels of nesting for shape [-1,4], got 0 at element 0");
    expect(() => flattenJson(5, where, [])).not.toThrow();
    // Dimensions are the server's to check (it names the model and version); an empty batch keeps the fixed ones.
    expect(flattenJson([[1, 2]], where, [-1, 4])).toEqual({ shape: [1, 2], values: [1, 2] });
    expect(flattenJson([], where, [-1, 4])).toEqual({ shape: [0, 4], values: [] });
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

  // What the CLI prints, it takes back: each datatype's extremes round-trip exactly.
  const extremes: Record<DataType, unknown[]> = {
    BOOL: [true, false],
    UINT8: [0, 255],
    UINT16: [0, 65535],
    UINT32: [0, 4294967295],
    UINT64: [0, 9007199254740991, '9007199254740992', '18446744073709551615'],
    INT8: [-128, 127],
    INT16: [-32768, 32767],
    INT32: [-2147483648, 2147483647],
    INT64: ['-9223372036854775808', -9007199254740991, 0, 9007199254740991, '9223372036854775807'],
    FP16: [-65504, 2 ** -24, 0.5, 65504],
    BF16: [-3.3895313892515355e38, 1.5, 3.3895313892515355e38],
    FP32: [-3.4028234663852886e38, 1.5, 1.401298464324817e-45, 3.4028234663852886e38],
    FP64: [-Number.MAX_VALUE, 0.1, 5e-324, Number.MAX_VALUE],
    BYTES: ['', 'naïve', '😀'],
  };
  it.each(dataTypes)('%s: the extremes of its range round-trip exactly through JSON', (datatype) => {
    const values = JSON.parse(JSON.stringify(extremes[datatype])) as unknown[];
    expect(valuesOf(tensorFromValues('x', datatype, [values.length], values))).toEqual(values);
  });

  it.each([
    ['FP32', [1, 2, 3, 'x'], `input 'input': element 3 is "x", expected a number in FP32 range (±3.4028235e38)`],
    ['FP32', [1, 2, 3, 1e40], "input 'input': element 3 is 1e+40, expected a number in FP32 range (±3.4028235e38)"],
    ['FP32', [1, 2, 3, {}], "input 'input': element 3 is {}, expected a number in FP32 range (±3.4028235e38)"],
    ['FP32', [null, 2, 3, 4], "input 'input': element 0 is null, expected a number in FP32 range (±3.4028235e38)"],
    ['FP32', ['1.5'], `input 'input': element 0 is "1.5", expected a number in FP32 range (±3.4028235e38)`],
    ['FP16', [70000], "input 'input': element 0 is 70000, expected a number in FP16 range (±65504)"],
    ['INT8', [1, 300], "input 'input': element 1 is 300, expected an integer from -128 to 127 (INT8)"],
    ['UINT8', [-1], "input 'input': element 0 is -1, expected an integer from 0 to 255 (UINT8)"],
    ['INT32', [2.5], "input 'input': element 0 is 2.5, expected an integer from -2147483648 to 2147483647 (INT32)"],
    ['INT32', ['5'], `input 'input': element 0 is "5", expected an integer from -2147483648 to 2147483647 (INT32)`],
    ['INT64', [JSON.parse('9007199254740993') as number], "input 'input': element 0 is 9007199254740992, expected an integer from -9223372036854775808 to 9223372036854775807 (INT64; a decimal string beyond ±9007199254740991); as a number it may have lost precision already"],
    ['UINT64', ['-1'], `input 'input': element 0 is "-1", expected an integer from 0 to 18446744073709551615 (UINT64; a decimal string beyond 9007199254740991)`],
    ['BOOL', [1], "input 'input': element 0 is 1, expected true or false (BOOL)"],
    ['BYTES', [5], "input 'input': element 0 is 5, expected a string or bytes (BYTES)"],
  ] as Array<[DataType, unknown[], string]>)('%s: refuses, naming the input, the element and the range: %2$s', (datatype, values, message) => {
    expect(() => tensorFromValues('input', datatype, [values.length], values)).toThrow(new TensorCodecError('contents', message));
  });

  it.each(dataTypes)('%s: random and zero values are valid values of the datatype', (datatype) => {
    for (const kind of ['random', 'zeros'] as const) expect(() => tensorFromValues('x', datatype, [8], generatedValues(datatype, 8, kind))).not.toThrow();
  });
});
