import type { NamedTensor } from '@modelserve/core';
import { describe, expect, it } from 'vitest';
import { ProfileBuilder } from './profile-builder.js';
import { ProfileCounter } from './profile-counter.js';
import { parseProfile, serialiseProfile } from './profile.js';

function column(name: string, values: number[]): NamedTensor {
  return { name, datatype: 'FP32', shape: [values.length, 1], data: Float32Array.from(values) };
}

function scores(rows: number[]): NamedTensor {
  const data = new Float32Array(rows.length * 3);
  rows.forEach((c, r) => (data[r * 3 + c] = 1));
  return { name: 'scores', datatype: 'FP32', shape: [rows.length, 3], data };
}

describe('ProfileBuilder', () => {
  it('takes samples up to its capacity, then freezes quantile edges and their counts', () => {
    const builder = new ProfileBuilder('m', 1, { samples: 100 });
    expect(builder.add([column('x', Array.from({ length: 60 }, (_, i) => i))], [])).toBe(60);
    expect(builder.isFull).toBe(false);
    expect(builder.add([column('x', Array.from({ length: 60 }, (_, i) => 60 + i))], [])).toBe(40);
    expect(builder.isFull).toBe(true);
    expect(builder.add([column('x', [1000])], [])).toBe(0);
    const profile = builder.freeze();
    expect(profile.samples).toBe(100);
    expect(profile.tensors).toEqual([
      { name: 'x', kind: 'input', features: [{ name: '0', bins: { edges: [10, 20, 30, 40, 50, 60, 70, 80, 90] }, counts: new Array(10).fill(10) }] },
    ]);
  });

  it('counts the argmax of class scores in one bin per class, and bins integer outputs as values', () => {
    const builder = new ProfileBuilder('m', 1, { samples: 4 });
    const labels: NamedTensor = { name: 'label', datatype: 'INT64', shape: [4], data: BigInt64Array.of(0n, 1n, 1n, 1n) };
    builder.add([], [scores([2, 0, 2, 2]), labels]);
    const [argmax, label] = builder.freeze().tensors;
    expect(argmax).toEqual({ name: 'scores', kind: 'output', features: [{ name: 'argmax', bins: { categories: 3 }, counts: [1, 0, 3] }] });
    expect(label?.features[0]).toEqual({ name: '0', bins: { edges: [0, 1] }, counts: [0, 1, 3] });
  });

  it('ignores BYTES, and samples of another size than the first', () => {
    const builder = new ProfileBuilder('m', 1, { samples: 10 });
    builder.add([column('x', [1, 2]), { name: 'text', datatype: 'BYTES', shape: [2], data: [new Uint8Array(1), new Uint8Array(1)] }], []);
    builder.add([{ name: 'x', datatype: 'FP32', shape: [1, 2], data: Float32Array.of(5, 6) }], []);
    const profile = builder.freeze();
    expect(profile.samples).toBe(3);
    expect(profile.tensors.map((t) => t.name)).toEqual(['x']);
    expect(profile.tensors[0]?.features[0]?.counts.reduce((a, b) => a + b)).toBe(2);
  });

  it('refuses to freeze without samples', () => {
    expect(() => new ProfileBuilder('m', 3).freeze()).toThrow('ProfileBuilder: m version 3: no samples to freeze a profile from');
  });

  it('freezes profiles that reference.json round-trips and a counter counts into', () => {
    const builder = new ProfileBuilder('m', 1, { samples: 50 });
    builder.add([column('x', Array.from({ length: 50 }, (_, i) => Math.sin(i)))], [scores(Array.from({ length: 50 }, (_, i) => i % 3))]);
    const profile = builder.freeze();
    expect(parseProfile(JSON.parse(serialiseProfile(profile)))).toEqual(profile);
    const counter = new ProfileCounter(profile);
    counter.add([column('x', Array.from({ length: 50 }, (_, i) => Math.sin(i)))], [scores(Array.from({ length: 50 }, (_, i) => i % 3))]);
    expect(counter.toProfile()).toEqual(profile);
    counter.reset();
    expect(counter.toProfile().tensors[1]?.features[0]?.counts).toEqual([0, 0, 0]);
  });
});
