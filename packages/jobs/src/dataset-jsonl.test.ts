import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { DataType, NamedTensor } from '@modelserve/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonSyntaxError } from './dataset-jsonl-source.js';
import { bfloat16BitsToNumber, float16BitsToNumber, numberToBfloat16Bits, numberToFloat16Bits, tensorFromJson, tensorToJson } from './dataset-jsonl.js';
import { openDataset, openResultWriter } from './datasets.js';
import type { RowTensorSpec } from './types.js';

let data: string;

beforeAll(async () => {
  data = await mkdtemp(path.join(tmpdir(), 'modelserve-jsonl-'));
});

afterAll(async () => {
  await rm(data, { recursive: true, force: true });
});

const image: RowTensorSpec = { name: 'image', datatype: 'FP32', shape: [2, 3] };
const label: RowTensorSpec = { name: 'label', datatype: 'UINT8', shape: [] };

/** Reads `lines` as a JSONL dataset of `inputs`: each row's inputs or error. */
async function rowsOf(lines: readonly string[], inputs: readonly RowTensorSpec[]): Promise<unknown[]> {
  const file = `rows-${Math.random().toString(36).slice(2)}.jsonl`;
  await writeFile(path.join(data, file), `${lines.join('\n')}\n`);
  const source = await openDataset(data, { path: file }, inputs);
  const rows = await source.read(0, source.rows);
  await source.close();
  return rows.map((r) => r.error ?? r.inputs);
}

describe('a JSONL dataset', () => {
  it('reads nested and flat arrays, "input" for one input and "inputs" for several', async () => {
    const rows = await rowsOf(['{"input": [[1, 2, 3], [4, 5, 6]]}', '{"input": [1, 2, 3, 4, 5, 6], "id": "kept aside"}'], [image]);
    const expected = [{ name: 'image', datatype: 'FP32', shape: [2, 3], data: Float32Array.of(1, 2, 3, 4, 5, 6) }];
    expect(rows).toEqual([expected, expected]);
    expect(await rowsOf(['{"inputs": {"label": 7, "image": [[1, 2, 3], [4, 5, 6]]}}'], [image, label])).toEqual([[...expected, { name: 'label', datatype: 'UINT8', shape: [], data: Uint8Array.of(7) }]]);
  });

  it('fails each malformed row with its reason, and reads its neighbours', async () => {
    const good = '{"input": [[1, 2, 3], [4, 5, 6]]}';
    const bad = [
      ['{"input": [[1, 2, 3], [4, 5, 6]]', 'invalid JSON at column 33: expected \',\' or \'}\', got the end of the line'],
      ['{"input": [1, 2, 3,, 4]}', 'invalid JSON at column 20: expected a value, got ","'],
      ["{'input': [1]}", 'invalid JSON at column 2: expected a property name in double quotes, got "\'"'],
      ['', 'a blank line; expected a JSON object'],
      ['[1, 2, 3, 4, 5, 6]', 'expected a JSON object with "input" or "inputs", got an array'],
      ['{"inputs": {}}', 'missing input "image"'],
      ['{"inputs": {"image": [1, 2, 3, 4, 5, 6], "extra": [1]}}', 'unknown input "extra"; expected image'],
      ['{"input": [1, 2, 3, 4, 5]}', 'input "image": expected 6 elements, got 5'],
      ['{"input": [[1, 2], [3, 4], [5, 6]]}', 'input "image": expected shape [2,3], got a nested array of shape [3,2]'],
      ['{"input": [[1, 2, 3], [4, 5]]}', 'input "image" at [1]: ragged nested array: expected 3 elements as in [0], got 2'],
      ['{"input": [[[1], [2], [3]], [[4], [5], [6]]]}', 'input "image": expected 2 levels of nesting for shape [2,3], got 3 ([2,3,1])'],
      ['{"input": [[1, 2, 3], [4, "abc", 6]]}', 'input "image" at [1,1]: expected a number, got "abc"'],
      ['{"input": [1, 2, 3, 4, 5, 1e39]}', 'input "image" at [1,2]: value 1e+39 out of range for FP32'],
      ['{"input": "1, 2, 3, 4, 5, 6"}', 'input "image": expected an array for shape [2,3], got "1, 2, 3, 4, 5, 6"'],
    ] as const;
    const rows = await rowsOf([good, ...bad.flatMap(([line]) => [line, good])], [image]);
    expect(rows.filter((_, i) => i % 2 === 1)).toEqual(bad.map(([, error]) => error));
    expect(new Set(rows.filter((_, i) => i % 2 === 0).map((r) => JSON.stringify(r))).size).toBe(1);
  });

  it('does not count blank lines at the end as rows', async () => {
    const file = path.join(data, 'trailing.jsonl');
    await writeFile(file, '{"input": 1}\n\n{"input": 2}\n\n \r\n\t\n');
    const source = await openDataset(data, { path: 'trailing.jsonl' }, [label]);
    expect(source.rows).toBe(3);
    expect((await source.read(1, 3)).map((r) => r.error ?? [...(r.inputs![0]!.data as Uint8Array)])).toEqual(['a blank line; expected a JSON object', [2]]);
    await source.close();
  });

  it('tells a row naming "input" for a model of several inputs to use "inputs"', async () => {
    expect(await rowsOf(['{"input": [1]}'], [image, label])).toEqual(['"input" is for a model with one input; this one has 2 (image, label): use "inputs"']);
  });
});

