import { checkConfigRouting, configRouting, defaultModelConfig, selectVersions, versionPolicy, type ModelConfig } from './config.js';
import { ModelServeError } from './errors.js';
import type { ModelStatus } from './metadata.js';
import type { ModelVersion } from './model-version.js';
import { parseVersion } from './repository.js';
import { ModelRouter, type EffectiveRouting, type Routing } from './router.js';

/** What loading a model does to one of its versions. */
export type LoadStep =
  | { slot: ModelVersion; step: 'load' }
  | { slot: ModelVersion; step: 'unload'; reason: string }
  | { slot: ModelVersion; step: 'fail-config'; reason: string };

/**
 * One model of the registry: its configuration, its versions, and which version answers a
 * request. The registry loads and unloads; this says what there is and who serves.
 */
export class RegisteredModel {
  /** config.yaml as last read (defaults filled). */
  config: ModelConfig = defaultModelConfig;
  /** Set when config.yaml is invalid: every version is FAILED with it. */
  configError: string | undefined;
  readonly versions = new Map<number, ModelVersion>();
  /** The registry's clock at the model's last request or load (least recently used goes first). */
  lastUsed = 0;
  /** Routing of requests that name no version; config.yaml's routing until changed at run time. */
  readonly router = new ModelRouter();
  /** config.yaml's routing as last applied, so a reload resets the routing only when the file changed it. */
  private configRouting = '';
  /** config.yaml's routing and version policy as last checked against the versions on disk. */
  private configChecked = '';

  constructor(readonly name: string) {}

  /**
   * Checks config.yaml's routing against the versions on disk and the version policy when the
   * file's routing or policy changed since last checked, and puts the routing in force if the
   * file changed it; throws (naming the file and key) for one naming a version the policy does
   * not serve or with no folder. Versions that come and go later leave the routing as it is:
   * `effectiveRouting` says what then happens.
   */
  applyConfigRouting(onDisk: readonly number[]): void {
    const routing = configRouting(this.config);
    const key = JSON.stringify(routing);
    const checked = JSON.stringify([routing, this.config.version_policy]);
    if (checked !== this.configChecked) {
      checkConfigRouting(this.name, this.config, onDisk, `${this.name}/config.yaml`);
      this.configChecked = checked;
    }
    if (key === this.configRouting) return;
    this.router.reset(routing);
    this.configRouting = key;
  }

  /**
   * What a load does to each version, given the versions on disk and the one named (if any): with
   * an invalid config.yaml, FAILED with its error (the named version only, when one is); else the
   * named version, or those the version policy selects, load and, when none is named, the rest
   * unload. Versions on disk must already have a slot.
   */
  plan(wanted: number | undefined, onDisk: readonly number[]): LoadStep[] {
    const selected = wanted !== undefined ? [wanted] : selectVersions(versionPolicy(this.config), onDisk);
    const steps: LoadStep[] = [];
    for (const slot of this.versions.values()) {
      if (this.configError !== undefined) {
        if (wanted === undefined || slot.version === wanted) steps.push({ slot, step: 'fail-config', reason: this.configError });
      } else if (selected.includes(slot.version)) {
        steps.push({ slot, step: 'load' });
      } else if (wanted === undefined) {
        steps.push({ slot, step: 'unload', reason: onDisk.includes(slot.version) ? 'not selected by version_policy' : 'removed from disk' });
      }
    }
    return steps;
  }

  /** Its versions, in order, its default version, and where requests naming no version go now. */
  status(): ModelStatus {
    const versions = [...this.versions.values()].sort((a, b) => a.version - b.version).map((v) => v.status());
    return { name: this.name, defaultVersion: this.defaultVersion()?.version, versions, routing: this.effectiveRouting() };
  }

  /** The routing in force as it applies to the versions ready now (see `EffectiveRouting`). */
  effectiveRouting(): EffectiveRouting {
    return this.router.effective(this.isReady, this.whyNotReady, this.highestReady()?.version);
  }

