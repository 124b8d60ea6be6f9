/**
 * Drift monitoring of the registry's model versions: a `DriftMonitor` per version whose
 * config.yaml has a `drift` block, fed the inputs and outputs of the requests it answers. The
 * reference is `<model>/<version>/reference.json`, else `<model>/reference.json` (one for every
 * version, so that two versions can be compared), else frozen from the version's first requests.
 * Reported through `report()` (ModelAdmin/GetDrift, `modelserve drift`) and as Prometheus gauges.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { InferenceObserver, InferenceRequest, InferenceResponse, Logger, ModelConfig, Outcome, VersionObserver, VersionState } from '@modelserve/core';
import { ModelServeError } from '@modelserve/core/errors';
import { Gauge, type Registry } from 'prom-client';
import { compareProfiles, type DriftLevel, type TensorDrift } from './drift/compare.js';
import type { DriftReport } from './drift/monitor.js';
import { DriftMonitor } from './drift/monitor.js';
import { parseProfile, type Profile } from './drift/profile.js';

/** One version's drift, as GetDrift reports it. */
export interface VersionDrift extends DriftReport {
  model: string;
  version: number;
  /** Where the reference came from: a reference.json path, or `first N requests`. */
  referenceSource: string;
}

/** What the observer needs of the server: each model's configuration, and the repository on disk. */
export interface DriftObserverOptions {
  repository: string;
  config(model: string): ModelConfig | undefined;
  logger: Logger;
}

interface Watched {
  monitor: DriftMonitor;
  referenceSource: string;
  topK: number;
}

const levelValue: Record<DriftLevel, number> = { ok: 0, warn: 1, alert: 2 };
const noHooks: VersionObserver = { queued: () => undefined, ran: () => undefined };

/** Watches every version whose config.yaml asks for drift monitoring. */
export class DriftObserver implements InferenceObserver {
  /** By model, then version. */
  private readonly watched = new Map<string, Map<number, Watched>>();

  constructor(private readonly options: DriftObserverOptions) {}

  version(model: string, version: number): VersionObserver {
    const drift = this.options.config(model)?.drift;
    const byModel = this.watched.get(model);
    byModel?.delete(version);
    if (drift === undefined) return noHooks;
    const { reference, source } = this.reference(model, version, drift.reference_samples);
    const monitor = new DriftMonitor(model, version, {
      sampleRate: drift.sample_rate,
      windowMs: drift.window_seconds * 1000,
      minSamples: drift.min_samples,
      referenceSamples: drift.reference_samples,
      warnPsi: drift.warn_psi,
      alertPsi: drift.alert_psi,
      topK: drift.top_k,
      ...(reference !== undefined ? { reference } : {}),
    });
    const versions = byModel ?? new Map<number, Watched>();
    versions.set(version, { monitor, referenceSource: source, topK: drift.top_k });
    this.watched.set(model, versions);
    return noHooks;
  }

  versionState(model: string, version: number, state: VersionState): void {
    // An unloaded version's traffic is over: its monitor goes; a new load starts a new one.
    if (state === 'UNAVAILABLE' || state === 'FAILED') this.watched.get(model)?.delete(version);
  }

  finished(request: InferenceRequest, version: number | undefined, outcome: Outcome, _seconds: number, response: InferenceResponse | undefined): void {
    if (outcome !== 'OK' || response === undefined || version === undefined || this.watched.size === 0) return;
    this.watched.get(request.model)?.get(version)?.monitor.observe(request.inputs, response.outputs);
  }

  /** The drift of every watched version, or of `model` (and `version`); `NotFound` naming the watched ones when there is none. */
  report(model?: string, version?: number): VersionDrift[] {
    const out: VersionDrift[] = [];
    for (const [name, versions] of [...this.watched].sort((a, b) => a[0].localeCompare(b[0]))) {
      if (model !== undefined && model !== '' && name !== model) continue;
      for (const [v, watched] of [...versions].sort((a, b) => a[0] - b[0])) {
        if (version !== undefined && v !== version) continue;
        watched.monitor.tick();
        out.push({ model: name, version: v, referenceSource: watched.referenceSource, ...watched.monitor.report() });
      }
    }
    if (out.length === 0 && model !== undefined && model !== '') {
      const what = version === undefined ? `model '${model}'` : `model '${model}' version ${version}`;
      throw new ModelServeError('NotFound', `${what} has no drift monitoring; watched: ${this.describeWatched()} (add a drift: block to its config.yaml)`);
    }
    return out;
  }

