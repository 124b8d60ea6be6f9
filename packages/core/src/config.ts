import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { describeConfigIssues, showValue } from './config-errors.js';
import { ModelServeError } from './errors.js';
import type { Routing } from './router.js';

const positiveInt = z.number().int().min(1);

const versionPolicySchema = z.union([
  z.literal('all'),
  z.object({ all: z.object({}).strict() }).strict(),
  z.object({ latest: positiveInt }).strict(),
  z.object({ specific: z.array(positiveInt).min(1) }).strict(),
]);

/** The schema of a model's `config.yaml`; every field is optional. */
export const modelConfigSchema = z
  .object({
    /** Largest first dimension a request may have; 0 means the model is not batched. */
    max_batch_size: z.number().int().min(0).default(0),
    /** Which versions on disk are served: `all`, `{latest: N}` (default 1) or `{specific: [..]}`. */
    version_policy: versionPolicySchema.default({ latest: 1 }),
    /** The version used when a request names none; the highest ready version when unset. */
    default_version: positiveInt.optional(),
    /** Traffic between versions for requests that name none (changeable at run time through the admin API). */
    routing: z
      .object({
        /** Weighted split, version → weight, e.g. {1: 90, 2: 10}. */
        split: z
          .record(z.string().regex(/^[1-9][0-9]*$/, 'a version number'), z.number().min(0))
          .describe('a mapping of version number to weight ≥ 0, e.g. {1: 90, 2: 10}')
          .default({}),
        /** A version that gets a copy of every request; its answers are compared, never returned. */
        shadow: positiveInt.optional(),
      })
      .strict()
      .optional(),
    /** Gather queued requests into batches (Triton's dynamic_batching); absent: one request per run. */
    dynamic_batching: z
      .object({
        /** How long the oldest request may wait for a fuller batch while an instance is idle. */
        max_queue_delay_us: z.number().int().min(0).max(10_000_000).default(0),
        /** Batch sizes to prefer when more requests wait than one run takes. */
        preferred_batch_sizes: z.array(positiveInt).default([]),
        /** Requests waiting beyond which new ones get RESOURCE_EXHAUSTED. */
        max_queue_size: positiveInt.default(1024),
        /** Priority levels; 1 is the highest. */
        priority_levels: z.number().int().min(1).max(16).default(1),
        /** The level of a request that names none. */
        default_priority_level: positiveInt.default(1),
        /**
         * A batch of at least this many samples runs as two halves back to back on its instance, so
         * the event loop answers the first while the second computes; 0: never. Not with
         * preferred_batch_sizes.
         */
        split_batches_from: z.number().int().min(0).default(16),
        /** Microseconds a request may wait in the queue when it sets no timeout; 0: no limit. */
        default_queue_timeout_us: z.number().int().min(0).default(0),
      })
      .strict()
      .optional(),
    /** Run every instance once on zero inputs before the version takes requests. */
    warmup: z.boolean().default(true),
    /**
     * Refuse a request at once (RESOURCE_EXHAUSTED) when the queue ahead would make it miss its
     * deadline, and answer DEADLINE_EXCEEDED as soon as a queued request can no longer finish in time.
     */
    shed_by_deadline: z.boolean().default(true),
    /**
     * The response cache (response-cache.ts): answers by a hash of everything that decides them,
     * identical requests in flight run once, optionally shared by replicas through Redis. Off when
     * absent; never for a model whose answers are random.
     */
    response_cache: z
      .object({
        max_bytes: z.number().int().min(1024).default(256 * 1024 * 1024),
        /** Seconds an entry lives; 0: until evicted. */
        ttl_s: z.number().min(0).default(0),
        coalesce: z.boolean().default(true),
        /** A Redis URL (`redis://host:port/db`) whose entries every replica shares. */
        shared: z.string().regex(/^rediss?:\/\/.+/, 'a redis:// or rediss:// URL').optional(),
      })
      .strict()
      .optional(),
    /**
     * Drift monitoring of the version's inputs and outputs against a reference profile
     * (`<version>/reference.json`, else frozen from the first `reference_samples` requests); off
     * when absent.
     */
    drift: z
      .object({
        /** Share of requests whose tensors are counted. */
        sample_rate: z.number().gt(0).max(1).default(1),
        /** A window closes after this long, once it holds `min_samples` samples. */
        window_seconds: z.number().min(1).max(86_400).default(60),
        min_samples: positiveInt.default(500),
        /** Samples the reference is frozen from when the version has no reference.json. */
        reference_samples: z.number().int().min(10).default(1000),
        warn_psi: z.number().gt(0).default(0.1),
        alert_psi: z.number().gt(0).default(0.25),
        /** Most drifted features per tensor reported as metrics. */
        top_k: z.number().int().min(1).max(100).default(3),
      })
      .strict()
      .optional(),
    instances: z
      .object({
        /** Sessions (worker threads) per version; default: see defaultInstanceCount. */
        count: z.number().int().min(1).max(64).optional(),
        /** onnxruntime intra-op threads per session. */
        intra_op_threads: z.number().int().min(1).max(64).default(1),
      })
      .strict()
      .default(() => ({ intra_op_threads: 1 })),
  })
  .strict()
  .superRefine((config, context) => {
    const batching = config.dynamic_batching;
    if (config.drift !== undefined && config.drift.alert_psi < config.drift.warn_psi) {
      context.addIssue({ code: 'custom', path: ['drift', 'alert_psi'], message: `${config.drift.alert_psi} is below warn_psi ${config.drift.warn_psi}` });
    }
    if (batching === undefined) return;
    if (config.max_batch_size === 0 && batching.preferred_batch_sizes.length > 0) {
      context.addIssue({ code: 'custom', path: ['dynamic_batching', 'preferred_batch_sizes'], message: 'needs max_batch_size > 0' });
    }
    for (const size of batching.preferred_batch_sizes) {
      if (size > config.max_batch_size) {
        context.addIssue({ code: 'custom', path: ['dynamic_batching', 'preferred_batch_sizes'], message: `${size} exceeds max_batch_size ${config.max_batch_size}` });
      }
    }
    if (batching.default_priority_level > batching.priority_levels) {
      context.addIssue({
        code: 'custom',
        path: ['dynamic_batching', 'default_priority_level'],
        message: `${batching.default_priority_level} exceeds priority_levels ${batching.priority_levels}`,
      });
    }
  })
  .transform((config) => ({ ...config, instances: { ...config.instances, count: config.instances.count ?? defaultInstanceCount(config) } }));

