/**
 * Per-feature drift between two profiles with the same bins: a reference and a window, or two
 * live versions (a canary and the stable version, counted with one reference's edges).
 */
import type { TensorKind } from './features.js';
import { binsMismatch, tensorsByKey, tensorKey, type Profile } from './profile.js';
import { jensenShannon, kolmogorovSmirnov, psi } from './statistics.js';

/** How far a feature (or a report, by its worst feature) has drifted. */
export type DriftLevel = 'ok' | 'warn' | 'alert';

/** Thresholds and size of a comparison. */
export interface DriftThresholds {
  /** PSI from which a feature is 'warn'. Default 0.1. */
  warnPsi?: number;
  /** PSI from which a feature is 'alert'. Default 0.25. */
  alertPsi?: number;
  /** Features kept per tensor, those of highest PSI; maxPsi and the level count them all. Default 3. */
  topK?: number;
}

/** Defaults of DriftThresholds. */
export const DEFAULT_WARN_PSI = 0.1;
export const DEFAULT_ALERT_PSI = 0.25;
export const DEFAULT_TOP_K = 3;

/** One feature's drift. */
export interface FeatureDrift {
  name: string;
  psi: number;
  /** Jensen–Shannon distance, in [0, 1]. */
  js: number;
  /** Binned Kolmogorov–Smirnov statistic, in [0, 1]. */
  ks: number;
  level: DriftLevel;
}

/** One tensor's drift: its largest PSI and its top features, by PSI descending. */
export interface TensorDrift {
  name: string;
  kind: TensorKind;
  maxPsi: number;
  level: DriftLevel;
  features: FeatureDrift[];
}

/** The level of a PSI. */
export function levelOfPsi(value: number, thresholds: DriftThresholds = {}): DriftLevel {
  if (value >= (thresholds.alertPsi ?? DEFAULT_ALERT_PSI)) return 'alert';
  if (value >= (thresholds.warnPsi ?? DEFAULT_WARN_PSI)) return 'warn';
  return 'ok';
}

const rank: Record<DriftLevel, number> = { ok: 0, warn: 1, alert: 2 };

/** The worst of some levels ('ok' for none). */
export function worstLevel(levels: Iterable<DriftLevel>): DriftLevel {
  let worst: DriftLevel = 'ok';
  for (const level of levels) if (rank[level] > rank[worst]) worst = level;
  return worst;
}

/**
 * PSI, JS distance and KS of every feature of `current` against `reference`, tensors in the
 * reference's order. Tensors and features missing from either side, or with no samples on
 * either side, are left out; bins that differ throw (counts from different edges cannot be
 * compared: give both monitors the same reference).
 */
export function compareProfiles(reference: Profile, current: Profile, thresholds: DriftThresholds = {}): TensorDrift[] {
  const topK = thresholds.topK ?? DEFAULT_TOP_K;
  const others = tensorsByKey(current);
  const result: TensorDrift[] = [];
  for (const tensor of reference.tensors) {
    const other = others.get(tensorKey(tensor));
    if (other === undefined) continue;
    const theirs = new Map(other.features.map((f) => [f.name, f]));
    const features: FeatureDrift[] = [];
    for (const feature of tensor.features) {
      const counts = theirs.get(feature.name);
      if (counts === undefined) continue;
      const mismatch = binsMismatch(feature.bins, counts.bins);
      if (mismatch !== undefined) throw new Error(`compareProfiles: ${tensor.kind} "${tensor.name}" feature "${feature.name}": ${mismatch}`);
      const value = psi(feature.counts, counts.counts);
      if (Number.isNaN(value)) continue;
      features.push({
        name: feature.name,
        psi: value,
        js: jensenShannon(feature.counts, counts.counts),
        ks: kolmogorovSmirnov(feature.counts, counts.counts),
        level: levelOfPsi(value, thresholds),
      });
    }
    if (features.length === 0) continue;
    features.sort((a, b) => b.psi - a.psi);
    const maxPsi = (features[0] as FeatureDrift).psi;
    result.push({ name: tensor.name, kind: tensor.kind, maxPsi, level: levelOfPsi(maxPsi, thresholds), features: features.slice(0, Math.max(0, topK)) });
  }
  return result;
}