  /**
   * Refuses (`FailedPrecondition`) a routing that names a version that is not READY for a default,
   * a shadow or a split share above 0: it would show traffic that does not happen. The message
   * names the versions that are loaded.
   */
  checkRoutable(routing: Routing, context = ''): void {
    const named: Array<[string, number | undefined]> = [
      ['default version', routing.defaultVersion],
      ...routing.split.filter((s) => s.weight > 0).map((s): [string, number] => ['split version', s.version]),
      ['shadow version', routing.shadowVersion],
    ];
    for (const [what, version] of named) {
      if (version === undefined || this.isReady(version)) continue;
      const loaded = [...this.versions.values()].filter((v) => v.state === 'READY').map((v) => v.version).sort((a, b) => a - b);
      const slot = this.versions.get(version);
      const state = slot === undefined ? '' : `; it is ${slot.state}${slot.reason === '' ? '' : `: ${slot.reason}`}`;
      throw new ModelServeError('FailedPrecondition', `model '${this.name}': ${context}${what} ${version} is not loaded (loaded: ${loaded.join(', ') || 'none'})${state}`);
    }
  }

  /** Whether a version is loaded, loading or unloading: the model holds a place under the registry's limit. */
  holdsPlace(): boolean {
    for (const v of this.versions.values()) if (v.state === 'READY' || v.state === 'LOADING' || v.state === 'UNLOADING') return true;
    return false;
  }

  /** Whether no version is loading or unloading. */
  settled(): boolean {
    for (const v of this.versions.values()) if (v.state === 'LOADING' || v.state === 'UNLOADING') return false;
    return true;
  }

  /** Whether no request of the model is queued or running. */
  idle(): boolean {
    for (const v of this.versions.values()) if ((v.scheduler?.inflight ?? 0) > 0) return false;
    return true;
  }

  /** The version numbered `version`; `NotFound` for one it does not have. */
  version(version: number): ModelVersion {
    const slot = this.versions.get(version);
    if (slot === undefined) {
      const known = [...this.versions.keys()].sort((a, b) => a - b).join(', ') || 'none';
      throw new ModelServeError('NotFound', `model '${this.name}' has no version ${version}; versions: ${known}`);
    }
    return slot;
  }

  /** Every version, or the one named. */
  slots(version: string | number | undefined): ModelVersion[] {
    const wanted = parseVersion(this.name, version);
    return wanted === undefined ? [...this.versions.values()] : [this.version(wanted)];
  }

  /** The version that answers a request naming `version`, or naming none (by routing); `Unavailable` when none is ready. */
  pick(version: string | number | undefined, routingKey?: string): ModelVersion {
    const wanted = parseVersion(this.name, version);
    if (wanted !== undefined) return this.version(wanted);
    const routed = this.router.choose(this.isReady, routingKey);
    const chosen = routed === undefined ? this.highestReady() : this.versions.get(routed);
    if (chosen === undefined) throw new ModelServeError('Unavailable', `model '${this.name}' has no ready version`);
    return chosen;
  }

  /** The ready version that gets a copy of requests `answering` answers, when the routing names a shadow. */
  shadowFor(answering: number): ModelVersion | undefined {
    const shadow = this.router.shadowFor(answering, this.isReady);
    return shadow === undefined ? undefined : this.versions.get(shadow);
  }

  /** The routing's default version, else the highest ready one. */
  defaultVersion(): ModelVersion | undefined {
    const configured = this.router.defaultVersion;
    if (configured !== undefined) return this.versions.get(configured);
    return this.highestReady();
  }

  private readonly isReady = (version: number): boolean => this.versions.get(version)?.state === 'READY';

  private readonly whyNotReady = (version: number): string => {
    const slot = this.versions.get(version);
    if (slot === undefined) return 'not a version of the model';
    return `not loaded (${slot.state}${slot.reason === '' ? '' : `: ${slot.reason}`})`;
  };

  private highestReady(): ModelVersion | undefined {
    let best: ModelVersion | undefined;
    for (const slot of this.versions.values()) {
      if (slot.state === 'READY' && (best === undefined || slot.version > best.version)) best = slot;
    }
    return best;
  }
}
