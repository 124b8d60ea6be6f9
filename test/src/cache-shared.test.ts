/**
 * The response cache's shared tier across two real servers and a real redis-server: an answer one
 * replica computed is a hit on the other; Redis killed under traffic costs no failed call (each
 * replica falls back to its own cache and runs), and once Redis is back the replicas share again.
 */
import { demoMlp } from '@modelserve/model-zoo';
import type { PredictResponse__Output } from '@modelserve/proto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from './support/eventually.js';
import { put } from './support/fixtures.js';
import { startRedis, type TestRedis } from './support/redis.js';
import { startTestServer, unary, type TestServer } from './support/server.js';
import { fp32, maxAbsDiff, output, sampleValues, wire } from './support/tensors.js';

let redis: TestRedis;
let replicas: TestServer[];
let root: string;
beforeAll(async () => {
  redis = await startRedis();
  root = await mkdtemp(path.join(tmpdir(), 'modelserve-shared-cache-'));
  await put(root, 'mlp/1/model.onnx', demoMlp(1).bytes);
  await put(root, 'mlp/config.yaml', `max_batch_size: 8\nresponse_cache:\n  shared: ${redis.url}/0\n`);
  replicas = [await startTestServer({ modelRepository: root }), await startTestServer({ modelRepository: root })];
});
afterAll(async () => {
  await Promise.all(replicas.map((r) => r.close()));
  await redis.stop().catch(() => undefined);
  await rm(root, { recursive: true, force: true });
});

const predict = (replica: TestServer, seed: number) => unary<PredictResponse__Output>((cb) => replica.predictor.Predict({ model_name: 'mlp', inputs: [wire(fp32('input', [1, 784], sampleValues(784, seed)))] }, cb));
const correct = (response: PredictResponse__Output, seed: number) => maxAbsDiff(output(response).data as Float32Array, demoMlp(1).forward(sampleValues(784, seed), 1)) < 1e-5;

describe('shared response cache', () => {
  it("answers on one replica from what the other computed, with the same outputs", async () => {
    // The computing replica stores in Redis as it answers; each try is a new input, so the other
    // replica's own cache cannot be what answers it (the first tries may come before the replicas
    // have connected to Redis).
    let seed = 0;
    let first: PredictResponse__Output | undefined;
    let second: PredictResponse__Output | undefined;
    await eventually(
      async () => {
        seed++;
        first = await predict(replicas[0]!, seed);
        expect(first.cached).toBe(false);
        second = await predict(replicas[1]!, seed);
        return second.cached;
      },
      30_000,
      'an entry computed on one replica answering on the other',
    );
    expect(correct(second!, seed)).toBe(true);
    expect(second!.outputs[0]!.raw_contents).toEqual(first!.outputs[0]!.raw_contents);
  });

  it('loses no call when Redis is killed under traffic, and shares again once it is back', async () => {
    let stop = false;
    let answered = 0;
    const failures: unknown[] = [];
    const traffic = (async () => {
      for (let i = 0; !stop; i++) {
        const seed = 100 + (i % 50);
        try {
          const response = await predict(replicas[i % 2]!, seed);
          if (!correct(response, seed)) failures.push(`wrong answer for seed ${seed}`);
          answered++;
        } catch (error) {
          failures.push(error);
        }
      }
    })();
    await eventually(() => answered >= 50, 30_000, '50 answers with Redis up');
    await redis.kill();
    const atKill = answered;
    await eventually(() => answered >= atKill + 100, 30_000, '100 answers with Redis down');
    redis = await startRedis({ port: redis.port });
    stop = true;
    await traffic;
    expect(failures).toEqual([]);
    // Back: once both have reconnected, an input only one replica computed is a hit on the other
    // (each try a new input, so the other's own cache cannot answer it).
    let seed = 1000;
    await eventually(
      async () => {
        seed++;
        expect((await predict(replicas[0]!, seed)).cached).toBe(false);
        const other = await predict(replicas[1]!, seed);
        return other.cached === true && correct(other, seed);
      },
      30_000,
      'sharing again after Redis restarted',
    );
  });
});
