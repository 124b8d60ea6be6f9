/**
 * Offline checks of Kubernetes manifests: schema validation with kubernetes-models (the Kubernetes
 * OpenAPI schemas compiled by ajv), a strict check that also rejects keys the schemas do not
 * know, hand-written shapes for the kinds kubernetes-models has no schema for, and a kustomize
 * build of the few features deploy/k8s uses, for machines without kubectl.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { ScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { PersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { parseAllDocuments } from 'yaml';

/** Any Kubernetes object, or a kustomization file. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [key: string]: unknown;
}

/** Every document of a (multi-document) YAML file; empty documents are left out. Throws on any YAML error. */
export function readYamlDocuments(file: string): K8sObject[] {
  return parseYamlDocuments(readFileSync(file, 'utf8'), file);
}

export function parseYamlDocuments(text: string, name: string): K8sObject[] {
  const documents = parseAllDocuments(text);
  if (!Array.isArray(documents)) throw new Error(`${name}: not a YAML stream`);
  const objects: K8sObject[] = [];
  for (const document of documents) {
    const problems = [...document.errors, ...document.warnings];
    if (problems.length > 0) throw new Error(`${name}: ${problems.map((p) => p.message).join('; ')}`);
    const value: unknown = document.toJS();
    if (value === null || value === undefined) continue;
    if (typeof value !== 'object' || Array.isArray(value)) throw new Error(`${name}: a document is not a mapping`);
    objects.push(value as K8sObject);
  }
  return objects;
}

/** A kubernetes-models class: `validate()` throws on a schema error. */
type ModelClass = new (data: never) => { validate(): void };

/** The kinds deploy/k8s uses that kubernetes-models (and @kubernetes-models/keda) has a schema for. */
const models: Record<string, ModelClass> = {
  'v1/Namespace': Namespace,
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'v1/PersistentVolumeClaim': PersistentVolumeClaim,
  'apps/v1/Deployment': Deployment,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'keda.sh/v1alpha1/ScaledObject': ScaledObject,
};

/** The kubernetes-models class of `object`'s apiVersion and kind, if there is one. */
export function modelOf(object: K8sObject): ModelClass | undefined {
  return models[`${object.apiVersion}/${object.kind}`];
}

/**
 * Keys of `object` its schema does not know, as paths (`.spec.template.spec.containers[0].readinesProbe`).
 * The schema check lets unknown keys through, so this runs the same compiled validator on a proxy
 * of `object` that records which keys it reads: a validator reads every property its schema names
 * and enumerates the keys of maps (additionalProperties: labels, annotations, data, resources).
 * A key never read, in an object never enumerated, is unknown to the schema. The validators are
 * compiled with allErrors, so they read everything even when something else fails.
 */
export function unknownKeys(model: ModelClass, object: object): string[] {
  const read = new Map<object, Set<string>>();
  const enumerated = new Set<object>();
  const proxies = new WeakMap<object, object>();
  const note = (target: object, key: string | symbol): void => {
    if (typeof key !== 'string') return;
    const keys = read.get(target) ?? new Set<string>();
    keys.add(key);
    read.set(target, keys);
  };
  const wrap = (value: unknown): unknown => {
    if (value === null || typeof value !== 'object') return value;
    const known = proxies.get(value);
    if (known !== undefined) return known;
    const proxy = new Proxy(value, {
      get(target, key, receiver) {
        note(target, key);
        return wrap(Reflect.get(target, key, receiver));
      },
      has(target, key) {
        note(target, key);
        return Reflect.has(target, key);
      },
      ownKeys(target) {
        enumerated.add(target);
        return Reflect.ownKeys(target);
      },
    });
    proxies.set(value, proxy);
    return proxy;
  };
  try {
    (model.prototype.validate as (this: unknown) => void).call(wrap(object));
  } catch {
    // Schema errors are manifestErrors' to report; only the keys read matter here.
  }
  const unknown: string[] = [];
  const walk = (value: unknown, at: string): void => {
    if (value === null || typeof value !== 'object') return;
    if (Array.isArray(value)) {
      value.forEach((item, i) => walk(item, `${at}[${i}]`));
      return;
    }
    const keys = read.get(value);
    for (const [key, child] of Object.entries(value)) {
      if (!enumerated.has(value) && !keys?.has(key)) unknown.push(`${at}.${key}`);
      else walk(child, `${at}.${key}`);
    }
  };
  walk(object, '');
  return unknown;
}

