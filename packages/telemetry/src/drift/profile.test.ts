import { describe, expect, it } from 'vitest';
import { addProfiles, parseProfile, serialiseProfile, type Profile } from './profile.js';

function sampleProfile(counts: { x: number[]; y: number[] } = { x: [1, 2, 3], y: [4, 0, 2] }): Profile {
  return {
    format: 'modelserve.drift.v1',
    model: 'mnist',
    version: 2,
    samples: 6,
    tensors: [
      { name: 'x', kind: 'input', features: [{ name: '0', bins: { edges: [-0.5, 0.25] }, counts: counts.x }] },
      { name: 'y', kind: 'output', features: [{ name: 'argmax', bins: { categories: 3 }, counts: counts.y }] },
    ],
  };
}

/** A profile as parsed JSON, changed by `edit`, to feed parseProfile. */
function malformed(edit: (json: Profile) => void): unknown {
  const json = JSON.parse(serialiseProfile(sampleProfile())) as Profile;
  edit(json);
  return json;
}

/** Sets what the types would refuse: the malformed values under test. */
function set(target: object, key: string, value: unknown): void {
  (target as Record<string, unknown>)[key] = value;
}

describe('reference.json', () => {
  it('round-trips through serialiseProfile and parseProfile', () => {
    const profile = sampleProfile();
    const text = serialiseProfile(profile);
    expect(text).toContain('"edges": [-0.5, 0.25]');
    expect(parseProfile(JSON.parse(text))).toEqual(profile);
  });

  it('keeps edges exact through JSON', () => {
    const profile = sampleProfile();
    profile.tensors[0]!.features[0]!.bins = { edges: [Math.fround(0.1), 1 / 3] };
    expect(parseProfile(JSON.parse(serialiseProfile(profile)))).toEqual(profile);
  });

  it('refuses malformed profiles, naming the key, what it expected and what it got', () => {
    const cases: Array<[unknown, string]> = [
      ['{}', 'drift profile: profile: expected an object, got "{}"'],
      [malformed((j) => set(j, 'format', 'v0')), 'drift profile: format: expected "modelserve.drift.v1", got "v0"'],
      [malformed((j) => delete (j as Partial<Profile>).model), 'drift profile: model: expected a non-empty string, got nothing (the key is missing)'],
      [malformed((j) => set(j, 'version', 0)), 'drift profile: version: expected an integer of at least 1, got 0'],
      [malformed((j) => set(j, 'samples', 1.5)), 'drift profile: samples: expected a non-negative integer, got 1.5'],
      [malformed((j) => set(j, 'extra', true)), 'drift profile: profile.extra: expected no such key (known: format, model, version, samples, tensors), got true'],
      [malformed((j) => set(j.tensors[0]!, 'kind', 'hidden')), 'drift profile: tensors[0].kind: expected "input" or "output", got "hidden"'],
      [malformed((j) => set(j.tensors[0]!.features[0]!.counts, '1', -2)), 'drift profile: tensors[0].features[0].counts[1]: expected a non-negative integer, got -2'],
      [malformed((j) => set(j.tensors[0]!.features[0]!, 'counts', [1, 2])), 'drift profile: tensors[0].features[0].counts: expected 3 counts (one per bin), got 2'],
      [malformed((j) => set(j.tensors[0]!.features[0]!, 'counts', [5, 5, 5])), "drift profile: tensors[0].features[0].counts: expected a sum of at most 6 (the profile's samples), got 15"],
      [malformed((j) => set(j.tensors[0]!.features[0]!.bins, 'edges', [1, 1])), 'drift profile: tensors[0].features[0].bins.edges[1]: expected a number above edges[0] = 1, got 1'],
      [malformed((j) => set(j.tensors[0]!.features[0]!.bins, 'edges', [0, null])), 'drift profile: tensors[0].features[0].bins.edges[1]: expected a finite number, got null'],
      [malformed((j) => set(j.tensors[1]!.features[0]!, 'bins', { categories: 3, edges: [] })), 'drift profile: tensors[1].features[0].bins: expected exactly one of "edges" and "categories", got ["categories","edges"]'],
      [malformed((j) => set(j.tensors[1]!.features[0]!, 'bins', { categories: 0 })), 'drift profile: tensors[1].features[0].bins.categories: expected an integer of at least 1, got 0'],
      [malformed((j) => set(j.tensors[0]!.features[0]!, 'name', 'mean')), 'drift profile: tensors[0].features: expected the element features "0".."n-1" in order, the summary features mean, std, min, max, zero_fraction, or a single "argmax" with categories; got ["mean"]'],
      [malformed((j) => Object.assign(j.tensors[1]!, { name: 'x', kind: 'input' })), 'drift profile: tensors[1].name: expected a name unique among the inputs, got "x"'],
      [malformed((j) => set(j.tensors[0]!.features[0]!, 'bins', { categories: 3 })), 'drift profile: tensors[0].features[0].bins: expected edges for feature "0", got categories'],
    ];
    for (const [json, message] of cases) expect(() => parseProfile(json)).toThrow(message);
  });
});

describe('addProfiles', () => {
  it('sums the samples and counts of profiles with the same bins', () => {
    const sum = addProfiles(sampleProfile(), sampleProfile({ x: [0, 1, 0], y: [0, 1, 0] }));
    expect(sum.samples).toBe(12);
    expect(sum.tensors.map((t) => t.features[0]!.counts)).toEqual([
      [1, 3, 3],
      [4, 1, 2],
    ]);
  });

  it('refuses profiles whose bins differ, with the expected and the given edges', () => {
    const other = sampleProfile();
    other.tensors[0]!.features[0]!.bins = { edges: [-0.5, 0.3] };
    expect(() => addProfiles(sampleProfile(), other)).toThrow('addProfiles: input "x" feature "0": edges[1]: expected 0.25, got 0.3');
    other.tensors[0]!.features[0]!.bins = { edges: [-0.5] };
    expect(() => addProfiles(sampleProfile(), other)).toThrow('addProfiles: input "x" feature "0": expected 2 edges, got 1');
    expect(() => addProfiles(sampleProfile(), { ...sampleProfile(), version: 3 })).toThrow('addProfiles: version: expected 2, got 3');
  });
});
