/**
 * Drift profiles: per tensor and feature, bins and integer counts. A profile is the reference a
 * model version's traffic is compared with, and, with the same bins, a window of that traffic.
 * Stored as reference.json: see `parseProfile` for the format.
 */
import { binCountOf, type Bins } from './bins.js';
import { ARGMAX_FEATURE, SUMMARY_FEATURES, type TensorKind, type TensorLayout } from './features.js';

/** The `format` of every profile this version reads and writes. */
export const PROFILE_FORMAT = 'modelserve.drift.v1';

/** One feature: its bins and how many samples fell in each. */
export interface FeatureProfile {
  name: string;
  bins: Bins;
  /** Non-negative integers, one per bin, so the profiles of replicas can be summed. */
  counts: number[];
}

/** One input or output tensor and its features. */
export interface TensorProfile {
  name: string;
  kind: TensorKind;
  features: FeatureProfile[];
}

/** The distribution of a model version's inputs and outputs over `samples` samples. */
export interface Profile {
  format: typeof PROFILE_FORMAT;
  model: string;
  version: number;
  samples: number;
  tensors: TensorProfile[];
}

/** The layout a tensor profile's features describe; throws when they describe none. */
export function layoutOfTensor(tensor: TensorProfile, where = `tensor "${tensor.name}" (${tensor.kind})`): TensorLayout {
  const names = tensor.features.map((f) => f.name);
  const first = tensor.features[0];
  if (first !== undefined && names.length === 1 && first.name === ARGMAX_FEATURE && 'categories' in first.bins) {
    return { mode: 'argmax', classes: first.bins.categories };
  }
  const summary = names.length === SUMMARY_FEATURES.length && names.every((n, i) => n === SUMMARY_FEATURES[i]);
  const elements = names.length > 0 && names.every((n, i) => n === String(i));
  if (!summary && !elements) {
    throw new Error(
      `drift profile: ${where}.features: expected the element features "0".."n-1" in order, the summary features ${SUMMARY_FEATURES.join(', ')}, or a single "${ARGMAX_FEATURE}" with categories; got ${describe(names)}`,
    );
  }
  tensor.features.forEach((feature, j) => {
    if (!('edges' in feature.bins)) throw new Error(`drift profile: ${where}.features[${j}].bins: expected edges for feature "${feature.name}", got categories`);
  });
  return summary ? { mode: 'summary' } : { mode: 'elements', size: names.length };
}

/**
 * Validates parsed reference.json and returns it as a profile:
 * `{ format: "modelserve.drift.v1", model, version, samples, tensors: [{ name, kind: "input"|"output",
 * features: [{ name, bins: { edges } | { categories }, counts }] }] }`. Edges are finite and strictly
 * increasing, with edges.length + 1 counts; categorical bins have `categories` counts; counts are
 * non-negative integers summing to at most `samples`. Throws an Error naming the key, what it
 * expected and what it got.
 */
export function parseProfile(json: unknown): Profile {
  const root = object(json, 'profile', ['format', 'model', 'version', 'samples', 'tensors']);
  if (root.format !== PROFILE_FORMAT) fail('format', JSON.stringify(PROFILE_FORMAT), root.format);
  const model = root.model;
  if (typeof model !== 'string' || model === '') fail('model', 'a non-empty string', model);
  const version = integer(root.version, 'version', 1);
  const samples = integer(root.samples, 'samples', 0);
  const tensors = array(root.tensors, 'tensors').map((t, i) => parseTensor(t, `tensors[${i}]`, samples));
  const seen = new Set<string>();
  tensors.forEach((tensor, i) => {
    const key = `${tensor.kind} ${tensor.name}`;
    if (seen.has(key)) fail(`tensors[${i}].name`, `a name unique among the ${tensor.kind}s`, tensor.name);
    seen.add(key);
  });
  return { format: PROFILE_FORMAT, model, version, samples, tensors };
}

function parseTensor(json: unknown, where: string, samples: number): TensorProfile {
  const t = object(json, where, ['name', 'kind', 'features']);
  const name = t.name;
  if (typeof name !== 'string' || name === '') fail(`${where}.name`, 'a non-empty string', name);
  if (t.kind !== 'input' && t.kind !== 'output') fail(`${where}.kind`, '"input" or "output"', t.kind);
  const features = array(t.features, `${where}.features`).map((f, j) => parseFeature(f, `${where}.features[${j}]`, samples));
  const tensor: TensorProfile = { name, kind: t.kind, features };
  layoutOfTensor(tensor, where);
  return tensor;
}

function parseFeature(json: unknown, where: string, samples: number): FeatureProfile {
  const f = object(json, where, ['name', 'bins', 'counts']);
  const name = f.name;
  if (typeof name !== 'string' || name === '') fail(`${where}.name`, 'a non-empty string', name);
  const bins = parseBins(f.bins, `${where}.bins`);
  const counts = array(f.counts, `${where}.counts`).map((c, k) => integer(c, `${where}.counts[${k}]`, 0));
  const expected = binCountOf(bins);
  if (counts.length !== expected) fail(`${where}.counts`, `${expected} counts (one per bin)`, counts.length);
  const total = counts.reduce((a, b) => a + b, 0);
  if (total > samples) fail(`${where}.counts`, `a sum of at most ${samples} (the profile's samples)`, total);
  return { name, bins, counts };
}