/** A hand-written shape for kinds without a schema in kubernetes-models: known keys and their types. */
export type Shape =
  | 'string'
  | 'integer'
  | 'boolean'
  /** The Prometheus operator's Duration pattern (15s, 1m30s, 5m). */
  | 'duration'
  | { enum: readonly string[] }
  | { list: Shape }
  | { map: Shape }
  | { fields: Readonly<Record<string, Shape>>; required?: readonly string[] };

const duration = /^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$/;

/** What is wrong with `value` for `shape`: unknown keys, missing required keys, wrong types. */
export function shapeErrors(shape: Shape, value: unknown, at = ''): string[] {
  const where = at === '' ? '.' : at;
  if (shape === 'string') return typeof value === 'string' ? [] : [`${where}: expected a string`];
  if (shape === 'integer') return Number.isInteger(value) ? [] : [`${where}: expected an integer`];
  if (shape === 'boolean') return typeof value === 'boolean' ? [] : [`${where}: expected a boolean`];
  if (shape === 'duration') return typeof value === 'string' && value !== '' && duration.test(value) ? [] : [`${where}: expected a duration like 15s, got ${JSON.stringify(value)}`];
  if ('enum' in shape) return typeof value === 'string' && shape.enum.includes(value) ? [] : [`${where}: expected one of ${shape.enum.join(', ')}`];
  if ('list' in shape) return Array.isArray(value) ? value.flatMap((item, i) => shapeErrors(shape.list, item, `${at}[${i}]`)) : [`${where}: expected a list`];
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return [`${where}: expected a mapping`];
  const entries = Object.entries(value);
  if ('map' in shape) return entries.flatMap(([key, item]) => shapeErrors(shape.map, item, `${at}.${key}`));
  const errors = (shape.required ?? []).filter((key) => !(key in value)).map((key) => `${where}: missing ${key}`);
  for (const [key, item] of entries) {
    const field = shape.fields[key];
    errors.push(...(field === undefined ? [`${at}.${key}: unknown key`] : shapeErrors(field, item, `${at}.${key}`)));
  }
  return errors;
}

const strings: Shape = { map: 'string' };
const stringList: Shape = { list: 'string' };
const labelSelector: Shape = {
  fields: { matchLabels: strings, matchExpressions: { list: { fields: { key: 'string', operator: { enum: ['In', 'NotIn', 'Exists', 'DoesNotExist'] }, values: stringList }, required: ['key', 'operator'] } } },
};
const metadata: Shape = { fields: { name: 'string', namespace: 'string', labels: strings, annotations: strings }, required: ['name'] };
const secretKey: Shape = { fields: { name: 'string', key: 'string', optional: 'boolean' }, required: ['key'] };
const relabeling: Shape = {
  fields: {
    sourceLabels: stringList,
    separator: 'string',
    targetLabel: 'string',
    regex: 'string',
    modulus: 'integer',
    replacement: 'string',
    action: { enum: ['replace', 'Replace', 'keep', 'Keep', 'drop', 'Drop', 'hashmod', 'HashMod', 'labelmap', 'LabelMap', 'labeldrop', 'LabelDrop', 'labelkeep', 'LabelKeep', 'lowercase', 'Lowercase', 'uppercase', 'Uppercase', 'keepequal', 'KeepEqual', 'dropequal', 'DropEqual'] },
  },
};

/**
 * The Prometheus operator's kinds (monitoring.coreos.com/v1, from its CRDs), reduced to the
 * fields a ServiceMonitor or PrometheusRule for modelserve could use; TLS and auth settings of a
 * ServiceMonitor endpoint are left out, so they would be reported as unknown.
 */
