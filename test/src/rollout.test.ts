/**
 * Versions and safe rollout against a real server: weighted splits, sticky routing keys, shadow
 * traffic, blue-green switches and rollback, and repository reloads (a version appearing, one
 * removed, a file replaced in place) under continuous traffic with zero failed requests.
 */
import { Metadata } from '@grpc/grpc-js';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { mlp } from '@modelserve/model-zoo';
import type { GetModelStatisticsResponse__Output, PredictResponse__Output, RoutingResponse__Output } from '@modelserve/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from './support/eventually.js';
import { startTestServer, unary, type TestServer } from './support/server.js';
import { fp32, sampleValues, wire } from './support/tensors.js';

/** Version N of model `m`: a 4 → 8 → 3 MLP with its own weights. */
const model = (seed: number) => mlp({ seed, inputSize: 4, hidden: 8, outputs: 3 });

let root: string;
let t: TestServer;
const put = async (relative: string, bytes: Uint8Array | string) => {
  await mkdir(path.dirname(path.join(root, relative)), { recursive: true });
  await writeFile(path.join(root, relative), bytes);
};

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'modelserve-rollout-'));
  await put('m/config.yaml', 'max_batch_size: 8\nversion_policy: all\ndynamic_batching: {}\ninstances: {count: 1}\n');
  await put('m/1/model.onnx', model(101).bytes);
  await put('m/2/model.onnx', model(102).bytes);
  t = await startTestServer({ modelRepository: root });
});
afterAll(async () => {
  await t.close();
  await rm(root, { recursive: true, force: true });
});

const request = (seed: number) => ({ model_name: 'm', inputs: [wire(fp32('input', [1, 4], sampleValues(4, seed)))] });
function predict(seed: number, routingKey?: string): Promise<PredictResponse__Output> {
  const metadata = new Metadata();
  if (routingKey !== undefined) metadata.set('x-routing-key', routingKey);
  return unary<PredictResponse__Output>((cb) => t.predictor.Predict(request(seed), metadata, cb));
}
const setRouting = (routing: object) => unary<RoutingResponse__Output>((cb) => t.admin.SetRouting({ name: 'm', routing }, cb));
const rollback = () => unary<RoutingResponse__Output>((cb) => t.admin.RollbackRouting({ name: 'm' }, cb));
const reload = () => unary((cb) => t.admin.ReloadRepository({}, cb));

/** `count` predictions, `concurrency` at a time: how many each version answered. */
async function versionsOf(count: number, concurrency: number, key?: (i: number) => string): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const i = next++;
        const { model_version } = await predict(i, key?.(i));
        counts.set(model_version, (counts.get(model_version) ?? 0) + 1);
      }
    }),
  );
  return counts;
}

describe('routing', () => {
  it('splits 10,000 requests within ±3% of the weights, and says which version answered', async () => {
    // Each request picks at random: version 2's count is Binomial(10,000, 0.3), sd 46 (0.46%);
    // outside ±3% (below 2,700 or above 3,300) with probability 5.8e-11.
    await setRouting({ split: [{ version: '1', weight: 70 }, { version: '2', weight: 30 }] });
    const counts = await versionsOf(10_000, 32);
    expect(Math.abs(counts.get('1')! / 10_000 - 0.7)).toBeLessThanOrEqual(0.03);
    expect(Math.abs(counts.get('2')! / 10_000 - 0.3)).toBeLessThanOrEqual(0.03);
  }, 60_000);

  it('keeps a routing key on its version, and moves keys only in proportion when weights change', async () => {
    await setRouting({ split: [{ version: '1', weight: 50 }, { version: '2', weight: 50 }] });
    const keys = Array.from({ length: 200 }, (_, i) => `user-${i}`);
    const first = new Map<string, string>();
    for (let i = 0; i < 1000; i++) {
      const key = keys[i % keys.length]!;
      const { model_version } = await predict(i, key);
      if (!first.has(key)) first.set(key, model_version);
      expect(model_version, key).toBe(first.get(key));
    }
    await setRouting({ split: [{ version: '1', weight: 60 }, { version: '2', weight: 40 }] });
    let moved = 0;
    for (const key of keys) {
      const { model_version } = await predict(1, key);
      if (model_version !== first.get(key)) {
        moved++;
        expect(model_version, 'keys move only towards the version that gained weight').toBe('1');
      }
    }
    // 10% of the weight moved: about 10% of the keys, never a reshuffle. (Rendezvous hashing of
    // fixed keys: the same keys move on every run.)
    expect(moved / keys.length).toBeLessThan(0.2);
  }, 60_000);

  it('sends shadow traffic to a version without ever answering from it, and compares its outputs', async () => {
    await setRouting({ default_version: '1', shadow_version: '2' });
    const counts = await versionsOf(300, 8);
    expect([...counts.keys()]).toEqual(['1']);
    // Shadow runs may finish after the answers: wait until all 300 are compared.
    const comparisonWith1 = async () => {
      const stats = await unary<GetModelStatisticsResponse__Output>((cb) => t.admin.GetModelStatistics({ name: 'm', version: '2' }, cb));
      return stats.versions[0]!.comparisons.find((c) => c.against === '1');
    };
    await eventually(async () => Number((await comparisonWith1())?.requests ?? 0) >= 300, 10_000, '300 shadow comparisons');
    const comparison = (await comparisonWith1())!;
    expect(Number(comparison.requests)).toBeGreaterThanOrEqual(300);
    expect(comparison.argmax_agreement).toBeGreaterThanOrEqual(0);
    expect(comparison.argmax_agreement).toBeLessThanOrEqual(1);
    expect(comparison.mean_abs_diff).toBeGreaterThan(0); // different weights, different logits
  });

  it('switches the default at once (blue-green) and rolls back in one call', async () => {
    await setRouting({ default_version: '2' });
    expect([...(await versionsOf(50, 4)).keys()]).toEqual(['2']);
    await setRouting({ default_version: '1' });
    expect([...(await versionsOf(50, 4)).keys()]).toEqual(['1']);
    const back = await rollback();
    expect(back.routing!.default_version).toBe('2');
    expect([...(await versionsOf(50, 4)).keys()]).toEqual(['2']);
  });

  it('refuses routings that name versions the model does not have', async () => {
    const error = await unary((cb) => t.admin.SetRouting({ name: 'm', routing: { default_version: '9' } }, cb)).catch((e: { details: string }) => e);
    expect(error).toMatchObject({ details: "model 'm': default version 9 is not a version of the model; versions: 1, 2" });
  });
});

