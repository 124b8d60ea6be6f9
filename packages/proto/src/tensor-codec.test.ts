import { describe, expect, it } from 'vitest';
import { decodeTensor, encodeTensor } from './tensor-codec.js';
import type { DataType, DecodedTensor } from './tensor-types.js';
import { bytesOf, overTheWire } from './test-helpers.js';

const bytes = (...parts: (string | number[])[]): Uint8Array[] =>
  parts.map((p) => (typeof p === 'string' ? new TextEncoder().encode(p) : Uint8Array.from(p)));

/** One tensor per datatype, with the extremes of its range. */
const samples: DecodedTensor[] = [
  { name: 'bool', datatype: 'BOOL', shape: [2, 2], data: Uint8Array.of(1, 0, 0, 1) },
  { name: 'u8', datatype: 'UINT8', shape: [4], data: Uint8Array.of(0, 255, 7, 128) },
  { name: 'u16', datatype: 'UINT16', shape: [4], data: Uint16Array.of(0, 65535, 300, 1) },
  { name: 'u32', datatype: 'UINT32', shape: [4], data: Uint32Array.of(0, 4294967295, 70000, 1) },
  { name: 'u64', datatype: 'UINT64', shape: [4], data: BigUint64Array.of(0n, 2n ** 64n - 1n, 2n ** 53n + 1n, 2n ** 63n) },
  { name: 'i8', datatype: 'INT8', shape: [4], data: Int8Array.of(-128, 127, 0, -1) },
  { name: 'i16', datatype: 'INT16', shape: [4], data: Int16Array.of(-32768, 32767, 0, -1) },
  { name: 'i32', datatype: 'INT32', shape: [4], data: Int32Array.of(-2147483648, 2147483647, 0, -1) },
  { name: 'i64', datatype: 'INT64', shape: [4], data: BigInt64Array.of(-(2n ** 63n), 2n ** 63n - 1n, -(2n ** 53n) - 1n, 0n) },
  // 1, -2, +Inf, NaN, smallest subnormal, -0, largest finite, smallest normal
  { name: 'f16', datatype: 'FP16', shape: [2, 4], data: Uint16Array.of(0x3c00, 0xc000, 0x7c00, 0x7e00, 0x0001, 0x8000, 0x7bff, 0x0400) },
  { name: 'bf16', datatype: 'BF16', shape: [2, 4], data: Uint16Array.of(0x3f80, 0xc000, 0xff80, 0x7fc0, 0x0001, 0x8000, 0x7f7f, 0x0080) },
  { name: 'f32', datatype: 'FP32', shape: [2, 3], data: Float32Array.of(1.5, -0, NaN, Infinity, 3.4028234663852886e38, Math.fround(1e-45)) },
  { name: 'f64', datatype: 'FP64', shape: [2, 3], data: Float64Array.of(Math.PI, -0, NaN, -Infinity, Number.MAX_VALUE, 5e-324) },
  { name: 'str', datatype: 'BYTES', shape: [4], data: bytes('hello', '', [0, 0, 255], 'x'.repeat(300)) },
];

function expectSameTensor(got: DecodedTensor, want: DecodedTensor): void {
  expect(got.name).toBe(want.name);
  expect(got.datatype).toBe(want.datatype);
  expect(got.shape).toEqual(want.shape);
  if (want.datatype === 'BYTES') {
    const g = got.data as Uint8Array[];
    expect(g.map((e) => Buffer.from(e).toString('hex'))).toEqual(
      (want.data as Uint8Array[]).map((e) => Buffer.from(e).toString('hex')),
    );
  } else {
    expect(got.data.constructor).toBe(want.data.constructor);
    expect(bytesOf(got.data as ArrayBufferView).equals(bytesOf(want.data as ArrayBufferView))).toBe(true);
  }
}

