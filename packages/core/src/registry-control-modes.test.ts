import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { tinyModel, writeManyModelRepository } from '@modelserve/model-zoo';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OnnxRuntimeBackend } from './backend-onnxruntime.js';
import { ModelServeError } from './errors.js';
import type { Logger } from './logger.js';
import { ModelRegistry, type RegistryOptions } from './registry.js';

const MODELS = 6;
let root: string;
let names: string[];
const backend = new OnnxRuntimeBackend({ threads: 2 });

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'modelserve-control-'));
  names = await writeManyModelRepository(root, MODELS);
});

afterAll(async () => {
  await backend.close();
  await rm(root, { recursive: true, force: true });
});

function recordingLogger(): { logger: Logger; messages: string[] } {
  const messages: string[] = [];
  const log = (_fields: object, message: string): void => void messages.push(message);
  return { logger: { info: log, warn: log, error: log }, messages };
}

/** A request for tiny model `index` with a batch of one, and the answer its reference gives. */
function request(index: number, seed: number) {
  const model = tinyModel(index);
  const input = Float32Array.from({ length: model.inputSize }, (_, i) => Math.sin(seed + i));
  return { model: names[index]!, inputs: [{ name: 'input', datatype: 'FP32' as const, shape: [1, model.inputSize], data: input }], expected: model.forward(input, 1) };
}

async function answerOf(registry: ModelRegistry, index: number, seed: number, extra: { deadline?: number } = {}): Promise<void> {
  const { expected, ...req } = request(index, seed);
  const response = await registry.infer({ ...req, ...extra });
  const got = response.outputs[0]!.data as Float32Array;
  expect(got.length).toBe(expected.length);
  for (let i = 0; i < got.length; i++) expect(Math.abs(got[i]! - expected[i]!)).toBeLessThan(1e-4);
}

/** Resolves once no version is loading or unloading (checked after each change, once pending microtasks ran). */
function settled(registry: ModelRegistry): Promise<void> {
  const busy = () => registry.list().some((m) => m.versions.some((v) => v.state === 'LOADING' || v.state === 'UNLOADING'));
  return new Promise((resolve) => {
    const check = (): void => {
      // An eviction's unload starts a microtask after it is decided: look again after those ran.
      setImmediate(() => {
        if (busy()) return;
        stop();
        resolve();
      });
    };
    const stop = registry.onChange(check);
    check();
  });
}

const open = (options: Omit<RegistryOptions, 'repository' | 'backend'>) => ModelRegistry.open({ repository: root, backend, ...options });
const loaded = (registry: ModelRegistry) => registry.list().filter((m) => m.versions.some((v) => v.state === 'READY')).map((m) => m.name);

describe('model control mode explicit', () => {
  it('lists every model, loads only those asked for, and refuses the rest as not loaded', async () => {
    const registry = await open({ controlMode: 'explicit', loadModels: [names[1]!] });
    try {
      expect(registry.list().map((m) => m.name)).toEqual(names);
      expect(loaded(registry)).toEqual([names[1]]);
      expect(registry.status(names[0]!).versions).toEqual([{ version: 1, state: 'UNAVAILABLE', reason: 'not loaded (model control mode explicit: LoadModel loads it)' }]);
      await answerOf(registry, 1, 1);
      await expect(answerOf(registry, 0, 1)).rejects.toMatchObject({ errorCode: 'Unavailable' });
      await registry.load(names[0]!);
      await answerOf(registry, 0, 1);
      expect(loaded(registry)).toEqual([names[0], names[1]]);
    } finally {
      await registry.close();
    }
  });

  it('refuses to start with a model to load that the repository does not have, naming it', async () => {
    await expect(open({ controlMode: 'explicit', loadModels: ['nope'] })).rejects.toThrow(/to load at start not in the repository: nope; models: tiny-0000, /);
  });
});

describe('model control mode on-demand', () => {
  it('loads a model on its first request, and refuses one whose deadline passed while it loads', async () => {
    const { logger, messages } = recordingLogger();
    const registry = await open({ controlMode: 'on-demand', logger });
    try {
      expect(loaded(registry)).toEqual([]);
      expect(registry.isServable(names[2]!)).toBe(true);
      await answerOf(registry, 2, 7);
      expect(loaded(registry)).toEqual([names[2]]);
      const late = answerOf(registry, 3, 7, { deadline: Date.now() - 1 });
      await expect(late).rejects.toBeInstanceOf(ModelServeError);
      await expect(late).rejects.toMatchObject({ errorCode: 'DeadlineExceeded', details: `model '${names[3]}' is loading on demand and was not ready by the request's deadline` });
      expect(messages.filter((m) => m === 'loading model on demand')).toHaveLength(2);
    } finally {
      await registry.close();
    }
  });

  // Four callers walk the six models in turn, two models fit: every request needs a model that was
  // unloaded, so loads, evictions and reloads happen under traffic. None of the requests may fail.
  for (const limit of [{ maxLoadedModels: 2 }, { memoryBudgetBytes: 2.5 * 1024 * 1024 }]) {
    it(`loads, serves, unloads the least recently used and loads again under traffic with no failed request (${Object.keys(limit)[0]})`, async () => {
      const { logger, messages } = recordingLogger();
      const registry = await open({ controlMode: 'on-demand', logger, ...limit });
      try {
        const callers = 4;
        const perCaller = 24;
        const results = await Promise.allSettled(
          Array.from({ length: callers }, async (_, caller) => {
            for (let i = 0; i < perCaller; i++) await answerOf(registry, (caller + i) % MODELS, caller * 1000 + i);
          }),
        );
        expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
        const loads = messages.filter((m) => m === 'loading model on demand').length;
        const evictions = messages.filter((m) => m === 'model unloaded to make room (least recently used)').length;
        // Six models through two places: each loaded at least once, and some more than once.
        expect(loads).toBeGreaterThan(MODELS);
        expect(evictions).toBeGreaterThanOrEqual(loads - 2);
        // Once the evicted models have finished unloading, at most two are loaded.
        await settled(registry);
        expect(loaded(registry).length).toBeLessThanOrEqual(2);
        const reasons = registry.list().flatMap((m) => m.versions.map((v) => v.reason));
        expect(reasons.some((r) => r.startsWith('unloaded: least recently used when model '))).toBe(true);
      } finally {
        await registry.close();
      }
    });
  }

  it('refuses a model larger than the whole memory budget, whatever is unloaded', async () => {
    const registry = await open({ controlMode: 'on-demand', memoryBudgetBytes: 1024 });
    try {
      const refused = /^model 'tiny-0000' cannot load: it needs about 1\.\d MiB, more than the whole memory budget of 0\.0 MiB$/;
      await expect(answerOf(registry, 0, 1)).rejects.toMatchObject({ errorCode: 'ResourceExhausted', details: expect.stringMatching(refused) });
      await expect(registry.load(names[0]!)).rejects.toMatchObject({ errorCode: 'ResourceExhausted', details: expect.stringMatching(refused) });
    } finally {
      await registry.close();
    }
  });
});