const serviceMonitor: Shape = {
  fields: {
    apiVersion: 'string',
    kind: 'string',
    metadata,
    spec: {
      fields: {
        jobLabel: 'string',
        targetLabels: stringList,
        podTargetLabels: stringList,
        selector: labelSelector,
        namespaceSelector: { fields: { any: 'boolean', matchNames: stringList } },
        sampleLimit: 'integer',
        targetLimit: 'integer',
        labelLimit: 'integer',
        endpoints: {
          list: {
            fields: {
              port: 'string',
              targetPort: 'string',
              path: 'string',
              scheme: { enum: ['http', 'https'] },
              params: { map: stringList },
              interval: 'duration',
              scrapeTimeout: 'duration',
              honorLabels: 'boolean',
              honorTimestamps: 'boolean',
              followRedirects: 'boolean',
              enableHttp2: 'boolean',
              filterRunning: 'boolean',
              bearerTokenSecret: secretKey,
              relabelings: { list: relabeling },
              metricRelabelings: { list: relabeling },
            },
          },
        },
      },
      required: ['selector', 'endpoints'],
    },
  },
  required: ['apiVersion', 'kind', 'metadata', 'spec'],
};

const rule: Shape = {
  fields: { alert: 'string', record: 'string', expr: 'string', for: 'duration', keep_firing_for: 'duration', labels: strings, annotations: strings },
  required: ['expr'],
};

const prometheusRule: Shape = {
  fields: {
    apiVersion: 'string',
    kind: 'string',
    metadata,
    spec: {
      fields: {
        groups: {
          list: {
            fields: { name: 'string', interval: 'duration', query_offset: 'duration', limit: 'integer', labels: strings, partial_response_strategy: 'string', rules: { list: rule } },
            required: ['name', 'rules'],
          },
        },
      },
      required: ['groups'],
    },
  },
  required: ['apiVersion', 'kind', 'metadata', 'spec'],
};

const generator: Shape = {
  fields: { name: 'string', behavior: { enum: ['create', 'merge', 'replace'] }, literals: stringList },
  required: ['name'],
};

/**
 * A kustomization as far as deploy/k8s and buildOffline go: a key kustomize knows but buildOffline
 * does not implement is reported here, so the offline build never silently ignores one.
 */
const kustomization: Shape = {
  fields: {
    apiVersion: 'string',
    kind: 'string',
    namespace: 'string',
    resources: stringList,
    components: stringList,
    images: { list: { fields: { name: 'string', newName: 'string', newTag: 'string', digest: 'string' }, required: ['name'] } },
    configMapGenerator: { list: generator },
    secretGenerator: { list: generator },
    patches: { list: { fields: { path: 'string' }, required: ['path'] } },
  },
  required: ['apiVersion', 'kind'],
};

/** prometheus-adapter's configuration file (its `rules`; resource and external rules are not used here). */
export const adapterConfig: Shape = {
  fields: {
    rules: {
      list: {
        fields: {
          seriesQuery: 'string',
          seriesFilters: { list: { fields: { is: 'string', isNot: 'string' } } },
          resources: { fields: { overrides: { map: { fields: { group: 'string', resource: 'string' }, required: ['resource'] } }, template: 'string' } },
          name: { fields: { matches: 'string', as: 'string' } },
          metricsQuery: 'string',
        },
        required: ['seriesQuery', 'metricsQuery'],
      },
    },
  },
  required: ['rules'],
};

const shapes: Record<string, Shape> = {
  'monitoring.coreos.com/v1/ServiceMonitor': serviceMonitor,
  'monitoring.coreos.com/v1/PrometheusRule': prometheusRule,
  'kustomize.config.k8s.io/v1beta1/Kustomization': kustomization,
  'kustomize.config.k8s.io/v1alpha1/Component': kustomization,
};

/** The hand-written shape of `object`'s apiVersion and kind, if there is one. */
export function shapeOf(object: K8sObject): Shape | undefined {
  return shapes[`${object.apiVersion}/${object.kind}`];
}

/**
 * Every problem of `object`: schema errors and unknown keys (kubernetes-models), or shape errors
 * (the kinds above); a kind with neither is a problem too.
 */