function roundTrip(tensors: DecodedTensor[], format: 'raw' | 'typed'): DecodedTensor[] {
  return overTheWire(tensors.map((t) => encodeTensor(t, format))).map((w) =>
    decodeTensor(w, w.raw_contents, `input '${w.name}'`),
  );
}

describe.each(['raw', 'typed'] as const)('%s round trip through protobuf', (format) => {
  it.each(samples.map((s) => [s.datatype, s] as const))('%s', (_, sample) => {
    const [got] = roundTrip([sample], format);
    expectSameTensor(got!, sample);
  });

  it('all datatypes in one request', () => {
    const got = roundTrip(samples, format);
    got.forEach((g, i) => expectSameTensor(g, samples[i]!));
  });

  it('a scalar (shape [])', () => {
    const t: DecodedTensor = { name: 's', datatype: 'FP32', shape: [], data: Float32Array.of(3.5) };
    expectSameTensor(roundTrip([t], format)[0]!, t);
  });

  it.each(['FP32', 'BYTES', 'INT64', 'BOOL'] as const)('an empty %s tensor (shape [0,3])', (datatype) => {
    const data = datatype === 'BYTES' ? [] : new (datatype === 'FP32' ? Float32Array : datatype === 'INT64' ? BigInt64Array : Uint8Array)(0);
    const t = { name: 'e', datatype, shape: [0, 3], data } as DecodedTensor;
    expectSameTensor(roundTrip([t], format)[0]!, t);
  });

  it('a rank-7 tensor', () => {
    const data = Int32Array.from({ length: 24 }, (_, i) => i * 1000 - 7);
    const t: DecodedTensor = { name: 'r7', datatype: 'INT32', shape: [1, 2, 1, 2, 1, 2, 3], data };
    expectSameTensor(roundTrip([t], format)[0]!, t);
  });
});

describe('wire representation', () => {
  it('INT64 and UINT64 typed values are exact decimal strings', () => {
    const [i64, u64] = overTheWire([encodeTensor(samples[8]!, 'typed'), encodeTensor(samples[4]!, 'typed')]);
    expect(i64?.contents?.int64_contents).toEqual(['-9223372036854775808', '9223372036854775807', '-9007199254740993', '0']);
    expect(u64?.contents?.uint64_contents).toEqual(['0', '18446744073709551615', '9007199254740993', '9223372036854775808']);
  });

  it('FP16 and BF16 travel as their values in fp32_contents', () => {
    const [f16, bf16] = overTheWire([encodeTensor(samples[9]!, 'typed'), encodeTensor(samples[10]!, 'typed')]);
    expect(f16?.contents?.fp32_contents).toEqual([1, -2, Infinity, NaN, 2 ** -24, -0, 65504, 2 ** -14]);
    expect(bf16?.contents?.fp32_contents.slice(0, 3)).toEqual([1, -2, -Infinity]);
  });

  it('shape goes out as numbers and comes back as int64 strings', () => {
    const enc = encodeTensor(samples[0]!, 'raw');
    expect(enc.shape).toEqual([2, 2]);
    expect(overTheWire([enc])[0]?.shape).toEqual(['2', '2']);
  });

  it('raw uses only raw_contents and typed only its datatype field', () => {
    const raw = encodeTensor(samples[11]!, 'raw');
    expect(raw.contents).toBeNull();
    expect(raw.raw_contents.byteLength).toBe(24);
    const typed = encodeTensor(samples[11]!, 'typed');
    expect(Object.keys(typed.contents!)).toEqual(['fp32_contents']);
    expect(typed.raw_contents.byteLength).toBe(0);
  });

  it('raw BYTES elements are 4-byte little-endian lengths and the bytes', () => {
    const t: DecodedTensor = { name: 'b', datatype: 'BYTES', shape: [2], data: bytes('ab', '') };
    expect(encodeTensor(t, 'raw').raw_contents.toString('hex')).toBe('02000000616200000000');
  });
});