/**
 * Instances when config.yaml sets none, fitted to the machine: one per core for a model that runs
 * one request at a time, so that requests run in parallel; one fewer for a batched model, which
 * uses its cores better with bigger batches and leaves the gRPC event loop a core of its own
 * (measured under h2load on 2 cores: README, Benchmarks).
 */
export function defaultInstanceCount(config: { max_batch_size: number; dynamic_batching?: object | undefined }): number {
  const cores = availableParallelism();
  return config.dynamic_batching !== undefined && config.max_batch_size > 0 ? Math.max(1, cores - 1) : cores;
}

/** A model's validated configuration, defaults filled in. */
export type ModelConfig = z.output<typeof modelConfigSchema>;

/** The version policy in its normal form. */
export type VersionPolicy = { kind: 'all' } | { kind: 'latest'; count: number } | { kind: 'specific'; versions: number[] };

/** The configuration of a model without `config.yaml`. */
export const defaultModelConfig: ModelConfig = modelConfigSchema.parse({});

/**
 * Validates a parsed YAML value; `where` names the file in error messages, each problem its key,
 * what the key accepts and what it got (`version_policy: expected one of all, {all: {}},
 * {latest: N}, {specific: [N, ..]}, got "latest"; did you mean {latest: N}?`); an unknown key is
 * refused, with the key meant when it is a near miss.
 */
export function parseModelConfig(value: unknown, where: string): ModelConfig {
  const input = value ?? {};
  const result = modelConfigSchema.safeParse(input);
  if (result.success) return result.data;
  throw new ModelServeError('InvalidArgument', `${where}: ${describeConfigIssues(modelConfigSchema, result.error.issues, input).join('; ')}`);
}

/** Reads and validates `config.yaml`; a missing file gives the defaults. */
export async function readModelConfig(file: string, where: string): Promise<ModelConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return defaultModelConfig;
    throw new ModelServeError('InvalidArgument', `${where}: cannot read: ${(error as Error).message}`);
  }
  let value: unknown;
  try {
    value = parseYaml(text);
  } catch (error) {
    throw new ModelServeError('InvalidArgument', `${where}: not valid YAML: ${(error as Error).message}`);
  }
  return parseModelConfig(value, where);
}

/** The routing config.yaml sets: its default version, split and shadow. */
export function configRouting(config: ModelConfig): Routing {
  return {
    defaultVersion: config.default_version,
    split: Object.entries(config.routing?.split ?? {}).map(([version, weight]) => ({ version: Number(version), weight })),
    shadowVersion: config.routing?.shadow,
  };
}

/**
 * Checks config.yaml's routing (`where` names the file) against the model's versions on disk:
 * each version it names must be one the version policy serves; `InvalidArgument` naming the key
 * otherwise, as for a split whose weights are all 0.
 */
export function checkConfigRouting(model: string, config: ModelConfig, onDisk: readonly number[], where: string): void {
  const selected = selectVersions(versionPolicy(config), onDisk);
  const problems: string[] = [];
  const check = (version: number | undefined, key: string): void => {
    if (version === undefined || selected.includes(version)) return;
    if (!onDisk.includes(version)) {
      problems.push(`${key}: version ${version} has no folder with a model.onnx (expected <repo>/${model}/${version}/model.onnx; on disk: ${onDisk.join(', ') || 'none'})`);
    } else {
      problems.push(`${key}: version ${version} is not served: version_policy ${showValue(config.version_policy)} selects ${selected.join(', ') || 'none'} of ${onDisk.join(', ')}`);
    }
  };
  check(config.default_version, 'default_version');
  const split = Object.entries(config.routing?.split ?? {});
  for (const [version] of split) check(Number(version), `routing.split.${version}`);
  if (split.length > 0 && split.every(([, weight]) => weight === 0)) problems.push('routing.split: the weights are all 0');
  check(config.routing?.shadow, 'routing.shadow');
  if (problems.length > 0) throw new ModelServeError('InvalidArgument', `${where}: ${problems.join('; ')}`);
}

/** The version policy in its normal form. */
export function versionPolicy(config: ModelConfig): VersionPolicy {
  const policy = config.version_policy;
  if (policy === 'all' || 'all' in policy) return { kind: 'all' };
  if ('latest' in policy) return { kind: 'latest', count: policy.latest };
  return { kind: 'specific', versions: policy.specific };
}

/** The versions a policy selects among those on disk. */
export function selectVersions(policy: VersionPolicy, onDisk: readonly number[]): number[] {
  const sorted = [...onDisk].sort((a, b) => a - b);
  switch (policy.kind) {
    case 'all':
      return sorted;
    case 'latest':
      return sorted.slice(-policy.count);
    case 'specific':
      return sorted.filter((v) => policy.versions.includes(v));
  }
}