function parseBins(json: unknown, where: string): Bins {
  const b = object(json, where, ['edges', 'categories']);
  if ('edges' in b === 'categories' in b) fail(where, 'exactly one of "edges" and "categories"', Object.keys(b));
  if ('categories' in b) return { categories: integer(b.categories, `${where}.categories`, 1) };
  const edges = array(b.edges, `${where}.edges`).map((e, k) => {
    if (typeof e !== 'number' || !Number.isFinite(e)) fail(`${where}.edges[${k}]`, 'a finite number', e);
    return e;
  });
  edges.forEach((e, k) => {
    const previous = edges[k - 1];
    if (previous !== undefined && !(e > previous)) fail(`${where}.edges[${k}]`, `a number above edges[${k - 1}] = ${previous}`, e);
  });
  return { edges };
}

function object(json: unknown, where: string, keys: readonly string[]): Record<string, unknown> {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) fail(where, 'an object', json);
  const record = json as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!keys.includes(key)) fail(`${where}.${key}`, `no such key (known: ${keys.join(', ')})`, record[key]);
  }
  return record;
}

function array(json: unknown, where: string): unknown[] {
  if (!Array.isArray(json)) fail(where, 'an array', json);
  return json;
}

function integer(json: unknown, where: string, min: number): number {
  if (typeof json !== 'number' || !Number.isSafeInteger(json) || json < min) {
    fail(where, min === 0 ? 'a non-negative integer' : `an integer of at least ${min}`, json);
  }
  return json;
}

function fail(where: string, expected: string, got: unknown): never {
  throw new Error(`drift profile: ${where}: expected ${expected}, got ${describe(got)}`);
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing (the key is missing)';
  if (Array.isArray(value) && value.length > 8) return `an array of ${value.length}`;
  const text = JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** reference.json's text: indented, with each array of numbers on one line. */
export function serialiseProfile(profile: Profile): string {
  const text = JSON.stringify(profile, null, 2).replace(/\[\s*(-?[\d.eE+-]+(?:,\s*-?[\d.eE+-]+)*)\s*\]/g, (_, inner: string) => `[${inner.replace(/\s+/g, ' ')}]`);
  return `${text}\n`;
}

/**
 * Why two features' bins differ, or undefined when they are identical (as the bins of two
 * profiles must be before their counts are summed or compared).
 */
export function binsMismatch(expected: Bins, got: Bins): string | undefined {
  if ('categories' in expected || 'categories' in got) {
    if ('categories' in expected && 'categories' in got && expected.categories === got.categories) return undefined;
    return `expected bins ${JSON.stringify(expected)}, got ${JSON.stringify(got)}`;
  }
  if (expected.edges.length !== got.edges.length) return `expected ${expected.edges.length} edges, got ${got.edges.length}`;
  const k = expected.edges.findIndex((e, i) => e !== got.edges[i]);
  return k < 0 ? undefined : `edges[${k}]: expected ${expected.edges[k]}, got ${got.edges[k]}`;
}

/** A profile's tensors by kind and name. */
export function tensorsByKey(profile: Profile): Map<string, TensorProfile> {
  return new Map(profile.tensors.map((t) => [tensorKey(t), t]));
}

/** The key that identifies a tensor in a profile: its kind and name. */
export function tensorKey(tensor: { kind: TensorKind; name: string }): string {
  return `${tensor.kind} ${tensor.name}`;
}

/**
 * The sum of two profiles of the same model version with identical bins (replicas counting with
 * one reference's edges): samples and counts added. Throws naming the first difference.
 */
export function addProfiles(a: Profile, b: Profile): Profile {
  const where = 'addProfiles';
  if (a.model !== b.model) throw new Error(`${where}: model: expected "${a.model}", got "${b.model}"`);
  if (a.version !== b.version) throw new Error(`${where}: version: expected ${a.version}, got ${b.version}`);
  if (a.tensors.length !== b.tensors.length) throw new Error(`${where}: expected ${a.tensors.length} tensors, got ${b.tensors.length}`);
  const others = tensorsByKey(b);
  const tensors = a.tensors.map((tensor): TensorProfile => {
    const label = `${where}: ${tensor.kind} "${tensor.name}"`;
    const other = others.get(tensorKey(tensor));
    if (other === undefined) throw new Error(`${label}: expected in both profiles, missing from the second`);
    if (other.features.length !== tensor.features.length) throw new Error(`${label}: expected ${tensor.features.length} features, got ${other.features.length}`);
    const features = tensor.features.map((feature, j): FeatureProfile => {
      const theirs = other.features[j] as FeatureProfile;
      if (theirs.name !== feature.name) throw new Error(`${label} features[${j}]: expected "${feature.name}", got "${theirs.name}"`);
      const mismatch = binsMismatch(feature.bins, theirs.bins);
      if (mismatch !== undefined) throw new Error(`${label} feature "${feature.name}": ${mismatch}`);
      return { name: feature.name, bins: copyBins(feature.bins), counts: feature.counts.map((c, k) => c + (theirs.counts[k] ?? 0)) };
    });
    return { name: tensor.name, kind: tensor.kind, features };
  });
  return { format: PROFILE_FORMAT, model: a.model, version: a.version, samples: a.samples + b.samples, tensors };
}

/** A copy of bins, so profiles never share arrays. */
export function copyBins(bins: Bins): Bins {
  return 'edges' in bins ? { edges: [...bins.edges] } : { categories: bins.categories };
}
