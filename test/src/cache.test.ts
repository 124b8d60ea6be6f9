/**
 * The response cache (config.yaml `response_cache`) against a real server: answers from the cache
 * are byte-identical to computed ones for every datatype, typed and raw requests share entries, 64
 * identical requests at once run once, the cache says so on both APIs and in the statistics, TTL
 * expires entries, and a model file replaced in place never answers from the old file's entries.
 */
import { demoMlp, writeDemoRepository } from '@modelserve/model-zoo';
import { encodeRawTensorData, type DecodedTensor, type oip, type PredictResponse__Output, type VersionStatistics__Output } from '@modelserve/proto';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from './support/eventually.js';
import { put } from './support/fixtures.js';
import { startTestServer, unary, type TestServer } from './support/server.js';
import { datatypeSamples, fp32, maxAbsDiff, output, sampleValues, wire } from './support/tensors.js';

let t: TestServer;
let root: string;
beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'modelserve-cache-'));
  await writeDemoRepository(root);
  // Every demo model's config gets a cache; `ttl` is the MLP again with entries that live 1 s.
  for (const model of ['datatypes', 'mnist_mlp']) {
    const file = path.join(root, model, 'config.yaml');
    const existing = await readFile(file, 'utf8').catch(() => '');
    await writeFile(file, `${existing}response_cache: {}\n`);
  }
  await put(root, 'ttl/1/model.onnx', demoMlp(1).bytes);
  await put(root, 'ttl/config.yaml', 'max_batch_size: 8\nresponse_cache:\n  ttl_s: 1\n');
  await put(root, 'swap/1/model.onnx', demoMlp(1).bytes);
  await put(root, 'swap/config.yaml', 'max_batch_size: 8\nresponse_cache: {}\n');
  t = await startTestServer({ modelRepository: root });
});
afterAll(async () => {
  await t.close();
  await rm(root, { recursive: true, force: true });
});

const predict = (request: object) => unary<PredictResponse__Output>((cb) => t.predictor.Predict(request, cb));
const statistics = async (name: string, version: string): Promise<VersionStatistics__Output> =>
  (await unary<{ versions: VersionStatistics__Output[] }>((cb) => t.admin.GetModelStatistics({ name, version }, cb))).versions[0]!;

/** One input per datatype of the `datatypes` model (an Identity per type). */
const inputs: DecodedTensor[] = datatypeSamples.map((s) => s.tensor(`in_${s.onnx}`));

/** Each output's raw bytes, for byte-for-byte comparison. */
function rawBytes(response: PredictResponse__Output): Record<string, number[]> {
  return Object.fromEntries(response.outputs.map((o) => [o.name, [...encodeRawTensorData(output(response, o.name))]]));
}

