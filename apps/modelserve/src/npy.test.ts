import { describe, expect, it } from 'vitest';
import { parseNpy } from './npy.js';

/**
 * A .npy file as NumPy lays it out: `\x93NUMPY`, major and minor version, the header's length
 * (uint16 LE in 1.0, uint32 LE in 2.0 and 3.0), the header padded with spaces and ended by a
 * newline so the data starts at a multiple of 64, then the data.
 */
function npy(header: string, data: Uint8Array | ArrayBufferView = new Uint8Array(), major = 1): Uint8Array {
  const prefix = major === 1 ? 10 : 12;
  const unpadded = prefix + header.length + 1;
  const text = header + ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  const headerBytes = new TextEncoder().encode(text);
  const out = new Uint8Array(prefix + headerBytes.length + data.byteLength);
  out.set([0x93, ...new TextEncoder().encode('NUMPY'), major, 0]);
  const view = new DataView(out.buffer);
  if (major === 1) view.setUint16(8, headerBytes.length, true);
  else view.setUint32(8, headerBytes.length, true);
  out.set(headerBytes, prefix);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), prefix + headerBytes.length);
  return out;
}

const dict = (descr: string, shape: string, fortran = 'False') => `{'descr': '${descr}', 'fortran_order': ${fortran}, 'shape': ${shape}, }`;

describe('parseNpy', () => {
  it('reads a float32 matrix of format 1.0, its first dimension the rows', () => {
    const array = parseNpy(npy(dict('<f4', '(2, 3)'), Float32Array.of(1, 2, 3, 4.5, -5, 6)));
    expect(array).toEqual({ descr: '<f4', datatype: 'FP32', shape: [2, 3], data: Float32Array.of(1, 2, 3, 4.5, -5, 6) });
  });

  it('reads formats 2.0 and 3.0, whose header length takes four bytes', () => {
    expect(parseNpy(npy(dict('<f8', '(2,)'), Float64Array.of(0.1, 1e300), 2)).data).toEqual(Float64Array.of(0.1, 1e300));
    expect(parseNpy(npy(dict('<i4', '(1, 1, 2)'), Int32Array.of(-7, 2 ** 31 - 1), 3))).toMatchObject({ shape: [1, 1, 2], data: Int32Array.of(-7, 2 ** 31 - 1) });
  });

  it('reads int64, uint8 and bool elements', () => {
    expect(parseNpy(npy(dict('<i8', '(2,)'), BigInt64Array.of(-(2n ** 63n), 5n)))).toMatchObject({ datatype: 'INT64', data: BigInt64Array.of(-(2n ** 63n), 5n) });
    expect(parseNpy(npy(dict('|u1', '(3,)'), Uint8Array.of(0, 128, 255)))).toMatchObject({ datatype: 'UINT8', data: Uint8Array.of(0, 128, 255) });
    expect(parseNpy(npy(dict('|b1', '(2,)'), Uint8Array.of(1, 0)))).toMatchObject({ datatype: 'BOOL', data: Uint8Array.of(1, 0) });
  });

  it('reads a header with the keys in another order, double quotes and Python 2 longs', () => {
    const header = `{"shape": (2L, 1L), "fortran_order": False, "descr": "<f4"}`;
    expect(parseNpy(npy(header, Float32Array.of(1, 2)))).toMatchObject({ shape: [2, 1], data: Float32Array.of(1, 2) });
  });

  it('reads a scalar and an empty array', () => {
    expect(parseNpy(npy(dict('<f4', '()'), Float32Array.of(3)))).toMatchObject({ shape: [], data: Float32Array.of(3) });
    expect(parseNpy(npy(dict('<f4', '(0, 4)')))).toMatchObject({ shape: [0, 4], data: new Float32Array(0) });
  });

  it('reads data at an odd offset of a larger buffer (a pooled Buffer)', () => {
    const file = npy(dict('<f8', '(1,)'), Float64Array.of(2.5));
    const pooled = new Uint8Array(file.length + 3);
    pooled.set(file, 3);
    expect(parseNpy(pooled.subarray(3)).data).toEqual(Float64Array.of(2.5));
  });

  it('refuses a Fortran-ordered array', () => {
    expect(() => parseNpy(npy(dict('<f4', '(2, 2)', 'True'), new Float32Array(4)), 'x.npy')).toThrow(
      'x.npy: fortran_order is True (column-major), which is not supported: save a C-ordered array (numpy.ascontiguousarray)',
    );
  });

  it('refuses big-endian elements, naming the little-endian type to convert to', () => {
    expect(() => parseNpy(npy(dict('>f4', '(1,)'), new Float32Array(1)), 'x.npy')).toThrow(
      "x.npy: element type '>f4' is big-endian, which is not supported; supported: <f4, <f8, <i4, <i8, |u1, |b1 (little-endian): convert with array.astype('<f4')",
    );
  });

  it('refuses other element types and structured types, naming what it supports', () => {
    expect(() => parseNpy(npy(dict('<f2', '(1,)'), new Uint16Array(1)), 'x.npy')).toThrow("x.npy: element type '<f2' is not supported; supported: <f4, <f8, <i4, <i8, |u1, |b1");
    expect(() => parseNpy(npy(dict('<U3', '(1,)'), new Uint8Array(12)), 'x.npy')).toThrow("element type '<U3' is not supported");
    const structured = `{'descr': [('a', '<f4'), ('b', '<i4')], 'fortran_order': False, 'shape': (1,), }`;
    expect(() => parseNpy(npy(structured, new Uint8Array(8)), 'x.npy')).toThrow("x.npy: descr [('a', '<f4'), ('b', '<i4')] is a structured type; supported: <f4");
  });

  it('refuses what is not a .npy file, an unknown version, a truncated file and a bad header', () => {
    expect(() => parseNpy(new TextEncoder().encode('[[1, 2, 3, 4]]\n'), 'x.npy')).toThrow('x.npy: not a .npy file: it does not start with \\x93NUMPY');
    const v4 = npy(dict('<f4', '(1,)'), new Float32Array(1));
    v4[6] = 4;
    expect(() => parseNpy(v4, 'x.npy')).toThrow('x.npy: format version 4.0 is not supported; supported: 1.0, 2.0, 3.0');
    expect(() => parseNpy(npy(dict('<f4', '(2, 2)'), new Float32Array(3)), 'x.npy')).toThrow("x.npy: shape (2, 2) of '<f4' takes 16 bytes of data, the file has 12");
    expect(() => parseNpy(npy(`{'descr': '<f4', 'shape': (1,)}`, new Float32Array(1)), 'x.npy')).toThrow("x.npy: header: no 'fortran_order' key");
    expect(() => parseNpy(npy(`{'descr': '<f4', 'fortran_order': False, 'shape': (1.5,)}`, new Float32Array(1)), 'x.npy')).toThrow("x.npy: header: expected ',' or ')' at character 52");
    expect(() => parseNpy(npy(dict('<f4', '(-1,)')), 'x.npy')).toThrow('x.npy: shape: expected a tuple of non-negative integers, got (-1,)');
    expect(() => parseNpy(npy(dict('|b1', '(1,)'), Uint8Array.of(2)), 'x.npy')).toThrow("x.npy: element 0 of a '|b1' array is 2, expected 0 or 1");
  });
});
