/**
 * Builds a reference profile from samples: collects each feature's values until it has enough
 * samples, then `freeze()` cuts quantile edges from them and counts. Used offline
 * (`modelserve profile` over a data file) and online (frozen from a version's first requests).
 */
import type { NamedTensor } from '@modelserve/core';
import { binIndex, quantileEdges, type Bins } from './bins.js';
import { chooseLayout, extractRow, featureNames, fitsLayout, requestRows, tensorRows, type FeatureOptions, type TensorKind, type TensorLayout } from './features.js';
import { PROFILE_FORMAT, type FeatureProfile, type Profile, type TensorProfile } from './profile.js';

/** Samples a reference holds unless told otherwise. */
export const DEFAULT_REFERENCE_SAMPLES = 1000;

/** Numeric bins per feature unless told otherwise. */
export const DEFAULT_BIN_COUNT = 10;

/** Options of a ProfileBuilder. */
export interface ProfileBuilderOptions extends FeatureOptions {
  /** Samples to collect; later ones are ignored. Default 1000. */
  samples?: number;
  /** Quantile bins per numeric feature (fewer when it has fewer distinct values). Default 10. */
  bins?: number;
}

interface CollectedTensor {
  name: string;
  kind: TensorKind;
  /** Fixed by the first sample seen; later samples of another size are skipped. */
  layout: TensorLayout;
  /** Per feature, its values in order of arrival (NaN values are left out). */
  values: Float64Array[];
  lengths: number[];
  scratch: Float64Array;
}

/** Collects samples of one model version and freezes them into a profile. */
export class ProfileBuilder {
  readonly #model: string;
  readonly #version: number;
  readonly #capacity: number;
  readonly #binCount: number;
  readonly #options: FeatureOptions;
  readonly #inputs = new Map<string, CollectedTensor>();
  readonly #outputs = new Map<string, CollectedTensor>();
  #samples = 0;

  constructor(model: string, version: number, options: ProfileBuilderOptions = {}) {
    this.#model = model;
    this.#version = version;
    this.#capacity = options.samples ?? DEFAULT_REFERENCE_SAMPLES;
    this.#binCount = options.bins ?? DEFAULT_BIN_COUNT;
    if (!Number.isSafeInteger(this.#capacity) || this.#capacity < 1) throw new RangeError(`ProfileBuilder: samples: expected a positive integer, got ${this.#capacity}`);
    if (!Number.isSafeInteger(this.#binCount) || this.#binCount < 2) throw new RangeError(`ProfileBuilder: bins: expected an integer of at least 2, got ${this.#binCount}`);
    this.#options = options;
  }

  /** Samples collected so far. */
  get samples(): number {
    return this.#samples;
  }

  /** Whether the builder holds all the samples it was asked for. */
  get isFull(): boolean {
    return this.#samples >= this.#capacity;
  }

  /**
   * Collects one request's samples (each row of the first dimension is one) up to the capacity,
   * and returns how many were taken. BYTES tensors are ignored.
   */
  add(inputs: readonly NamedTensor[], outputs: readonly NamedTensor[]): number {
    const rows = Math.min(requestRows(inputs, outputs), this.#capacity - this.#samples);
    if (rows <= 0) return 0;
    for (const tensor of inputs) this.#collect(this.#inputs, 'input', tensor, rows);
    for (const tensor of outputs) this.#collect(this.#outputs, 'output', tensor, rows);
    this.#samples += rows;
    return rows;
  }

  #collect(tensors: Map<string, CollectedTensor>, kind: TensorKind, tensor: NamedTensor, maxRows: number): void {
    const rows = tensorRows(tensor);
    if (rows === undefined) return;
    let collected = tensors.get(tensor.name);
    if (collected === undefined) {
      const layout = chooseLayout(tensor.datatype, rows.size, kind, this.#options);
      const count = featureNames(layout).length;
      collected = {
        name: tensor.name,
        kind,
        layout,
        values: Array.from({ length: count }, () => new Float64Array(this.#capacity)),
        lengths: new Array<number>(count).fill(0),
        scratch: new Float64Array(count),
      };
      tensors.set(tensor.name, collected);
    }
    if (!fitsLayout(collected.layout, rows.size)) return;
    const { values, size } = rows;
    const { layout, scratch, lengths } = collected;
    const n = Math.min(rows.rows, maxRows);
    for (let r = 0; r < n; r++) {
      extractRow(values, r * size, size, layout, scratch);
      for (let f = 0; f < scratch.length; f++) {
        const value = scratch[f] as number;
        if (value !== value) continue;
        (collected.values[f] as Float64Array)[lengths[f]!++] = value;
      }
    }
  }

  /**
   * The profile of the samples collected so far (normally once `isFull`): numeric edges from
   * each feature's quantiles, then the counts of its values. Throws before the first sample.
   */
  freeze(): Profile {
    if (this.#samples === 0) throw new Error(`ProfileBuilder: ${this.#model} version ${this.#version}: no samples to freeze a profile from`);
    const tensors: TensorProfile[] = [];
    for (const collected of [...this.#inputs.values(), ...this.#outputs.values()]) {
      const names = featureNames(collected.layout);
      const features = names.map((name, f): FeatureProfile => {
        const values = (collected.values[f] as Float64Array).subarray(0, collected.lengths[f]);
        return collected.layout.mode === 'argmax' ? categorical(name, values, collected.layout.classes) : this.#numeric(name, values);
      });
      tensors.push({ name: collected.name, kind: collected.kind, features });
    }
    return { format: PROFILE_FORMAT, model: this.#model, version: this.#version, samples: this.#samples, tensors };
  }

  #numeric(name: string, values: Float64Array): FeatureProfile {
    const sorted = Float64Array.from(values).sort();
    // ±Infinity cannot be an edge (JSON has no such number); it still counts, in the open-ended bins.
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi && sorted[lo] === -Infinity) lo++;
    while (hi > lo && sorted[hi - 1] === Infinity) hi--;
    const edges = quantileEdges(sorted.subarray(lo, hi), this.#binCount);
    const counts = new Array<number>(edges.length + 1).fill(0);
    for (let i = 0; i < sorted.length; i++) counts[binIndex(edges, sorted[i] as number)]!++;
    const bins: Bins = { edges };
    return { name, bins, counts };
  }
}

function categorical(name: string, values: Float64Array, classes: number): FeatureProfile {
  const counts = new Array<number>(classes).fill(0);
  for (let i = 0; i < values.length; i++) counts[values[i] as number]!++;
  return { name, bins: { categories: classes }, counts };
}