describe('memory sharing', () => {
  const values = Float32Array.of(1, 2, 3, 4);

  it('raw encoding is a view on the data', () => {
    const data = new Float32Array(new ArrayBuffer(64), 16, 4);
    const raw = encodeTensor({ name: 'x', datatype: 'FP32', shape: [4], data }, 'raw').raw_contents;
    expect(raw.buffer).toBe(data.buffer);
    expect(raw.byteOffset).toBe(16);
  });

  it('aligned raw decodes to a view on the same ArrayBuffer', () => {
    const backing = new ArrayBuffer(64);
    const raw = new Uint8Array(backing, 8, 16);
    raw.set(bytesOf(values));
    const t = decodeTensor({ name: 'x', datatype: 'FP32', shape: ['4'] }, raw, 'x');
    expect((t.data as Float32Array).buffer).toBe(backing);
    expect(Array.from(t.data as Float32Array)).toEqual([1, 2, 3, 4]);
  });

  it.each([1, 2, 3, 5, 6, 7])('raw at byte offset %i is copied correctly', (offset) => {
    const backing = new ArrayBuffer(64);
    const raw = Buffer.from(backing, offset, 32);
    const data = Float64Array.of(Math.PI, -0, 1e300, -2.5);
    raw.set(bytesOf(data));
    const t = decodeTensor({ name: 'x', datatype: 'FP64', shape: ['4'] }, raw, 'x');
    expect((t.data as Float64Array).buffer).not.toBe(backing);
    expect(bytesOf(t.data as Float64Array).equals(bytesOf(data))).toBe(true);
  });

  it('raw BYTES elements are views on the raw buffer', () => {
    const raw = Buffer.from('0300000061626301000000ff', 'hex');
    const t = decodeTensor({ name: 'x', datatype: 'BYTES', shape: ['2'] }, raw, 'x');
    const [a, b] = t.data as Uint8Array[];
    expect(a!.buffer).toBe(raw.buffer);
    expect(Buffer.from(a!).toString()).toBe('abc');
    expect(Array.from(b!)).toEqual([255]);
  });

  it('raw decoded from a deserialized message reads the right values', () => {
    // protobufjs hands out raw_contents as a view into the message at an arbitrary offset.
    for (const prefix of ['', 'a', 'ab', 'abc']) {
      const enc = encodeTensor({ name: `x${prefix}`, datatype: 'FP32', shape: [4], data: values }, 'raw');
      const [w] = overTheWire([enc]);
      const t = decodeTensor(w!, w!.raw_contents, 'x');
      expect(Array.from(t.data as Float32Array)).toEqual([1, 2, 3, 4]);
    }
  });
});

describe('decoding details', () => {
  it('an empty raw buffer next to typed contents means typed', () => {
    const t = decodeTensor({ name: 'x', datatype: 'INT32', shape: ['2'], contents: { int_contents: [1, 2] } }, Buffer.alloc(0), 'x');
    expect(Array.from(t.data as Int32Array)).toEqual([1, 2]);
  });

  it('accepts numeric shapes and 64-bit values given as numbers', () => {
    const t = decodeTensor({ name: 'x', datatype: 'INT64', shape: [2], contents: { int64_contents: [5, '-6'] } }, null, 'x');
    expect(Array.from(t.data as BigInt64Array)).toEqual([5n, -6n]);
  });

  it.each<[DataType, number[]]>([
    ['FP16', [1.0009765625, 0.1, Infinity]],
    ['BF16', [1.0078125, 0.1, Infinity]],
  ])('%s typed values are rounded to the nearest representable value', (datatype, input) => {
    const t = decodeTensor({ name: 'x', datatype, shape: ['3'], contents: { fp32_contents: input } }, null, 'x');
    expect(Array.from(t.data as Uint16Array)).toEqual(datatype === 'FP16' ? [0x3c01, 0x2e66, 0x7c00] : [0x3f81, 0x3dcd, 0x7f80]);
  });
});