describe('JSON values as tensors', () => {
  const one = (datatype: DataType, value: unknown): NamedTensor | string => {
    try {
      return tensorFromJson({ name: 'v', datatype, shape: [-1] }, value);
    } catch (error) {
      return (error as Error).message;
    }
  };

  it('takes numbers only, integers within range, and true or false for BOOL', () => {
    expect(one('UINT8', [0, 255])).toMatchObject({ shape: [2], data: Uint8Array.of(0, 255) });
    expect(one('UINT8', [1, 300])).toBe('input "v" at [1]: value 300 out of range for UINT8');
    expect(one('INT8', [-129])).toBe('input "v" at [0]: value -129 out of range for INT8');
    expect(one('INT32', [1.5])).toBe('input "v" at [0]: expected an integer for INT32, got 1.5');
    expect(one('FP64', ['1.5'])).toBe('input "v" at [0]: expected a number, got "1.5"');
    expect(one('UINT32', [2 ** 32 - 1])).toMatchObject({ data: Uint32Array.of(2 ** 32 - 1) });
    expect(one('BOOL', [true, false])).toMatchObject({ data: Uint8Array.of(1, 0) });
    expect(one('BOOL', [1])).toBe('input "v" at [0]: expected true or false, got 1');
  });

  it('takes INT64 and UINT64 as safe integers, or strings of digits beyond 2^53', () => {
    expect(one('INT64', [-(2 ** 53) + 1, '-9223372036854775808'])).toMatchObject({ data: BigInt64Array.of(-(2n ** 53n) + 1n, -(2n ** 63n)) });
    expect(one('UINT64', ['18446744073709551615'])).toMatchObject({ data: BigUint64Array.of(2n ** 64n - 1n) });
    expect(one('UINT64', ['18446744073709551616'])).toBe('input "v" at [0]: value 18446744073709551616 out of range for UINT64');
    expect(one('INT64', [2 ** 60])).toBe('input "v" at [0]: value 1152921504606847000 is beyond ±2^53, where JSON numbers lose digits; write it as a string of digits');
    expect(one('INT64', ['12abc'])).toBe('input "v" at [0]: expected an integer (a number, or a string of digits beyond ±2^53), got "12abc"');
  });

  it('rounds FP16 and BF16 to nearest, ties to even, and refuses what overflows them', () => {
    expect(one('FP16', [1, 0.1, 65504, -(2 ** -24), 2 ** -25])).toMatchObject({ data: Uint16Array.of(0x3c00, 0x2e66, 0x7bff, 0x8001, 0x0000) });
    expect(one('FP16', [65520])).toBe('input "v" at [0]: value 65520 out of range for FP16');
    expect(one('BF16', [1, 1 + 2 ** -8, 1 + 3 * 2 ** -8, 3.39e38])).toMatchObject({ data: Uint16Array.of(0x3f80, 0x3f80, 0x3f82, 0x7f7f) });
    expect(one('BF16', [3.4e39])).toBe('input "v" at [0]: value 3.4e+39 out of range for BF16');
    for (const bits of [0x0001, 0x03ff, 0x0400, 0x3555, 0x7bff, 0xfbff]) expect(numberToFloat16Bits(float16BitsToNumber(bits))).toBe(bits);
    for (const bits of [0x0001, 0x3f80, 0x7f7f, 0xc2f7]) expect(numberToBfloat16Bits(bfloat16BitsToNumber(bits))).toBe(bits);
  });

  it('takes strings for BYTES, as UTF-8', () => {
    expect(one('BYTES', ['é', ''])).toEqual({ name: 'v', datatype: 'BYTES', shape: [2], data: [Uint8Array.of(0xc3, 0xa9), new Uint8Array()] });
    expect(one('BYTES', [1])).toBe('input "v" at [0]: expected a string, got 1');
  });

  it('gives a single variable dimension the length of a flat array', () => {
    expect(tensorFromJson({ name: 'v', datatype: 'FP32', shape: [-1, 2] }, [1, 2, 3, 4])).toMatchObject({ shape: [2, 2] });
    expect(() => tensorFromJson({ name: 'v', datatype: 'FP32', shape: [-1, 2] }, [1, 2, 3])).toThrow('input "v": expected a multiple of 2 elements for shape [-1,2], got 3');
    expect(() => tensorFromJson({ name: 'v', datatype: 'FP32', shape: [-1, -1] }, [1, 2])).toThrow('input "v": shape [-1,-1] has 2 variable dimensions; give a nested array, not a flat one');
    expect(tensorFromJson({ name: 'v', datatype: 'FP32', shape: [-1, -1] }, [[1], [2]])).toMatchObject({ shape: [2, 1] });
  });

  it('writes tensors as nested arrays: 64-bit integers beyond 2^53 as strings, halves as numbers, float32 in its shortest digits', () => {
    expect(tensorToJson({ name: 'v', datatype: 'FP32', shape: [2, 2], data: Float32Array.of(0.1, 1 / 3, NaN, -Infinity) })).toEqual([
      [0.1, 0.33333334],
      ['NaN', '-Infinity'],
    ]);
    expect(tensorToJson({ name: 'v', datatype: 'UINT64', shape: [2], data: BigUint64Array.of(2n ** 53n - 1n, 2n ** 64n - 1n) })).toEqual([2 ** 53 - 1, '18446744073709551615']);
    expect(tensorToJson({ name: 'v', datatype: 'FP16', shape: [], data: Uint16Array.of(0x3555) })).toBe(0.333251953125);
    expect(tensorToJson({ name: 'v', datatype: 'BF16', shape: [1], data: Uint16Array.of(0xc2f7) })).toEqual([-123.5]);
    expect(tensorToJson({ name: 'v', datatype: 'BOOL', shape: [2], data: Uint8Array.of(1, 0) })).toEqual([true, false]);
    expect(tensorToJson({ name: 'v', datatype: 'BYTES', shape: [1], data: [Uint8Array.of(0xc3, 0xa9)] })).toEqual(['é']);
  });
});

