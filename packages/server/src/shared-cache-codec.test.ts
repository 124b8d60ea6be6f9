import type { NamedTensor } from '@modelserve/core';
import { everyDatatype } from '@modelserve/core/testing';
import { describe, expect, it } from 'vitest';
import { codecVersion, decodeOutputs, encodeOutputs } from './shared-cache-codec.js';

function roundTrip(outputs: readonly NamedTensor[]): NamedTensor[] {
  return decodeOutputs(encodeOutputs(outputs));
}

/** A buffer whose start is not 8-byte aligned, as Redis replies sliced out of a socket chunk are. */
function misaligned(buffer: Buffer): Buffer {
  const backing = Buffer.alloc(buffer.length + 3);
  buffer.copy(backing, 3);
  return backing.subarray(3);
}

describe('shared cache codec', () => {
  it('round-trips a tensor of every datatype, each alone and all together', () => {
    for (const tensor of Object.values(everyDatatype)) expect(roundTrip([tensor]), tensor.datatype).toEqual([tensor]);
    expect(roundTrip(Object.values(everyDatatype))).toEqual(Object.values(everyDatatype));
  });

  it('decodes into typed arrays of the right class that own aligned memory, from a misaligned buffer', () => {
    const decoded = decodeOutputs(misaligned(encodeOutputs(Object.values(everyDatatype))));
    for (const tensor of decoded) {
      const original = everyDatatype[tensor.datatype];
      expect(tensor.data.constructor, tensor.datatype).toBe(original.data.constructor);
      if (!Array.isArray(tensor.data)) {
        expect(tensor.data.byteOffset, tensor.datatype).toBe(0);
        expect(tensor.data.buffer.byteLength, tensor.datatype).toBe(tensor.data.byteLength);
      }
    }
    const bytes = decoded.find((t) => t.datatype === 'BYTES')!.data as Uint8Array[];
    for (const element of bytes) expect(element.constructor).toBe(Uint8Array);
  });

  it('round-trips views on a larger buffer (only the view is written)', () => {
    const backing = new Float64Array([1, 2, 3, 4, 5]);
    const view: NamedTensor = { name: 'view', datatype: 'FP64', shape: [2], data: backing.subarray(1, 3) };
    expect(roundTrip([view])).toEqual([{ ...view, data: Float64Array.from([2, 3]) }]);
  });

  it('round-trips empty tensors, scalars, empty names and no outputs at all', () => {
    const outputs: NamedTensor[] = [
      { name: 'none', datatype: 'FP32', shape: [0, 4], data: new Float32Array(0) },
      { name: 'no strings', datatype: 'BYTES', shape: [2, 0], data: [] },
      { name: 'scalar', datatype: 'INT64', shape: [], data: BigInt64Array.from([7n]) },
      { name: '', datatype: 'UINT8', shape: [1], data: Uint8Array.from([9]) },
    ];
    expect(roundTrip(outputs)).toEqual(outputs);
    expect(roundTrip([])).toEqual([]);
  });

  it('round-trips BYTES whose elements are all empty', () => {
    const empty: NamedTensor = { name: 'blank', datatype: 'BYTES', shape: [3], data: [new Uint8Array(0), new Uint8Array(0), new Uint8Array(0)] };
    expect(roundTrip([empty])).toEqual([empty]);
  });

  it('refuses to encode data that disagrees with its shape or datatype', () => {
    expect(() => encodeOutputs([{ name: 'x', datatype: 'FP32', shape: [3], data: new Float32Array(2) }])).toThrow(/needs 3 elements, found 2/);
    expect(() => encodeOutputs([{ name: 'x', datatype: 'FP32', shape: [1.5], data: new Float32Array(1) }])).toThrow(/dimension 1.5/);
    expect(() => encodeOutputs([{ name: 'x', datatype: 'BYTES', shape: [1], data: new Uint8Array(1) } as unknown as NamedTensor])).toThrow(/BYTES but its data is a typed array/);
  });

  it('rejects every truncation of a valid value, saying what it expected', () => {
    const encoded = encodeOutputs(Object.values(everyDatatype));
    for (let length = 0; length < encoded.length; length++) {
      expect(() => decodeOutputs(encoded.subarray(0, length)), `first ${length} bytes`).toThrow(/truncated: expected \d+ bytes of .+ at byte \d+, found \d+/);
    }
  });

  it('rejects trailing bytes, another format version, unknown datatypes, counts that disagree with the shape and BOOLs other than 0 or 1', () => {
    const one = encodeOutputs([{ name: 'b', datatype: 'BOOL', shape: [2], data: Uint8Array.from([1, 0]) }]);
    // Offsets in `one`: version 0, count 1–4, name length 5–8, name 9, datatype 10, rank 11, dim 12–15, count 16–19, data 20–21.
    const corrupt = (at: number, value: number): Buffer => {
      const copy = Buffer.from(one);
      copy[at] = value;
      return copy;
    };
    expect(() => decodeOutputs(Buffer.concat([one, Buffer.from([0])]))).toThrow('expected the end after 1 tensors at byte 22, found 1 more bytes');
    expect(() => decodeOutputs(corrupt(0, codecVersion + 1))).toThrow(`expected format version ${codecVersion}, found ${codecVersion + 1}`);
    expect(() => decodeOutputs(corrupt(10, 200))).toThrow("expected a datatype code from 1 to 14 for tensor 0 ('b'), found 200");
    expect(() => decodeOutputs(corrupt(16, 3))).toThrow("expected 2 elements for tensor 0 ('b') of shape [2], found 3");
    expect(() => decodeOutputs(corrupt(21, 2))).toThrow("expected 0 or 1 for tensor 0 ('b')'s BOOL element 1, found 2");
    expect(() => decodeOutputs(corrupt(1, 2))).toThrow(/truncated: expected 4 bytes of tensor 1's name length at byte 22, found 0/);
    expect(() => decodeOutputs(Buffer.from('not a cached answer'))).toThrow(/format version/);
  });
});
