import { describe, expect, it } from 'vitest';
import { parseModelConfig } from './config.js';
import { ModelVersion } from './model-version.js';
import { RegisteredModel } from './registry-model.js';

/** A model with versions `versions`, those in `ready` READY (set directly: what is tested here is the choice, not the loading). */
function model(versions: number[], ready: number[] = [], config: object = {}) {
  const m = new RegisteredModel('m');
  m.config = parseModelConfig(config, 'm/config.yaml');
  for (const v of versions) {
    const slot = new ModelVersion('m', v, () => undefined);
    if (ready.includes(v)) slot.state = 'READY';
    m.versions.set(v, slot);
  }
  return m;
}

const steps = (m: RegisteredModel, wanted: number | undefined, onDisk: number[]) =>
  m.plan(wanted, onDisk).map((s) => `${s.slot.version} ${s.step}${'reason' in s ? `: ${s.reason}` : ''}`);

describe('a registered model', () => {
  it('plans a load by its version policy: the selected versions load, the others unload with why', () => {
    expect(steps(model([1, 2, 3]), undefined, [1, 2])).toEqual(['1 unload: not selected by version_policy', '2 load', '3 unload: removed from disk']);
    expect(steps(model([1, 2, 3], [], { version_policy: 'all' }), undefined, [1, 2, 3])).toEqual(['1 load', '2 load', '3 load']);
  });

  it('plans only the named version when one is named, whatever the policy', () => {
    expect(steps(model([1, 2]), 1, [1, 2])).toEqual(['1 load']);
  });

  it('plans FAILED with the config error for every version, or only the named one', () => {
    const m = model([1, 2]);
    m.configError = 'm/config.yaml: max_batch_size: expected a number';
    expect(steps(m, undefined, [1, 2])).toEqual(['1 fail-config: m/config.yaml: max_batch_size: expected a number', '2 fail-config: m/config.yaml: max_batch_size: expected a number']);
    expect(steps(m, 2, [1, 2])).toEqual(['2 fail-config: m/config.yaml: max_batch_size: expected a number']);
  });

  it('answers a request naming no version with the highest ready version, and one naming a version with it, ready or not', () => {
    const m = model([1, 2, 3], [1, 2]);
    expect(m.pick(undefined).version).toBe(2);
    expect(m.pick('3').version).toBe(3);
    expect(m.defaultVersion()?.version).toBe(2);
    expect(() => m.pick(4)).toThrow(expect.objectContaining({ errorCode: 'NotFound', details: "model 'm' has no version 4; versions: 1, 2, 3" }));
    expect(() => model([1]).pick(undefined)).toThrow(expect.objectContaining({ errorCode: 'Unavailable', details: "model 'm' has no ready version" }));
  });

  it('follows the routing of config.yaml once applied, and names only a ready shadow', () => {
    const m = model([1, 2, 3], [1, 2], { version_policy: 'all', default_version: 1, routing: { shadow: 3 } });
    m.applyConfigRouting([1, 2, 3]);
    expect(m.pick(undefined).version).toBe(1);
    expect(m.shadowFor(1)).toBeUndefined();
    m.versions.get(3)!.state = 'READY';
    expect(m.shadowFor(1)?.version).toBe(3);
    expect(m.status()).toMatchObject({ name: 'm', defaultVersion: 1 });
  });

  it('holds a place under the loaded-model limit while a version is loaded, loading or unloading', () => {
    expect(model([1, 2]).holdsPlace()).toBe(false);
    expect(model([1, 2], [2]).holdsPlace()).toBe(true);
  });
});