describe('response cache', () => {
  it('answers from the cache with the same bytes for every datatype, whether the request came typed or raw', async () => {
    const computed = await predict({ model_name: 'datatypes', inputs: inputs.map((i) => wire(i, 'raw')), output_format: 'OUTPUT_FORMAT_RAW' });
    const cached = await predict({ model_name: 'datatypes', inputs: inputs.map((i) => wire(i, 'typed')), output_format: 'OUTPUT_FORMAT_RAW' });
    expect(computed.cached).toBe(false);
    expect(cached.cached).toBe(true);
    expect(rawBytes(cached)).toEqual(rawBytes(computed));
    expect(Object.keys(rawBytes(cached))).toHaveLength(inputs.length);
    // The answer's form is the request's own: the same cached tensors, typed this time.
    const typed = await predict({ model_name: 'datatypes', inputs: inputs.map((i) => wire(i, 'raw')), output_format: 'OUTPUT_FORMAT_TYPED' });
    expect(typed.cached).toBe(true);
    expect(rawBytes(typed)).toEqual(rawBytes(computed));
    const s = await statistics('datatypes', '1');
    expect([Number(s.cache_hits), Number(s.cache_misses), Number(s.batch_count)]).toEqual([2, 1, 1]);
    expect(Number(s.cache_entries)).toBe(1);
    expect(Number(s.cache_bytes)).toBeGreaterThan(0);
  });

  it('runs 64 identical requests at once once, and answers each correctly with its own id', async () => {
    const x = sampleValues(784, 64);
    const before = await statistics('mnist_mlp', '2');
    const answers = await Promise.all(Array.from({ length: 64 }, (_, i) => predict({ id: `r${i}`, model_name: 'mnist_mlp', model_version: '2', inputs: [wire(fp32('input', [1, 784], x))] })));
    const after = await statistics('mnist_mlp', '2');
    expect(Number(after.batch_count) - Number(before.batch_count)).toBe(1);
    const expected = demoMlp(2).forward(x, 1);
    answers.forEach((a, i) => {
      expect(a.id).toBe(`r${i}`);
      expect(maxAbsDiff(output(a).data as Float32Array, expected)).toBeLessThan(1e-5);
    });
    // The other 63 were answered from the cache or waited for the one run.
    expect(Number(after.cache_hits) + Number(after.cache_coalesced) - Number(before.cache_hits) - Number(before.cache_coalesced)).toBe(63);
    expect(Number(after.request_count) - Number(before.request_count)).toBe(64);
  });

  it('says so in the Open Inference Protocol too: a response parameter, and ModelStatistics cache_hit / cache_miss', async () => {
    const x = sampleValues(784, 7);
    const request = { model_name: 'mnist_mlp', model_version: '1', inputs: [{ name: 'input', datatype: 'FP32', shape: ['1', '784'] }], raw_input_contents: [encodeRawTensorData(fp32('input', [1, 784], x))] };
    const infer = () => unary<oip.ModelInferResponse__Output>((cb) => t.inference.ModelInfer(request, cb));
    const first = await infer();
    const second = await infer();
    expect(first.parameters['cached']).toBeUndefined();
    expect(second.parameters['cached']).toMatchObject({ bool_param: true });
    expect(second.raw_output_contents[0]).toEqual(first.raw_output_contents[0]);
    const stats = await unary<oip.ModelStatisticsResponse__Output>((cb) => t.inference.ModelStatistics({ name: 'mnist_mlp', version: '1' }, cb));
    const inference = stats.model_stats[0]!.inference_stats!;
    expect(Number(inference.cache_hit!.count)).toBeGreaterThanOrEqual(1);
    expect(Number(inference.cache_miss!.count)).toBeGreaterThanOrEqual(1);
  });

  it('forgets an entry once its TTL has passed', async () => {
    const request = { model_name: 'ttl', inputs: [wire(fp32('input', [1, 784], sampleValues(784, 3)))] };
    expect((await predict(request)).cached).toBe(false);
    expect((await predict(request)).cached).toBe(true);
    // Order, not timing: some later request is computed again (the entry expired), after which it is cached again.
    await eventually(async () => (await predict(request)).cached === false, 30_000, 'the entry to expire');
    expect((await predict(request)).cached).toBe(true);
  });

  it('never answers from a replaced file\'s entries: the new file computes, and unloading frees the entries', async () => {
    const x = sampleValues(784, 11);
    const request = { model_name: 'swap', inputs: [wire(fp32('input', [1, 784], x))] };
    const old = demoMlp(1).forward(x, 1);
    const fresh = demoMlp(2).forward(x, 1);
    expect(maxAbsDiff(output(await predict(request)).data as Float32Array, old)).toBeLessThan(1e-5);
    expect((await predict(request)).cached).toBe(true);
    // Requests keep coming while the file is replaced in place and the repository re-read.
    let stop = false;
    const seen: Array<{ data: Float32Array; afterReload: boolean }> = [];
    let reloaded = false;
    const traffic = (async () => {
      while (!stop) {
        const r = await predict(request);
        seen.push({ data: output(r).data as Float32Array, afterReload: reloaded });
      }
    })();
    const replacement = path.join(root, 'swap', 'replacement.onnx');
    await writeFile(replacement, demoMlp(2).bytes);
    await copyFile(replacement, path.join(root, 'swap', '1', 'model.onnx'));
    await unary((cb) => t.admin.ReloadRepository({}, cb));
    reloaded = true;
    await eventually(() => seen.filter((s) => s.afterReload).length >= 20, 30_000, '20 answers after the reload');
    stop = true;
    await traffic;
    for (const s of seen) {
      const isOld = maxAbsDiff(s.data, old) < 1e-5;
      const isNew = maxAbsDiff(s.data, fresh) < 1e-5;
      expect(isOld || isNew).toBe(true);
      if (s.afterReload) expect(isNew).toBe(true);
    }
    await unary((cb) => t.admin.UnloadModel({ name: 'swap' }, cb));
    await unary((cb) => t.admin.LoadModel({ name: 'swap' }, cb));
    expect(Number((await statistics('swap', '1')).cache_entries)).toBe(0);
    expect((await predict(request)).cached).toBe(false);
  });
});
