import { mkdtemp, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkConfigRouting, parseModelConfig, readModelConfig, selectVersions, versionPolicy } from './config.js';
import { detailsOf } from './errors.js';

describe('model config', () => {
  it('fits the default instance count to the machine: one per core, one fewer for a batched model', () => {
    const cores = availableParallelism();
    expect(parseModelConfig({}, 'm/config.yaml').instances.count).toBe(cores);
    expect(parseModelConfig({ max_batch_size: 8 }, 'm/config.yaml').instances.count).toBe(cores);
    expect(parseModelConfig({ max_batch_size: 8, dynamic_batching: {} }, 'm/config.yaml').instances.count).toBe(Math.max(1, cores - 1));
    expect(parseModelConfig({ max_batch_size: 8, dynamic_batching: {}, instances: { count: 3 } }, 'm/config.yaml').instances.count).toBe(3);
  });

  it('fills in Triton-like defaults when there is no config.yaml', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'config-'));
    const config = await readModelConfig(path.join(dir, 'config.yaml'), 'm/config.yaml');
    expect(config).toEqual({ max_batch_size: 0, version_policy: { latest: 1 }, warmup: true, shed_by_deadline: true, instances: { count: availableParallelism(), intra_op_threads: 1 } });
  });

  it('reads every version policy form', () => {
    expect(versionPolicy(parseModelConfig({ version_policy: 'all' }, 'x'))).toEqual({ kind: 'all' });
    expect(versionPolicy(parseModelConfig({ version_policy: { all: {} } }, 'x'))).toEqual({ kind: 'all' });
    expect(versionPolicy(parseModelConfig({ version_policy: { latest: 2 } }, 'x'))).toEqual({ kind: 'latest', count: 2 });
    expect(versionPolicy(parseModelConfig({ version_policy: { specific: [1, 3] } }, 'x'))).toEqual({ kind: 'specific', versions: [1, 3] });
  });

  it('selects versions on disk by policy', () => {
    expect(selectVersions({ kind: 'latest', count: 1 }, [3, 1, 2])).toEqual([3]);
    expect(selectVersions({ kind: 'latest', count: 2 }, [3, 1, 2])).toEqual([2, 3]);
    expect(selectVersions({ kind: 'all' }, [2, 1])).toEqual([1, 2]);
    expect(selectVersions({ kind: 'specific', versions: [1, 5] }, [1, 2])).toEqual([1]);
  });

  it('names the file and the field of every problem', () => {
    expect(() => parseModelConfig({ max_batch_size: -1 }, 'm/config.yaml')).toThrow('m/config.yaml: max_batch_size: expected a whole number ≥ 0, got -1');
    expect(() => parseModelConfig({ max_batch_sise: 8 }, 'm/config.yaml')).toThrow(/m\/config\.yaml: .*max_batch_sise/);
    expect(() => parseModelConfig({ instances: { count: 'two' } }, 'm/config.yaml')).toThrow(/instances\.count: .*number/);
    expect(() => parseModelConfig({ version_policy: { latest: 0 } }, 'm/config.yaml')).toThrow(/version_policy/);
  });

  it('says what a key accepts and what it got, for every form a key takes', () => {
    const problem = (value: unknown) => {
      try {
        parseModelConfig(value, 'm/config.yaml');
      } catch (error) {
        return detailsOf(error);
      }
      throw new Error('accepted');
    };
    const policies = 'expected one of all, {all: {}}, {latest: N}, {specific: [N, ..]}';
    expect(problem({ version_policy: 'latest' })).toBe(`m/config.yaml: version_policy: ${policies}, got "latest"; did you mean {latest: N}?`);
    expect(problem({ version_policy: 'al' })).toBe(`m/config.yaml: version_policy: ${policies}, got "al"; did you mean all?`);
    expect(problem({ version_policy: { lates: 2 } })).toBe(`m/config.yaml: version_policy: ${policies}, got {lates: 2}; did you mean latest?`);
    expect(problem({ version_policy: { latest: 'two' } })).toBe('m/config.yaml: version_policy.latest: expected a whole number ≥ 1, got "two"');
    expect(problem({ version_policy: { specific: [] } })).toBe('m/config.yaml: version_policy.specific: expected a non-empty list, each a whole number ≥ 1, got []');
    expect(problem({ instances: { count: 100 } })).toBe('m/config.yaml: instances.count: expected a whole number from 1 to 64, got 100');
    expect(problem({ warmup: 'yes' })).toBe('m/config.yaml: warmup: expected true or false, got "yes"');
    expect(problem({ routing: { split: [1, 2] } })).toBe('m/config.yaml: routing.split: expected a mapping of version number to weight ≥ 0, e.g. {1: 90, 2: 10}, got [1, 2]');
    expect(problem({ routing: { split: { a: 1 } } })).toBe('m/config.yaml: routing.split.a: expected a version number as key, got "a"');
    expect(problem('hello')).toMatch(/^m\/config\.yaml: \(top level\): expected a mapping with keys max_batch_size, version_policy, .*, got "hello"$/);
  });

  it('refuses unknown keys at every level, suggesting the key meant when it is within 2 edits', () => {
    expect(() => parseModelConfig({ max_batch_sise: 8 }, 'm/config.yaml')).toThrow('m/config.yaml: max_batch_sise: unknown key; did you mean max_batch_size?');
    expect(() => parseModelConfig({ Warmup: true }, 'm/config.yaml')).toThrow('m/config.yaml: Warmup: unknown key; did you mean warmup?');
    expect(() => parseModelConfig({ instances: { cuont: 2 } }, 'm/config.yaml')).toThrow('m/config.yaml: instances.cuont: unknown key; did you mean count?');
    expect(() => parseModelConfig({ routing: { shadwo: 2 } }, 'm/config.yaml')).toThrow('m/config.yaml: routing.shadwo: unknown key; did you mean shadow?');
    expect(() => parseModelConfig({ gpus: 1 }, 'm/config.yaml')).toThrow(
      'm/config.yaml: gpus: unknown key; expected one of max_batch_size, version_policy, default_version, routing, dynamic_batching, warmup, shed_by_deadline, response_cache, drift, instances',
    );
  });

  it("refuses a routing naming a version the version policy does not serve, or with no folder, naming the file and key", () => {
    const config = parseModelConfig({ default_version: 1, routing: { split: { 2: 50, 5: 50 }, shadow: 1 } }, 'm/config.yaml');
    expect(() => checkConfigRouting('m', config, [1, 2], 'm/config.yaml')).toThrow(
      'm/config.yaml: default_version: version 1 is not served: version_policy {latest: 1} selects 2 of 1, 2; ' +
        'routing.split.5: version 5 has no folder with a model.onnx (expected <repo>/m/5/model.onnx; on disk: 1, 2); ' +
        'routing.shadow: version 1 is not served: version_policy {latest: 1} selects 2 of 1, 2',
    );
    const all = parseModelConfig({ version_policy: 'all', default_version: 1, routing: { split: { 1: 50, 2: 50 }, shadow: 2 } }, 'm/config.yaml');
    expect(() => checkConfigRouting('m', all, [1, 2], 'm/config.yaml')).not.toThrow();
    const zero = parseModelConfig({ version_policy: 'all', routing: { split: { 1: 0, 2: 0 } } }, 'm/config.yaml');
    expect(() => checkConfigRouting('m', zero, [1, 2], 'm/config.yaml')).toThrow('m/config.yaml: routing.split: the weights are all 0');
  });

  it('reads dynamic_batching with Triton-like defaults, and checks it against max_batch_size', () => {
    expect(parseModelConfig({ max_batch_size: 8, dynamic_batching: {} }, 'x').dynamic_batching).toEqual({
      max_queue_delay_us: 0,
      preferred_batch_sizes: [],
      max_queue_size: 1024,
      priority_levels: 1,
      default_priority_level: 1,
      split_batches_from: 16,
      default_queue_timeout_us: 0,
    });
    expect(parseModelConfig({}, 'x').dynamic_batching).toBeUndefined();
    expect(() => parseModelConfig({ max_batch_size: 8, dynamic_batching: { preferred_batch_sizes: [16] } }, 'm/config.yaml')).toThrow(
      'm/config.yaml: dynamic_batching.preferred_batch_sizes: 16 exceeds max_batch_size 8',
    );
    expect(() => parseModelConfig({ max_batch_size: 8, dynamic_batching: { priority_levels: 2, default_priority_level: 3 } }, 'm/config.yaml')).toThrow(
      'm/config.yaml: dynamic_batching.default_priority_level: 3 exceeds priority_levels 2',
    );
    expect(() => parseModelConfig({ dynamic_batching: { max_queue_delay: 5 } }, 'm/config.yaml')).toThrow(
      'm/config.yaml: dynamic_batching.max_queue_delay: unknown key; did you mean max_queue_delay_us?',
    );
  });

  it('reports YAML syntax errors with the file name', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'config-'));
    await writeFile(path.join(dir, 'config.yaml'), 'max_batch_size: [1\n');
    await expect(readModelConfig(path.join(dir, 'config.yaml'), 'm/config.yaml')).rejects.toThrow(/m\/config\.yaml: not valid YAML/);
  });
});