describe('rollout under load', () => {
  it('loses no request while a version appears and becomes the default, the split changes, routing rolls back, a version is removed and a file is replaced', async () => {
    let stop = false;
    const failures: string[] = [];
    let answered = 0;
    const traffic = Promise.all(
      Array.from({ length: 16 }, async (_, worker) => {
        for (let i = 0; !stop; i++) {
          await predict(worker * 1_000_000 + i).then(
            () => answered++,
            (e: { details?: string }) => failures.push(String(e.details)),
          );
        }
      }),
    );
    // Between steps, traffic flows: 100 more answers (counted, not a clock waited).
    const settle = async (): Promise<void> => {
      const mark = answered;
      await eventually(() => answered >= mark + 100 || failures.length > 0, 30_000, '100 answers after a step');
    };
    await setRouting({ default_version: '1' });
    await settle();
    // A new version appears, warms up, and only then becomes the default.
    await put('m/3/model.onnx', model(103).bytes);
    await reload();
    await setRouting({ default_version: '3' });
    await settle();
    // A canary split changes, then rolls back.
    await setRouting({ split: [{ version: '3', weight: 95 }, { version: '2', weight: 5 }] });
    await settle();
    await setRouting({ split: [{ version: '3', weight: 50 }, { version: '2', weight: 50 }] });
    await settle();
    await rollback();
    await settle();
    // A version is removed from disk while others serve.
    await setRouting({ default_version: '3' });
    await rm(path.join(root, 'm', '2'), { recursive: true });
    await reload();
    await settle();
    // The serving version's file is replaced in place (new weights, same version).
    await put('m/3/model.onnx', model(203).bytes);
    await reload();
    await settle();
    stop = true;
    await traffic;
    expect(failures).toEqual([]);
    expect(answered).toBeGreaterThanOrEqual(700);
    // The replaced file answers now: version 3 computes model(203)'s outputs.
    const x = sampleValues(4, 42);
    const response = await unary<PredictResponse__Output>((cb) => t.predictor.Predict({ model_name: 'm', inputs: [wire(fp32('input', [1, 4], x))] }, cb));
    expect(response.model_version).toBe('3');
    const got = new Float32Array(response.outputs[0]!.raw_contents.buffer.slice(response.outputs[0]!.raw_contents.byteOffset, response.outputs[0]!.raw_contents.byteOffset + 12));
    const expected = model(203).forward(x, 1);
    got.forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 5));
  }, 120_000);

  it('keeps serving the loaded file when a replacement cannot load, and a broken new version fails alone', async () => {
    await put('m/3/model.onnx', 'not an onnx model');
    await put('m/4/model.onnx', 'not an onnx model either');
    const { models } = await unary<{ models: Array<{ name: string; versions: Array<{ version: string; state: string; reason: string }> }> }>((cb) => t.admin.ReloadRepository({}, cb));
    const versions = models.find((m) => m.name === 'm')!.versions;
    expect(versions.find((v) => v.version === '3')!.state).toBe('VERSION_STATE_READY');
    const four = versions.find((v) => v.version === '4')!;
    expect(four.state).toBe('VERSION_STATE_FAILED');
    expect(four.reason).toMatch(/onnxruntime cannot load/);
    const x = sampleValues(4, 42);
    const response = await unary<PredictResponse__Output>((cb) => t.predictor.Predict({ model_name: 'm', model_version: '3', inputs: [wire(fp32('input', [1, 4], x))] }, cb));
    const got = new Float32Array(response.outputs[0]!.raw_contents.buffer.slice(response.outputs[0]!.raw_contents.byteOffset, response.outputs[0]!.raw_contents.byteOffset + 12));
    model(203).forward(x, 1).forEach((v, i) => expect(got[i]).toBeCloseTo(v, 5));
  });
});