describe('jsonSyntaxError', () => {
  it('names the column and what was expected there', () => {
    expect(jsonSyntaxError('{"a": [1, 2]}')).toBeUndefined();
    expect(jsonSyntaxError('{"a": tru}')).toBe('invalid JSON at column 10: expected "true", got "}"');
    expect(jsonSyntaxError('{"a": 1} x')).toBe('invalid JSON at column 10: expected the end of the line after the JSON value, got "x"');
    expect(jsonSyntaxError('{"a": 01}')).toBe('invalid JSON at column 8: expected \',\' or \'}\', got "1"');
    expect(jsonSyntaxError('{"a": "\\x"}')).toBe('invalid JSON at column 9: expected an escape such as \\n or \\u00e9, got "x"');
    expect(jsonSyntaxError('{"a": 1.}')).toBe('invalid JSON at column 9: expected a digit, got "}"');
  });
});

describe('a JSONL results file', () => {
  it('holds every datatype a model may answer', async () => {
    const outputs: RowTensorSpec[] = [
      { name: 'text', datatype: 'BYTES', shape: [1] },
      { name: 'half', datatype: 'FP16', shape: [] },
    ];
    const writer = await openResultWriter(data, { path: 'out/all.jsonl' }, outputs, 1);
    await writer.write([
      {
        row: 0,
        outputs: [
          { name: 'half', datatype: 'FP16', shape: [], data: Uint16Array.of(0x3c00) },
          { name: 'text', datatype: 'BYTES', shape: [1], data: [new TextEncoder().encode('naïve')] },
        ],
      },
    ]);
    await writer.close();
    expect(await readFile(path.join(data, 'out', 'all.jsonl'), 'utf8')).toBe('{"row":0,"outputs":{"text":["naïve"],"half":1}}\n');
  });

  it('refuses a row without an output it keeps, or with another datatype', async () => {
    const writer = await openResultWriter(data, { path: 'out/bad.jsonl' }, [label], 2);
    await expect(writer.write([{ row: 0, outputs: [] }])).rejects.toMatchObject({ errorCode: 'InvalidArgument', details: 'row 0: no output "label"; got none' });
    await writer.abort();
    const again = await openResultWriter(data, { path: 'out/bad.jsonl' }, [label], 2);
    await expect(again.write([{ row: 0, outputs: [{ name: 'label', datatype: 'INT8', shape: [], data: Int8Array.of(1) }] }])).rejects.toMatchObject({ details: 'row 0: output "label": expected UINT8, got INT8' });
    await again.abort();
  });
});
