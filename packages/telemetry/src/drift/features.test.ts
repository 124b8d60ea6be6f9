import type { NamedTensor } from '@modelserve/core';
import { describe, expect, it } from 'vitest';
import { chooseLayout, extractRow, featureNames, requestRows, tensorRows } from './features.js';

describe('chooseLayout', () => {
  it('profiles small samples by element, large ones by summary, and float outputs of several elements by argmax', () => {
    expect(chooseLayout('FP32', 64, 'input')).toEqual({ mode: 'elements', size: 64 });
    expect(chooseLayout('FP32', 65, 'input')).toEqual({ mode: 'summary' });
    expect(chooseLayout('FP32', 10, 'output')).toEqual({ mode: 'argmax', classes: 10 });
    expect(chooseLayout('FP32', 1, 'output')).toEqual({ mode: 'elements', size: 1 });
    expect(chooseLayout('INT64', 10, 'output')).toEqual({ mode: 'elements', size: 10 });
    expect(chooseLayout('FP32', 4096, 'output')).toEqual({ mode: 'summary' });
    expect(chooseLayout('FP32', 8, 'input', { elementFeatureLimit: 4 })).toEqual({ mode: 'summary' });
    expect(featureNames({ mode: 'elements', size: 3 })).toEqual(['0', '1', '2']);
    expect(featureNames({ mode: 'summary' })).toEqual(['mean', 'std', 'min', 'max', 'zero_fraction']);
  });
});

describe('extractRow', () => {
  const values = Float64Array.of(9, 9, 0, 2, 0, 6, 9);
  const out = new Float64Array(5);

  it('summarises a sample as mean, population std, min, max and zero fraction', () => {
    extractRow(values, 2, 4, { mode: 'summary' }, out);
    // 0, 2, 0, 6: mean 2, variance (4 + 0 + 4 + 16) / 4 = 6
    expect([...out]).toEqual([2, Math.sqrt(6), 0, 6, 0.5]);
  });

  it('takes the first largest score as the argmax, and NaN when there is none', () => {
    extractRow(Float32Array.of(0.1, 0.7, 0.7, 0.2), 0, 4, { mode: 'argmax', classes: 4 }, out);
    expect(out[0]).toBe(1);
    extractRow(Float32Array.of(-Infinity, -Infinity), 0, 2, { mode: 'argmax', classes: 2 }, out);
    expect(out[0]).toBe(0);
    extractRow(Float32Array.of(NaN, NaN), 0, 2, { mode: 'argmax', classes: 2 }, out);
    expect(out[0]).toBeNaN();
  });
});

describe('tensorRows', () => {
  it('views the first dimension as the batch and converts INT64 and FP16', () => {
    const int64: NamedTensor = { name: 'ids', datatype: 'INT64', shape: [2, 2], data: BigInt64Array.of(1n, -2n, 3n, 4n) };
    const rows = tensorRows(int64);
    expect(rows && { rows: rows.rows, size: rows.size, values: [...Array.from(rows.values)] }).toEqual({ rows: 2, size: 2, values: [1, -2, 3, 4] });
    // FP16 bits: 1.0 = 0x3c00, -2.0 = 0xc000, 0.5 = 0x3800
    const half: NamedTensor = { name: 'h', datatype: 'FP16', shape: [3], data: Uint16Array.of(0x3c00, 0xc000, 0x3800) };
    expect(Array.from(tensorRows(half)?.values ?? [])).toEqual([1, -2, 0.5]);
    const scalar: NamedTensor = { name: 's', datatype: 'FP32', shape: [], data: Float32Array.of(3) };
    expect(tensorRows(scalar)).toMatchObject({ rows: 1, size: 1 });
  });

  it('ignores BYTES and data that does not match its shape', () => {
    expect(tensorRows({ name: 'b', datatype: 'BYTES', shape: [1], data: [new Uint8Array(2)] })).toBeUndefined();
    expect(tensorRows({ name: 'x', datatype: 'FP32', shape: [2, 3], data: new Float32Array(5) })).toBeUndefined();
    expect(requestRows([{ name: 'x', datatype: 'FP32', shape: [4, 3], data: new Float32Array(12) }], [])).toBe(4);
  });
});
