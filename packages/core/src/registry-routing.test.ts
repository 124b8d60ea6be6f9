import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ModelSignature } from './metadata.js';
import { ModelRegistry } from './registry.js';
import type { NamedTensor } from './tensor.js';
import { FakeBackend, type FakeModel } from './testing/fake-backend.js';

const signature: ModelSignature = {
  inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 2] }],
  outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 2] }],
};
const identity: FakeModel = { signature, run: (inputs) => [{ ...inputs[0]!, name: 'y' }] };
const x: NamedTensor[] = [{ name: 'x', datatype: 'FP32', shape: [1, 2], data: Float32Array.of(1, 2) }];

/** A registry over model `m` with versions 1, 2 and 3 on disk and `config` as its config.yaml. */
async function registryOf(config: string): Promise<ModelRegistry> {
  const root = await mkdtemp(path.join(tmpdir(), 'registry-routing-'));
  for (const version of [1, 2, 3]) {
    await mkdir(path.join(root, 'm', String(version)), { recursive: true });
    await writeFile(path.join(root, 'm', String(version), 'model.onnx'), '');
  }
  await writeFile(path.join(root, 'm', 'config.yaml'), config);
  return ModelRegistry.open({ repository: root, backend: new FakeBackend(() => identity) });
}

describe('routing versions that are not loaded', () => {
  it('refuses a split, default or shadow naming a version that is not loaded (FailedPrecondition), naming those that are', async () => {
    const registry = await registryOf('version_policy: {latest: 2}\n');
    expect(() => registry.setRouting('m', { split: [{ version: 1, weight: 90 }, { version: 3, weight: 10 }] })).toThrow(
      expect.objectContaining({
        errorCode: 'FailedPrecondition',
        details: "model 'm': split version 1 is not loaded (loaded: 2, 3); it is UNAVAILABLE: not selected by version_policy",
      }),
    );
    expect(() => registry.setRouting('m', { defaultVersion: 1, split: [] })).toThrow("model 'm': default version 1 is not loaded (loaded: 2, 3)");
    expect(() => registry.setRouting('m', { split: [], shadowVersion: 1 })).toThrow("model 'm': shadow version 1 is not loaded (loaded: 2, 3)");
    // A version the model does not have at all stays InvalidArgument; a weight of 0 sends nothing and is taken.
    expect(() => registry.setRouting('m', { defaultVersion: 9, split: [] })).toThrow(expect.objectContaining({ errorCode: 'InvalidArgument' }));
    expect(registry.setRouting('m', { split: [{ version: 3, weight: 100 }, { version: 1, weight: 0 }] }).split).toHaveLength(2);
    expect(registry.routing('m').depth).toBe(1);
  });

  it("fails the model when config.yaml's routing names a version the version policy leaves out, naming the file and key", async () => {
    const registry = await registryOf('routing: {split: {1: 90, 3: 10}}\n');
    expect(registry.status('m').versions.map((v) => `${v.version} ${v.state}: ${v.reason}`)).toEqual(
      [1, 2, 3].map((v) => `${v} FAILED: m/config.yaml: routing.split.1: version 1 is not served: version_policy {latest: 1} selects 3 of 1, 2, 3`),
    );
  });

  it('reports where traffic really goes once a split version leaves, and refuses to roll back to a routing naming it', async () => {
    const registry = await registryOf('version_policy: all\n');
    registry.setRouting('m', { defaultVersion: 2, split: [] });
    registry.setRouting('m', { split: [{ version: 1, weight: 90 }, { version: 2, weight: 10 }], shadowVersion: 3 });
    expect(registry.status('m').routing).toEqual({
      shares: [
        { version: 1, percent: 90 },
        { version: 2, percent: 10 },
      ],
      shadowVersion: 3,
      notes: [],
    });
    await registry.unload('m', 1);
    // The routing set is kept as set; what happens is reported: version 2 takes all, 3 still gets copies.
    expect(registry.routing('m').routing.split).toEqual([
      { version: 1, weight: 90 },
      { version: 2, weight: 10 },
    ]);
    expect(registry.routing('m').effective).toEqual({
      shares: [{ version: 2, percent: 100 }],
      shadowVersion: 3,
      notes: ['split version 1 (set to 90%) is not loaded (UNAVAILABLE: unloaded): its share goes to version 2'],
    });
    for (let i = 0; i < 20; i++) expect((await registry.infer({ model: 'm', inputs: x })).version).toBe(2);
    // Version 2 leaves too, under a split of 2 alone with default 3: no split version is ready, the default answers.
    registry.setRouting('m', { split: [{ version: 2, weight: 100 }], defaultVersion: 3 });
    await registry.unload('m', 2);
    expect(registry.status('m').routing).toEqual({
      shares: [{ version: 3, percent: 100 }],
      shadowVersion: undefined,
      notes: ['no split version is ready (2 is not loaded (UNAVAILABLE: unloaded)): requests go to the default version 3'],
    });
    expect((await registry.infer({ model: 'm', inputs: x })).version).toBe(3);
    // Rolling back to the split of 1 and 2 would show traffic that cannot happen: refused, nothing changes.
    expect(() => registry.rollbackRouting('m')).toThrow(
      expect.objectContaining({
        errorCode: 'FailedPrecondition',
        details: "model 'm': cannot roll back to a routing whose split version 1 is not loaded (loaded: 3); it is UNAVAILABLE: unloaded",
      }),
    );
    expect(registry.routing('m')).toMatchObject({ routing: { defaultVersion: 3, split: [{ version: 2, weight: 100 }] }, depth: 3 });
  });
});
