import { describe, expect, it } from 'vitest';
import { decodeTensor, encodeTensor } from './tensor-codec.js';
import type { WireTensor } from './tensor-codec.js';
import { TensorCodecError } from './tensor-errors.js';
import type { TensorCodecField } from './tensor-errors.js';
import { overTheWire } from './test-helpers.js';

const where = "model 'm' input 'x'";

function decodeError(wire: Partial<WireTensor>, raw?: Uint8Array): TensorCodecError {
  try {
    decodeTensor({ name: 'x', datatype: 'FP32', shape: ['1'], ...wire }, raw, where);
  } catch (e) {
    expect(e).toBeInstanceOf(TensorCodecError);
    expect(e).toBeInstanceOf(Error);
    return e as TensorCodecError;
  }
  throw new Error('expected a TensorCodecError');
}

function expectError(wire: Partial<WireTensor>, raw: Uint8Array | undefined, field: TensorCodecField, message: string): void {
  const e = decodeError(wire, raw);
  expect(e.message).toBe(`${where}: ${message}`);
  expect(e.field).toBe(field);
  expect(e.name).toBe('TensorCodecError');
}

const le32 = (...ns: number[]) => Buffer.from(Uint32Array.from(ns).buffer);

describe('datatype', () => {
  it('rejects an unknown datatype and lists the valid ones', () => {
    expectError({ datatype: 'FLOAT32' }, undefined, 'datatype',
      'unknown datatype "FLOAT32", expected one of BOOL, UINT8, UINT16, UINT32, UINT64, INT8, INT16, INT32, INT64, FP16, BF16, FP32, FP64, BYTES');
    expect(decodeError({ datatype: 'fp32' }).field).toBe('datatype');
    expect(decodeError({ datatype: 'toString' }).field).toBe('datatype');
  });
});

describe('shape', () => {
  it.each([
    [['1', '-3'], 1, '"-3"'],
    [['1.5'], 0, '"1.5"'],
    [['2147483648'], 0, '"2147483648"'],
    [['abc'], 0, '"abc"'],
    [[''], 0, '""'],
    [[2, -1], 1, '-1'],
    [[0.5], 0, '0.5'],
  ])('rejects %j (dimension %i)', (shape, index, got) => {
    expectError({ shape }, undefined, 'shape',
      `shape [${shape.join(',')}] dimension ${index} is ${got}, expected an integer from 0 to 2147483647`);
  });

  it('rejects more than 2^31-1 elements, exactly counted', () => {
    expectError({ shape: ['65536', '65536'] }, undefined, 'shape',
      'shape [65536,65536] holds 4294967296 elements, more than the limit of 2147483647');
    const many = Array<string>(40).fill('2147483647');
    expect(decodeError({ shape: many }).message).toContain('more than the limit');
  });

  it('allows huge dimensions next to a 0 dimension', () => {
    const t = decodeTensor({ name: 'x', datatype: 'FP32', shape: ['2147483647', '0', '2147483647'] }, null, where);
    expect(t.shape).toEqual([2147483647, 0, 2147483647]);
    expect(t.data.length).toBe(0);
  });
});

describe('which contents', () => {
  it('rejects typed and raw contents together', () => {
    expectError({ contents: { fp32_contents: [1] } }, Buffer.alloc(4), 'contents',
      'both typed contents (fp32_contents) and raw contents (4 bytes) are set, expected one of them');
  });

  it('rejects typed contents in the wrong field', () => {
    expectError({ datatype: 'INT32', contents: { fp32_contents: [1] } }, undefined, 'contents',
      'INT32 typed contents belong in int_contents, got fp32_contents');
    expectError({ datatype: 'FP16', contents: { uint_contents: [1] } }, undefined, 'contents',
      'FP16 typed contents belong in fp32_contents, got uint_contents');
  });

  it('rejects typed contents in more than one field', () => {
    expectError({ datatype: 'INT32', contents: { int_contents: [1], fp32_contents: [1] } }, undefined, 'contents',
      'typed contents are set in 2 fields (int_contents, fp32_contents), expected only int_contents for INT32');
  });

  it('rejects a tensor with elements but no contents', () => {
    expectError({ shape: ['2', '2'], contents: { fp32_contents: [] } }, Buffer.alloc(0), 'contents',
      'no contents, expected 4 FP32 elements for shape [2,2] in fp32_contents or raw contents');
  });
});

