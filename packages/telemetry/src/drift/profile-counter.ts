/**
 * Counts samples into the bins of an existing profile: a monitor's window, or a replica counting
 * with the reference's edges so that its counts can be summed with the others'.
 */
import type { NamedTensor } from '@modelserve/core';
import { binIndex, type Bins } from './bins.js';
import { extractRow, fitsLayout, requestRows, tensorRows, type TensorLayout } from './features.js';
import { PROFILE_FORMAT, copyBins, layoutOfTensor, type Profile, type TensorProfile } from './profile.js';

interface FeatureCounter {
  /** Numeric edges, or undefined for one bin per class index. */
  edges: Float64Array | undefined;
  counts: number[];
}

interface TensorCounter {
  profile: TensorProfile;
  layout: TensorLayout;
  features: FeatureCounter[];
  /** One sample's features, reused for every sample. */
  scratch: Float64Array;
}

/** Counts of samples in a template profile's bins; the template's counts are not used. */
export class ProfileCounter {
  readonly #template: Profile;
  readonly #inputs = new Map<string, TensorCounter>();
  readonly #outputs = new Map<string, TensorCounter>();
  #samples = 0;
  #mismatched = 0;

  /** Throws when the template's features describe no layout (see `layoutOfTensor`). */
  constructor(template: Profile) {
    this.#template = template;
    for (const tensor of template.tensors) {
      const layout = layoutOfTensor(tensor);
      const features = tensor.features.map((f) => ({ edges: edgesOf(f.bins), counts: new Array<number>(f.counts.length).fill(0) }));
      const counter: TensorCounter = { profile: tensor, layout, features, scratch: new Float64Array(features.length) };
      (tensor.kind === 'input' ? this.#inputs : this.#outputs).set(tensor.name, counter);
    }
  }

  /** Samples counted since construction or the last reset. */
  get samples(): number {
    return this.#samples;
  }

  /** Tensors skipped because their per-sample size did not fit the profile's features. */
  get mismatched(): number {
    return this.#mismatched;
  }

  /**
   * Counts the samples of one request (each row of the first dimension is one), at most `maxRows`
   * of them, and returns how many. Tensors the template does not know, and BYTES, are ignored.
   */
  add(inputs: readonly NamedTensor[], outputs: readonly NamedTensor[], maxRows = Infinity): number {
    const rows = Math.min(requestRows(inputs, outputs), maxRows);
    if (rows <= 0) return 0;
    for (const tensor of inputs) this.#count(this.#inputs.get(tensor.name), tensor, rows);
    for (const tensor of outputs) this.#count(this.#outputs.get(tensor.name), tensor, rows);
    this.#samples += rows;
    return rows;
  }

  #count(counter: TensorCounter | undefined, tensor: NamedTensor, maxRows: number): void {
    if (counter === undefined) return;
    const rows = tensorRows(tensor);
    if (rows === undefined) return;
    if (!fitsLayout(counter.layout, rows.size)) {
      this.#mismatched++;
      return;
    }
    const { values, size } = rows;
    const { layout, features, scratch } = counter;
    const n = Math.min(rows.rows, maxRows);
    for (let r = 0; r < n; r++) {
      extractRow(values, r * size, size, layout, scratch);
      for (let f = 0; f < features.length; f++) {
        const value = scratch[f] as number;
        if (value !== value) continue;
        const feature = features[f] as FeatureCounter;
        const bin = feature.edges === undefined ? value : binIndex(feature.edges, value);
        if (bin < feature.counts.length) feature.counts[bin]!++;
      }
    }
  }

  /** The counts so far as a profile with the template's bins. */
  toProfile(): Profile {
    const template = this.#template;
    const tensors = template.tensors.map((tensor): TensorProfile => {
      const counter = (tensor.kind === 'input' ? this.#inputs : this.#outputs).get(tensor.name) as TensorCounter;
      const features = tensor.features.map((f, j) => ({ name: f.name, bins: copyBins(f.bins), counts: [...(counter.features[j] as FeatureCounter).counts] }));
      return { name: tensor.name, kind: tensor.kind, features };
    });
    return { format: PROFILE_FORMAT, model: template.model, version: template.version, samples: this.#samples, tensors };
  }

  /** Zeroes every count, to start a new window. */
  reset(): void {
    for (const counters of [this.#inputs, this.#outputs]) {
      for (const counter of counters.values()) for (const feature of counter.features) feature.counts.fill(0);
    }
    this.#samples = 0;
    this.#mismatched = 0;
  }
}

function edgesOf(bins: Bins): Float64Array | undefined {
  return 'edges' in bins ? Float64Array.from(bins.edges) : undefined;
}