  /**
   * Version `b`'s traffic against version `a`'s in their current windows (canary against stable),
   * feature by feature. Both must share their reference's bins (one `<model>/reference.json`).
   */
  compare(model: string, a: number, b: number): TensorDrift[] {
    const get = (v: number): Watched => {
      const watched = this.watched.get(model)?.get(v);
      if (watched === undefined) throw new ModelServeError('NotFound', `model '${model}' version ${v} has no drift monitoring; watched: ${this.describeWatched()}`);
      return watched;
    };
    const [wa, wb] = [get(a), get(b)];
    const [ca, cb] = [wa.monitor.currentCounts(), wb.monitor.currentCounts()];
    if (ca === undefined || cb === undefined) {
      const missing = ca === undefined ? a : b;
      throw new ModelServeError('FailedPrecondition', `model '${model}' version ${missing} is still collecting its reference; compare once both versions have one`);
    }
    try {
      return compareProfiles(ca, cb, { topK: wb.topK });
    } catch (error) {
      throw new ModelServeError(
        'FailedPrecondition',
        `model '${model}' versions ${a} and ${b} have different reference bins (${wa.referenceSource}; ${wb.referenceSource}): put one reference.json in the model's folder to compare them (${(error as Error).message})`,
      );
    }
  }

  /** Registers the drift gauges (top-k features per tensor and `_max`, and each version's level) in `registry`. */
  registerMetrics(registry: Registry): void {
    const labelNames = ['model', 'version', 'tensor', 'feature'] as const;
    const reports = (): VersionDrift[] => this.report();
    const feature = (name: string, help: string, pick: (f: { psi: number; js: number; ks: number }) => number): void => {
      new Gauge({
        name,
        help,
        labelNames,
        registers: [registry],
        collect() {
          this.reset();
          for (const r of reports()) {
            for (const t of r.tensors) {
              const labels = { model: r.model, version: String(r.version), tensor: t.name };
              for (const f of t.features) this.set({ ...labels, feature: f.name }, pick(f));
              const top = t.features[0];
              if (top !== undefined) this.set({ ...labels, feature: '_max' }, pick(top));
            }
          }
        },
      });
    };
    feature('modelserve_drift_psi', 'Population stability index of a feature in the last closed window against the reference (top-k per tensor, and _max: the tensor\'s largest).', (f) => f.psi);
    feature('modelserve_drift_js_distance', 'Jensen-Shannon distance (base 2) of a feature against the reference.', (f) => f.js);
    feature('modelserve_drift_ks', 'Binned Kolmogorov-Smirnov statistic of a feature against the reference.', (f) => f.ks);
    new Gauge({
      name: 'modelserve_drift_level',
      help: 'Drift of a model version: 0 ok, 1 warn (PSI at warn_psi or more), 2 alert (PSI at alert_psi or more).',
      labelNames: ['model', 'version'],
      registers: [registry],
      collect() {
        this.reset();
        for (const r of reports()) this.set({ model: r.model, version: String(r.version) }, levelValue[r.level]);
      },
    });
  }

  private describeWatched(): string {
    const names = [...this.watched].flatMap(([model, versions]) => [...versions.keys()].map((v) => `${model} ${v}`));
    return names.length === 0 ? 'none' : names.join(', ');
  }

  /** The version's reference.json, else the model's, else none (frozen from traffic). */
  private reference(model: string, version: number, samples: number): { reference: Profile | undefined; source: string } {
    for (const file of [path.join(this.options.repository, model, String(version), 'reference.json'), path.join(this.options.repository, model, 'reference.json')]) {
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch {
        continue;
      }
      try {
        return { reference: parseProfile(JSON.parse(text)), source: file };
      } catch (error) {
        this.options.logger.error({ model, version, file, reason: (error as Error).message }, 'drift reference cannot be read; freezing one from traffic instead');
        break;
      }
    }
    return { reference: undefined, source: `first ${samples} requests` };
  }
}