export function manifestErrors(object: K8sObject): string[] {
  const model = modelOf(object);
  if (model !== undefined) {
    try {
      new model(object as never).validate();
    } catch (error) {
      return [(error as Error).message];
    }
    return unknownKeys(model, object).map((key) => `${key}: unknown key`);
  }
  const shape = shapeOf(object);
  if (shape !== undefined) return shapeErrors(shape, object);
  return [`no schema for ${object.apiVersion} ${object.kind}`];
}

/** `object` without strategic-merge directives (`$patch`), at any depth. */
function withoutDirectives(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutDirectives);
  if (!isObject(value)) return value;
  return Object.fromEntries(Object.entries(value).filter(([key]) => key !== '$patch').map(([key, v]) => [key, withoutDirectives(v)]));
}

/**
 * The problems of a patch: as manifestErrors, but required fields may be missing (the object
 * patched has them; the build checks the result) and `$patch` directives are allowed.
 */
export function patchErrors(patch: K8sObject): string[] {
  const object = withoutDirectives(patch) as K8sObject;
  const model = modelOf(object);
  if (model === undefined) return [`no schema for ${object.apiVersion} ${object.kind}`];
  const errors: string[] = [];
  try {
    new model(object as never).validate();
  } catch (error) {
    const details = (error as { errors?: Array<{ keyword: string; instancePath: string; message?: string }> }).errors ?? [];
    errors.push(...details.filter((e) => e.keyword !== 'required').map((e) => `${e.instancePath}: ${e.message ?? e.keyword}`));
  }
  return [...errors, ...unknownKeys(model, object).map((key) => `${key}: unknown key`)];
}

/** `kind/namespace/name`, to sort and find objects. */
export function objectKey(object: K8sObject): string {
  return `${object.kind}/${object.metadata?.namespace ?? ''}/${object.metadata?.name ?? ''}`;
}

/** Kinds that have no namespace (of those a kustomization here could hold). */
const clusterScoped = new Set(['Namespace', 'PersistentVolume', 'StorageClass', 'ClusterRole', 'ClusterRoleBinding', 'CustomResourceDefinition', 'PriorityClass']);

interface Generator {
  name: string;
  behavior?: 'create' | 'merge' | 'replace';
  literals?: string[];
}

interface Kustomization {
  kind: string;
  namespace?: string;
  resources?: string[];
  components?: string[];
  images?: Array<{ name: string; newName?: string; newTag?: string; digest?: string }>;
  configMapGenerator?: Generator[];
  secretGenerator?: Generator[];
  patches?: Array<{ path: string }>;
}

