import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseModelConfig, readModelConfig, selectVersions, versionPolicy } from './config.js';

describe('model config', () => {
  it('fills in Triton-like defaults when there is no config.yaml', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'config-'));
    const config = await readModelConfig(path.join(dir, 'config.yaml'), 'm/config.yaml');
    expect(config).toEqual({ max_batch_size: 0, version_policy: { latest: 1 }, instances: { count: 1, intra_op_threads: 1 } });
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
    expect(() => parseModelConfig({ max_batch_size: -1 }, 'm/config.yaml')).toThrow(/^m\/config\.yaml: max_batch_size: .*>=\s?0/);
    expect(() => parseModelConfig({ max_batch_sise: 8 }, 'm/config.yaml')).toThrow(/m\/config\.yaml: .*max_batch_sise/);
    expect(() => parseModelConfig({ instances: { count: 'two' } }, 'm/config.yaml')).toThrow(/instances\.count: .*number/);
    expect(() => parseModelConfig({ version_policy: { latest: 0 } }, 'm/config.yaml')).toThrow(/version_policy/);
  });

  it('reports YAML syntax errors with the file name', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'config-'));
    await writeFile(path.join(dir, 'config.yaml'), 'max_batch_size: [1\n');
    await expect(readModelConfig(path.join(dir, 'config.yaml'), 'm/config.yaml')).rejects.toThrow(/m\/config\.yaml: not valid YAML/);
  });
});