describe('typed contents', () => {
  it('rejects a value count that does not match the shape', () => {
    expectError({ shape: ['2', '2'], contents: { fp32_contents: [1, 2, 3] } }, undefined, 'contents',
      'fp32_contents holds 3 values, expected 4 (FP32 elements for shape [2,2])');
    expectError({ shape: ['0'], contents: { fp32_contents: [1] } }, undefined, 'contents',
      'fp32_contents holds 1 value, expected 0 (FP32 elements for shape [0])');
  });

  it.each([
    ['UINT8', 'uint_contents', [1, 300], '300', 'an integer from 0 to 255'],
    ['UINT16', 'uint_contents', [1, 65536], '65536', 'an integer from 0 to 65535'],
    ['UINT32', 'uint_contents', [1, -1], '-1', 'an integer from 0 to 4294967295'],
    ['INT8', 'int_contents', [1, -129], '-129', 'an integer from -128 to 127'],
    ['INT16', 'int_contents', [1, 40000], '40000', 'an integer from -32768 to 32767'],
    ['INT32', 'int_contents', [1, 1.5], '1.5', 'an integer from -2147483648 to 2147483647'],
    ['INT64', 'int64_contents', ['1', '1.5'], "'1.5'", 'an integer from -9223372036854775808 to 9223372036854775807'],
    ['INT64', 'int64_contents', ['1', '9223372036854775808'], "'9223372036854775808'", 'an integer from -9223372036854775808 to 9223372036854775807'],
    ['INT64', 'int64_contents', ['1', ''], "''", 'an integer from -9223372036854775808 to 9223372036854775807'],
    ['UINT64', 'uint64_contents', ['1', '-1'], "'-1'", 'an integer from 0 to 18446744073709551615'],
    ['UINT64', 'uint64_contents', ['1', '18446744073709551616'], "'18446744073709551616'", 'an integer from 0 to 18446744073709551615'],
    ['BOOL', 'bool_contents', [true, 1], '1', 'true or false'],
    ['FP16', 'fp32_contents', [1, 70000], '70000', 'a number from -65504 to 65504, ±Infinity or NaN'],
    ['FP16', 'fp32_contents', [1, -65520], '-65520', 'a number from -65504 to 65504, ±Infinity or NaN'],
    ['BF16', 'fp32_contents', [1, 3.4e38], '3.4e+38', 'a number from -3.3895314e38 to 3.3895314e38, ±Infinity or NaN'],
  ])('rejects %s %s value %j', (datatype, field, values, got, expected) => {
    expectError({ datatype, shape: ['2'], contents: { [field]: values } }, undefined, 'contents',
      `${field}[1] is ${got}, out of range for ${datatype} (expected ${expected})`);
  });

  it('rejects BYTES values that are not bytes', () => {
    const contents = { bytes_contents: ['abc'] as unknown as Uint8Array[] };
    expectError({ datatype: 'BYTES', contents }, undefined, 'contents',
      "bytes_contents[0] is 'abc', expected bytes (a Buffer or Uint8Array)");
  });
});

describe('raw contents', () => {
  it('rejects a length that does not fit the shape', () => {
    expectError({ shape: ['1', '784'] }, Buffer.alloc(3132), 'raw',
      'raw contents hold 3132 bytes, expected 3136 (784 FP32 elements of 4 bytes for shape [1,784])');
    expectError({ datatype: 'INT64', shape: [] }, Buffer.alloc(4), 'raw',
      'raw contents hold 4 bytes, expected 8 (1 INT64 element of 8 bytes for shape [])');
    expectError({ shape: ['0', '3'] }, Buffer.alloc(4), 'raw',
      'raw contents hold 4 bytes, expected 0 (0 FP32 elements of 4 bytes for shape [0,3])');
  });

  it('rejects BOOL bytes other than 0 and 1', () => {
    expectError({ datatype: 'BOOL', shape: ['3'] }, Buffer.of(1, 0, 2), 'raw', 'raw BOOL contents byte 2 is 2, expected 0 or 1');
  });

  it('rejects BYTES with too few elements', () => {
    expectError({ datatype: 'BYTES', shape: ['3'] }, Buffer.concat([le32(1), Buffer.from('a'), le32(0)]), 'raw',
      'raw BYTES contents hold 2 elements, expected 3 for shape [3]');
  });

  it('rejects BYTES with a malformed length prefix', () => {
    expectError({ datatype: 'BYTES', shape: ['2'] }, Buffer.concat([le32(1), Buffer.from('a'), Buffer.of(1, 0)]), 'raw',
      "raw BYTES contents end with 2 bytes at byte 5 where element 1's 4-byte length prefix should be");
  });

  it('rejects a truncated BYTES element', () => {
    expectError({ datatype: 'BYTES', shape: ['2'] }, Buffer.concat([le32(1), Buffer.from('a'), le32(100), Buffer.from('abc')]), 'raw',
      'raw BYTES element 1 at byte 5 is truncated: its length prefix says 100 bytes, only 3 follow');
    // A length near 2^32 must not wrap around or allocate.
    expect(decodeError({ datatype: 'BYTES', shape: ['1'] }, le32(0xffffffff)).message).toContain('says 4294967295 bytes, only 0 follow');
  });

  it('rejects trailing bytes after the last BYTES element', () => {
    expectError({ datatype: 'BYTES', shape: ['1'] }, Buffer.concat([le32(1), Buffer.from('abc')]), 'raw',
      'raw BYTES contents have 2 bytes left over after the 1 element of shape [1]');
  });
});

describe('errors through protobuf', () => {
  it('a raw length mismatch survives serialization', () => {
    const enc = encodeTensor({ name: 'x', datatype: 'FP32', shape: [4], data: new Float32Array(4) }, 'raw');
    const [w] = overTheWire([{ ...enc, shape: [5] }]);
    expect(() => decodeTensor(w!, w!.raw_contents, where)).toThrow(
      `${where}: raw contents hold 16 bytes, expected 20 (5 FP32 elements of 4 bytes for shape [5])`,
    );
  });
});

describe('encodeTensor', () => {
  it('refuses data that does not fit the shape (a bug, not a client error)', () => {
    const t = { name: 'y', datatype: 'FP32' as const, shape: [2, 2], data: new Float32Array(3) };
    expect(() => encodeTensor(t, 'raw')).toThrow(new RangeError("tensor 'y': data holds 3 FP32 elements, shape [2,2] needs 4"));
  });
});