/** What buildOffline made, and every file it read. */
export interface Build {
  objects: K8sObject[];
  files: string[];
  /** Names of the ConfigMaps and Secrets generated (kustomize adds a hash to them). */
  generated: string[];
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * A strategic merge patch, simplified: maps merge (null deletes a key, `$patch: replace` replaces),
 * lists whose items all have a name merge by name (`$patch: delete` removes an item), other lists
 * are replaced. Kubernetes merges containers, volumes, env and ports by name (ports by
 * containerPort, which names the same ports here).
 */
export function strategicMerge(base: unknown, patch: unknown): unknown {
  if (isObject(patch)) {
    const { $patch: directive, ...fields } = patch;
    if (directive === 'replace' || !isObject(base)) return fields;
    const merged: Record<string, unknown> = { ...base };
    for (const [key, value] of Object.entries(fields)) {
      if (value === null) delete merged[key];
      else merged[key] = strategicMerge(base[key], value);
    }
    return merged;
  }
  const named = (list: unknown[]): boolean => list.every((item) => isObject(item) && typeof item['name'] === 'string');
  if (Array.isArray(patch) && Array.isArray(base) && named(base) && named(patch)) {
    const merged = [...(base as Array<Record<string, unknown>>)];
    for (const item of patch as Array<Record<string, unknown>>) {
      const at = merged.findIndex((b) => b['name'] === item['name']);
      if (item['$patch'] === 'delete') {
        if (at >= 0) merged.splice(at, 1);
      } else if (at >= 0) merged[at] = strategicMerge(merged[at], item) as Record<string, unknown>;
      else merged.push(strategicMerge(undefined, item) as Record<string, unknown>);
    }
    return merged;
  }
  return patch;
}

/** The pod specs of `object` (a workload's template). */
function podSpecs(object: K8sObject): Array<Record<string, unknown>> {
  const spec = object['spec'];
  const template = isObject(spec) ? spec['template'] : undefined;
  const podSpec = isObject(template) ? template['spec'] : undefined;
  return isObject(podSpec) ? [podSpec] : [];
}

/**
 * `kustomize build dir` for what deploy/k8s uses: resources (files and directories), components,
 * namespace, images, configMapGenerator and secretGenerator with literals (without the hash
 * suffix kustomize adds to their names), and patches by path (strategic merge, `$patch: delete`).
 * Throws when a file it names is missing, a patch or merge matches no object, or a kustomization
 * uses a key it does not implement.
 */
export function buildOffline(dir: string): Build {
  const build: Build = { objects: [], files: [], generated: [] };
  accumulate(dir, 'Kustomization', build, build.objects);
  return build;
}

function accumulate(dir: string, kind: 'Kustomization' | 'Component', build: Build, objects: K8sObject[]): void {
  const file = path.join(dir, 'kustomization.yaml');
  if (!existsSync(file)) throw new Error(`${dir}: no kustomization.yaml`);
  build.files.push(file);
  const [document] = readYamlDocuments(file);
  if (document === undefined) throw new Error(`${file}: empty`);
  const problems = shapeErrors(kustomization, document);
  if (problems.length > 0) throw new Error(`${file}: ${problems.join('; ')}`);
  const k = document as unknown as Kustomization;
  if (k.kind !== kind) throw new Error(`${file}: expected kind ${kind}, got ${k.kind}`);
  const named = (entry: string): string => {
    const target = path.resolve(dir, entry);
    if (!existsSync(target)) throw new Error(`${file}: ${entry} does not exist`);
    return target;
  };
  // A Kustomization starts a list of its own; a Component adds to (and patches) its parent's.
  const own: K8sObject[] = kind === 'Component' ? objects : [];
  for (const entry of k.resources ?? []) {
    const target = named(entry);
    if (statSync(target).isDirectory()) {
      accumulate(target, 'Kustomization', build, own);
    } else {
      build.files.push(target);
      own.push(...readYamlDocuments(target));
    }
  }
  for (const entry of k.components ?? []) accumulate(named(entry), 'Component', build, own);
  for (const [generators, generatedKind] of [
    [k.configMapGenerator ?? [], 'ConfigMap'],
    [k.secretGenerator ?? [], 'Secret'],
  ] as const) {
    for (const g of generators) generate(g, generatedKind, own, file, build);
  }
  for (const { path: entry } of k.patches ?? []) {
    const target = named(entry);
    build.files.push(target);
    const patches = readYamlDocuments(target);
    if (patches.length !== 1) throw new Error(`${target}: expected one patch, got ${patches.length}`);
    const patch = patches[0]!;
    const at = own.findIndex((o) => o.kind === patch.kind && o.metadata?.name === patch.metadata?.name);
    if (at < 0) throw new Error(`${target}: patch matches no object (${patch.kind} ${patch.metadata?.name})`);
    if (patch['$patch'] === 'delete') own.splice(at, 1);
    else own[at] = strategicMerge(own[at], patch) as K8sObject;
  }
  if (k.namespace !== undefined) {
    for (const o of own) if (!clusterScoped.has(o.kind)) o.metadata = { ...o.metadata, namespace: k.namespace };
  }
  for (const image of k.images ?? []) {
    for (const spec of own.flatMap(podSpecs)) {
      for (const container of [...((spec['initContainers'] ?? []) as Array<{ image?: string }>), ...((spec['containers'] ?? []) as Array<{ image?: string }>)]) {
        const current = container.image ?? '';
        const name = current.replace(/@.*$/, '').replace(/:[^:/]*$/, '');
        if (name !== image.name) continue;
        const tag = image.digest !== undefined ? `@${image.digest}` : image.newTag !== undefined ? `:${image.newTag}` : current.slice(name.length);
        container.image = `${image.newName ?? name}${tag}`;
      }
    }
  }
  if (own !== objects) objects.push(...own);
}

/** A ConfigMap or Secret of literals (a Secret's values base64-encoded, as kustomize does). */
function generate(g: Generator, kind: 'ConfigMap' | 'Secret', objects: K8sObject[], file: string, build: Build): void {
  const data: Record<string, string> = {};
  for (const literal of g.literals ?? []) {
    const at = literal.indexOf('=');
    if (at <= 0) throw new Error(`${file}: literal ${literal} is not KEY=VALUE`);
    const value = literal.slice(at + 1);
    data[literal.slice(0, at)] = kind === 'Secret' ? Buffer.from(value).toString('base64') : value;
  }
  const at = objects.findIndex((o) => o.kind === kind && o.metadata?.name === g.name);
  const behavior = g.behavior ?? 'create';
  if (behavior === 'create') {
    if (at >= 0) throw new Error(`${file}: ${kind} ${g.name} exists already`);
    objects.push({ apiVersion: 'v1', kind, metadata: { name: g.name }, data, ...(kind === 'Secret' ? { type: 'Opaque' } : {}) });
    build.generated.push(g.name);
    return;
  }
  const existing = objects[at];
  if (existing === undefined) throw new Error(`${file}: ${behavior} of ${kind} ${g.name}, which no resource makes`);
  existing['data'] = behavior === 'merge' ? { ...(existing['data'] as Record<string, string>), ...data } : data;
}

/**
 * kubectl's version of kustomize when kubectl is on PATH and embeds kustomize 5 or later (older
 * ones, e.g. Debian's kubernetes-client 1.20 with kustomize 2, lack components); undefined otherwise.
 */
export function kubectlKustomizeVersion(): { version?: string; reason: string } {
  let output: string;
  try {
    output = execFileSync('kubectl', ['version', '--client', '-o', 'json'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    return { reason: e.code === 'ENOENT' ? 'no kubectl on PATH' : `kubectl version failed: ${e.message.split('\n')[0]}` };
  }
  const version = (JSON.parse(output) as { kustomizeVersion?: unknown }).kustomizeVersion;
  if (typeof version !== 'string' || !/^v?([5-9]|\d{2,})\./.test(version)) return { reason: `kubectl's kustomize is ${String(version)}, older than v5` };
  return { version, reason: `kubectl kustomize (kustomize ${version})` };
}

/** `kubectl kustomize dir`, parsed. */
export function kubectlKustomize(dir: string): K8sObject[] {
  const output = execFileSync('kubectl', ['kustomize', dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
  return parseYamlDocuments(output, `kubectl kustomize ${dir}`);
}

/** `objects` with the hash suffix kustomize gives the `generated` names (`modelserve-config-8tcthd767b`) removed, everywhere. */
export function withoutHashSuffixes(objects: K8sObject[], generated: readonly string[]): K8sObject[] {
  if (generated.length === 0) return objects;
  const names = generated.map((n) => n.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|');
  const suffixed = new RegExp(`"(${names})-[a-z0-9]{10}"`, 'g');
  return JSON.parse(JSON.stringify(objects).replace(suffixed, '"$1"')) as K8sObject[];
}

/**
 * A kustomization's text with its commented-out `# components:` list turned on, and the
 * components it lists.
 */
export function enableComponents(text: string): { text: string; components: string[] } {
  const components: string[] = [];
  let inList = false;
  const lines = text.split('\n').map((line) => {
    if (/^# components:\s*$/.test(line)) {
      inList = true;
      return 'components:';
    }
    const item = inList ? /^#\s+- (\S+)\s*$/.exec(line) : null;
    if (item === null) {
      inList = false;
      return line;
    }
    components.push(item[1]!);
    return `  - ${item[1]!}`;
  });
  return { text: lines.join('\n'), components };
}
