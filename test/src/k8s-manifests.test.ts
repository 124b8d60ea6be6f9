/**
 * What deploy/k8s and the Dockerfile ship for issue 20, checked offline: every manifest against
 * the Kubernetes schemas (kubernetes-models, KEDA's) with unknown keys rejected, the kinds without
 * a schema against hand-written shapes, the example overlay built (by kubectl kustomize when it is
 * on PATH, and always by the offline build of support/k8s.ts), and the numbers that must agree:
 * the autoscaling policy, drain timing, ports, selectors, the alerting rules.
 */
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultPolicy } from '@modelserve/autoscale';
import { livenessService } from '@modelserve/server';
import type { IScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject';
import { Deployment, type IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import { HorizontalPodAutoscaler, type IHorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import type { IPodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IService } from 'kubernetes-models/v1/Service';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  adapterConfig,
  buildOffline,
  enableComponents,
  kubectlKustomize,
  kubectlKustomizeVersion,
  manifestErrors,
  objectKey,
  patchErrors,
  readYamlDocuments,
  shapeErrors,
  unknownKeys,
  withoutHashSuffixes,
  type K8sObject,
} from './support/k8s.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const k8sDir = path.join(root, 'deploy/k8s');
const overlay = path.join(k8sDir, 'overlays/example');

/**
 * The autoscaling policy's defaults (the function `modelserve cluster` and `modelserve autoscale
 * simulate` run) as HPA settings: the stable window is the query's rate window, the delays the
 * stabilization windows, the step limits the Pods policies.
 */
const policy = {
  metric: 'modelserve_requests_in_flight',
  targetPerPod: String(defaultPolicy.targetPerReplica),
  minReplicas: defaultPolicy.minReplicas,
  maxReplicas: defaultPolicy.maxReplicas,
  behavior: {
    scaleUp: { stabilizationWindowSeconds: defaultPolicy.scaleUpDelayMs / 1000, selectPolicy: 'Max', policies: [{ type: 'Pods', value: defaultPolicy.maxStepUp, periodSeconds: defaultPolicy.stepUpPeriodMs / 1000 }] },
    scaleDown: { stabilizationWindowSeconds: defaultPolicy.scaleDownDelayMs / 1000, selectPolicy: 'Max', policies: [{ type: 'Pods', value: defaultPolicy.maxStepDown, periodSeconds: defaultPolicy.stepDownPeriodMs / 1000 }] },
  },
};
/** Requests in flight or queued per pod, averaged over the stable window (Little's law on the duration histogram's sum). */
const loadQuery = `sum by (namespace, pod) (rate(modelserve_inference_request_duration_seconds_sum[${defaultPolicy.stableWindowMs / 60_000}m]))`;

function yamlFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((entry) => {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) return yamlFiles(full);
      return /\.ya?ml$/.test(entry.name) ? [full] : [];
    })
    .sort();
}

const files = yamlFiles(k8sDir);
const relative = (file: string, from = k8sDir): string => path.relative(from, file);

/** Files named by a `patches:` entry of some kustomization: partial objects. */
const patchFiles = new Set(
  files
    .filter((f) => path.basename(f) === 'kustomization.yaml')
    .flatMap((f) => ((readYamlDocuments(f)[0]?.['patches'] ?? []) as Array<{ path: string }>).map((p) => path.resolve(path.dirname(f), p.path))),
);

/** The deploy/k8s tree copied with the example overlay's commented-out components turned on. */
const scratch = mkdtempSync(path.join(tmpdir(), 'modelserve-k8s-'));
cpSync(k8sDir, path.join(scratch, 'k8s'), { recursive: true });
const fullOverlay = path.join(scratch, 'k8s/overlays/example');
const enabled = enableComponents(readFileSync(path.join(overlay, 'kustomization.yaml'), 'utf8'));
writeFileSync(path.join(fullOverlay, 'kustomization.yaml'), enabled.text);

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const example = buildOffline(overlay);
const full = buildOffline(fullOverlay);
const kubectl = kubectlKustomizeVersion();

function all<T>(objects: K8sObject[], kind: string): T[] {
  return objects.filter((o) => o.kind === kind) as unknown as T[];
}
function one<T>(objects: K8sObject[], kind: string, name?: string): T {
  const found = objects.filter((o) => o.kind === kind && (name === undefined || o.metadata?.name === name));
  if (found.length !== 1) throw new Error(`expected one ${kind} ${name ?? ''}, found ${found.length}: ${found.map(objectKey).join(', ')}`);
  return found[0] as unknown as T;
}

/** Whether `labels` has every pair of `selector`. */
function selects(selector: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean {
  return selector !== undefined && Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels?.[k] === v);
}

function serverContainer(deployment: IDeployment): IContainer {
  const container = deployment.spec?.template.spec?.containers.find((c) => c.name === 'modelserve');
  if (container === undefined) throw new Error('no container named modelserve');
  return container;
}

/** The container's environment: its envFrom ConfigMaps (from the build), then its literal env values. */
function environment(container: IContainer, objects: K8sObject[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const source of container.envFrom ?? []) {
    const name = source.configMapRef?.name;
    if (name === undefined) continue;
    Object.assign(env, one<IConfigMap>(objects, 'ConfigMap', name).data);
  }
  for (const e of container.env ?? []) if (e.value !== undefined) env[e.name] = e.value;
  return env;
}

/** The value of `--flag=value` in the container's args, with $(VAR) expanded as the kubelet does. */
function flag(container: IContainer, objects: K8sObject[], name: string): string {
  const arg = (container.args ?? []).find((a) => a.startsWith(`${name}=`));
  if (arg === undefined) throw new Error(`no ${name}= in the args`);
  const env = environment(container, objects);
  return arg.slice(name.length + 1).replace(/\$\((\w+)\)/g, (_, variable: string) => {
    const value = env[variable];
    if (value === undefined) throw new Error(`${name}: $(${variable}) is not defined`);
    return value;
  });
}

function portNumber(container: IContainer, name: string): number {
  const port = container.ports?.find((p) => p.name === name);
  if (port === undefined) throw new Error(`no container port named ${name}`);
  return port.containerPort;
}

describe('every manifest under deploy/k8s', () => {
  it('is valid YAML', () => {
    expect(files.map((f) => relative(f))).toEqual(
      expect.arrayContaining(['base/kustomization.yaml', 'base/deployment.yaml', 'base/hpa.yaml', 'overlays/example/kustomization.yaml', 'prometheus-adapter/rules.yaml']),
    );
    const documents = files.flatMap((f) => readYamlDocuments(f));
    expect(documents.length).toBeGreaterThanOrEqual(files.length);
  });

  for (const file of files) {
    const patch = patchFiles.has(file);
    it(`${relative(file)}: ${patch ? 'a patch with only keys its kind knows' : 'valid for its kind, with no unknown keys'}`, () => {
      const documents = readYamlDocuments(file);
      expect(documents.length).toBeGreaterThan(0);
      for (const document of documents) {
        expect(patch ? patchErrors(document) : manifestErrors(document), objectKey(document)).toEqual([]);
      }
    });
  }

  it("prometheus-adapter/rules.yaml: the ConfigMap's config.yaml is an adapter configuration", () => {
    const [configMap] = readYamlDocuments(path.join(k8sDir, 'prometheus-adapter/rules.yaml')) as unknown as IConfigMap[];
    const config: unknown = parse(configMap!.data!['config.yaml']!);
    expect(shapeErrors(adapterConfig, config)).toEqual([]);
  });
});

describe('the strict check catches what the schema check lets through', () => {
  const deployment = one<IDeployment>(example.objects, 'Deployment', 'modelserve');

  it('a misspelled key in the Deployment (readinesProbe)', () => {
    const copy = structuredClone(deployment);
    const container = copy.spec!.template.spec!.containers[0]! as IContainer & { readinesProbe?: unknown };
    container.readinesProbe = container.readinessProbe;
    delete container.readinessProbe;
    // kubernetes-models alone accepts it
    expect(() => new Deployment(copy).validate()).not.toThrow();
    expect(unknownKeys(Deployment, copy)).toEqual(['.spec.template.spec.containers[0].readinesProbe']);
    expect(manifestErrors(copy as unknown as K8sObject)).toEqual(['.spec.template.spec.containers[0].readinesProbe: unknown key']);
  });

  it('an unknown key in the HorizontalPodAutoscaler (stabilisationWindowSeconds)', () => {
    const copy = structuredClone(one<IHorizontalPodAutoscaler>(example.objects, 'HorizontalPodAutoscaler'));
    (copy.spec!.behavior!.scaleDown as Record<string, unknown>)['stabilisationWindowSeconds'] = 600;
    expect(() => new HorizontalPodAutoscaler(copy).validate()).not.toThrow();
    expect(manifestErrors(copy as unknown as K8sObject)).toEqual(['.spec.behavior.scaleDown.stabilisationWindowSeconds: unknown key']);
  });

  it('while labels, annotations and ConfigMap data stay free-form maps', () => {
    const copy = structuredClone(deployment);
    copy.metadata!.labels!['example.com/any-label'] = 'x';
    copy.spec!.template.metadata!.annotations!['example.com/any-annotation'] = 'x';
    expect(manifestErrors(copy as unknown as K8sObject)).toEqual([]);
  });

  it('an unknown key in a ServiceMonitor, a PrometheusRule and a kustomization', () => {
    const monitor = structuredClone(one<K8sObject>(full.objects, 'ServiceMonitor'));
    (monitor['spec'] as { endpoints: Array<Record<string, unknown>> }).endpoints[0]!['intervall'] = '15s';
    expect(manifestErrors(monitor)).toEqual(['.spec.endpoints[0].intervall: unknown key']);
    const rule = structuredClone(one<K8sObject>(full.objects, 'PrometheusRule'));
    (rule['spec'] as { groups: Array<{ rules: Array<Record<string, unknown>> }> }).groups[0]!.rules[0]!['annotation'] = {};
    expect(manifestErrors(rule)).toEqual(['.spec.groups[0].rules[0].annotation: unknown key']);
    const kustomization = { ...readYamlDocuments(path.join(overlay, 'kustomization.yaml'))[0]!, patchesStrategicMerge: ['x.yaml'] };
    expect(manifestErrors(kustomization)).toEqual(['.patchesStrategicMerge: unknown key']);
  });
});

describe(`the example overlay, built ${kubectl.version === undefined ? `offline only: ${kubectl.reason}` : `by ${kubectl.reason} and offline`}`, () => {
  it('builds offline as shipped: every file it names exists, every patch and generator merge matches an object', () => {
    expect(example.objects.map(objectKey).sort()).toEqual(
      [
        'ConfigMap/modelserve/modelserve-config',
        'Deployment/modelserve/modelserve',
        'HorizontalPodAutoscaler/modelserve/modelserve',
        'Namespace//modelserve',
        'PodDisruptionBudget/modelserve/modelserve',
        'Secret/modelserve/modelserve-admin',
        'Service/modelserve/modelserve',
        'Service/modelserve/modelserve-headless',
      ].sort(),
    );
  });

  it('builds offline with every component turned on, and then reads every manifest under deploy/k8s but the adapter rule', () => {
    const components = readdirSync(path.join(k8sDir, 'components')).sort();
    expect(enabled.components.sort()).toEqual(components.map((c) => `../../components/${c}`));
    expect(full.objects.map((o) => o.kind).sort()).toEqual(
      ['ConfigMap', 'Deployment', 'Namespace', 'PersistentVolumeClaim', 'PodDisruptionBudget', 'PrometheusRule', 'ScaledObject', 'Secret', 'Service', 'Service', 'ServiceMonitor'].sort(),
    );
    const read = new Set(full.files.map((f) => relative(f, path.join(scratch, 'k8s'))));
    expect(files.map((f) => relative(f)).filter((f) => !read.has(f))).toEqual(['prometheus-adapter/rules.yaml']);
  });

  for (const [name, build, dir] of [
    ['as shipped', example, overlay],
    ['with every component', full, fullOverlay],
  ] as const) {
    it(`${name}: every object built is valid for its kind, with no unknown keys`, () => {
      for (const object of build.objects) expect(manifestErrors(object), objectKey(object)).toEqual([]);
    });

    it(
      kubectl.version === undefined
        ? `${name}: kubectl kustomize did not run (${kubectl.reason}); the offline build above stands alone`
        : `${name}: kubectl kustomize builds the same objects as the offline build (but the generated names' hash suffixes)`,
      () => {
        if (kubectl.version === undefined) {
          expect(build.objects.length).toBeGreaterThan(0);
          return;
        }
        const built = kubectlKustomize(dir);
        for (const object of built) expect(manifestErrors(object), objectKey(object)).toEqual([]);
        const sorted = (objects: K8sObject[]) => [...objects].sort((a, b) => objectKey(a).localeCompare(objectKey(b)));
        expect(sorted(withoutHashSuffixes(built, build.generated))).toEqual(sorted(build.objects));
      },
      60_000,
    );
  }
});

describe('the autoscaling policy', () => {
  it('the HorizontalPodAutoscaler has the defaults of packages/autoscale and scales the Deployment', () => {
    const hpa = one<IHorizontalPodAutoscaler>(example.objects, 'HorizontalPodAutoscaler');
    expect(hpa.spec?.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: one<IDeployment>(example.objects, 'Deployment').metadata!.name });
    expect(hpa.spec?.minReplicas).toBe(policy.minReplicas);
    expect(hpa.spec?.maxReplicas).toBe(policy.maxReplicas);
    expect(hpa.spec?.metrics).toEqual([{ type: 'Pods', pods: { metric: { name: policy.metric }, target: { type: 'AverageValue', averageValue: policy.targetPerPod } } }]);
    expect(hpa.spec?.behavior).toEqual(policy.behavior);
  });

  it("prometheus-adapter serves the HPA's metric as the per-pod rate of the request-duration sum", () => {
    const [configMap] = readYamlDocuments(path.join(k8sDir, 'prometheus-adapter/rules.yaml')) as unknown as IConfigMap[];
    const { rules } = parse(configMap!.data!['config.yaml']!) as { rules: Array<{ seriesQuery: string; name: { matches: string; as: string }; metricsQuery: string; resources: unknown }> };
    expect(rules).toHaveLength(1);
    const rule = rules[0]!;
    const series = /^(\w+)\{/.exec(rule.seriesQuery)?.[1];
    expect(series).toBe('modelserve_inference_request_duration_seconds_sum');
    expect(rule.name).toEqual({ matches: `^${series}$`, as: policy.metric });
    expect(rule.resources).toEqual({ overrides: { namespace: { resource: 'namespace' }, pod: { resource: 'pod' } } });
    // The query the adapter runs for every pod of a namespace, its label matchers left out.
    const query = rule.metricsQuery.replace('<<.GroupBy>>', 'namespace, pod').replace('<<.Series>>', series!).replace('{<<.LabelMatchers>>}', '');
    expect(query).toBe(loadQuery);
  });

  it('the KEDA ScaledObject has the same numbers and the same load, summed over the pods of the Deployment', () => {
    expect(all(full.objects, 'HorizontalPodAutoscaler')).toEqual([]);
    expect(all(example.objects, 'ScaledObject')).toEqual([]);
    const scaled = one<IScaledObject>(full.objects, 'ScaledObject');
    const deployment = one<IDeployment>(full.objects, 'Deployment');
    expect(scaled.spec.scaleTargetRef).toMatchObject({ kind: 'Deployment', name: deployment.metadata!.name });
    expect(scaled.spec.minReplicaCount).toBe(policy.minReplicas);
    expect(scaled.spec.maxReplicaCount).toBe(policy.maxReplicas);
    expect(scaled.spec.advanced?.horizontalPodAutoscalerConfig?.behavior).toEqual(policy.behavior);
    expect(scaled.spec.triggers).toHaveLength(1);
    const trigger = scaled.spec.triggers[0]!;
    expect(trigger).toMatchObject({ type: 'prometheus', metricType: 'AverageValue', metadata: { threshold: policy.targetPerPod } });
    const query = trigger.metadata['query']!;
    expect(query.replace(/\{[^}]*\}/, '')).toBe('sum(rate(modelserve_inference_request_duration_seconds_sum[1m]))');
    expect(query).toContain(`namespace="${deployment.metadata!.namespace}"`);
    const pods = new RegExp(`^${/pod=~"([^"]+)"/.exec(query)![1]!}$`);
    expect(pods.test(`${deployment.metadata!.name}-7d9f8c6b5d-x2x4q`)).toBe(true);
    expect(pods.test(`${deployment.metadata!.name}-headless`)).toBe(false);
  });
});

describe('the Deployment', () => {
  for (const [name, build] of [
    ['as shipped', example],
    ['with every component', full],
  ] as const) {
    const objects = build.objects;
    const deployment = one<IDeployment>(objects, 'Deployment', 'modelserve');
    const pod = deployment.spec!.template;
    const container = serverContainer(deployment);

    it(`${name}: terminationGracePeriodSeconds exceeds the preStop sleep plus the drain grace`, () => {
      const preStop = container.lifecycle?.preStop as { exec?: { command?: string[] }; sleep?: { seconds: number } } | undefined;
      const command = preStop?.exec?.command ?? [];
      const sleep = preStop?.sleep?.seconds ?? (command[0] === 'sleep' ? Number(command[1]) : NaN);
      expect(sleep).toBeGreaterThan(0);
      const drainSeconds = Number(flag(container, objects, '--drain-grace-ms')) / 1000;
      expect(drainSeconds).toBe(10);
      expect(pod.spec!.terminationGracePeriodSeconds).toBeGreaterThan(sleep + drainSeconds);
    });

    it(`${name}: probes and annotations use the ports the server listens on`, () => {
      const grpc = portNumber(container, 'grpc');
      const metrics = portNumber(container, 'metrics');
      expect([grpc, metrics]).toEqual([8001, 8002]);
      expect(Number(flag(container, objects, '--port'))).toBe(grpc);
      expect(Number(flag(container, objects, '--metrics-port'))).toBe(metrics);
      const probes = [container.startupProbe, container.readinessProbe, container.livenessProbe];
      for (const probe of probes) expect(probe?.grpc?.port).toBe(grpc);
      // Readiness follows the serving status (overall ""); liveness only whether the process answers.
      expect(container.readinessProbe?.grpc?.service ?? '').toBe('');
      expect(container.livenessProbe?.grpc?.service).toBe(livenessService);
      expect(pod.metadata?.annotations).toMatchObject({ 'prometheus.io/scrape': 'true', 'prometheus.io/port': String(metrics), 'prometheus.io/path': '/metrics' });
    });

    it(`${name}: every $(VAR), ConfigMap, Secret, claim and volume it names exists`, () => {
      const env = environment(container, objects);
      for (const arg of container.args ?? []) for (const [, variable] of arg.matchAll(/\$\((\w+)\)/g)) expect(env, arg).toHaveProperty(variable!);
      const token = container.env?.find((e) => e.name === 'MODELSERVE_ADMIN_TOKEN')?.valueFrom?.secretKeyRef;
      expect(token).toEqual({ name: 'modelserve-admin', key: 'admin-token' });
      expect(one<{ data: Record<string, string> }>(objects, 'Secret', token!.name).data).toHaveProperty(token!.key);
      const volumes = pod.spec!.volumes ?? [];
      for (const c of [...(pod.spec!.initContainers ?? []), ...pod.spec!.containers]) {
        for (const mount of c.volumeMounts ?? []) expect(volumes.map((v) => v.name), `${c.name} ${mount.name}`).toContain(mount.name);
      }
      for (const volume of volumes) {
        if (volume.persistentVolumeClaim !== undefined) one(objects, 'PersistentVolumeClaim', volume.persistentVolumeClaim.claimName);
      }
      const models = container.volumeMounts?.find((m) => m.mountPath === flag(container, objects, '--model-repository'));
      expect(models?.readOnly).toBe(true);
    });

    it(`${name}: runs as the image's node user with no privileges and a read-only root filesystem`, () => {
      expect(pod.spec!.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: 'RuntimeDefault' } });
      for (const c of [...(pod.spec!.initContainers ?? []), ...pod.spec!.containers]) {
        expect(c.securityContext, c.name).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
        expect(c.resources?.requests, c.name).toBeDefined();
        expect(c.resources?.limits, c.name).toBeDefined();
      }
      expect(pod.spec!.automountServiceAccountToken).toBe(false);
    });

    it(`${name}: one inference thread per CPU of the limit; the image built from the Dockerfile`, () => {
      expect(Number(flag(container, objects, '--inference-threads'))).toBe(Number(container.resources!.limits!['cpu']));
      for (const c of [...(pod.spec!.initContainers ?? []), ...pod.spec!.containers]) expect(c.image, c.name).toBe('modelserve:0.1.0');
    });

    it(`${name}: every selector matches the pods, every Service port names a container port`, () => {
      const labels = pod.metadata?.labels;
      expect(selects(deployment.spec!.selector.matchLabels, labels)).toBe(true);
      for (const pdb of all<IPodDisruptionBudget>(objects, 'PodDisruptionBudget')) expect(selects(pdb.spec?.selector?.matchLabels, labels), 'PodDisruptionBudget').toBe(true);
      const services = all<IService>(objects, 'Service');
      expect(services.map((s) => s.metadata!.name).sort()).toEqual(['modelserve', 'modelserve-headless']);
      for (const service of services) {
        expect(selects(service.spec?.selector, labels), service.metadata!.name).toBe(true);
        for (const port of service.spec?.ports ?? []) {
          const target = port.targetPort ?? port.port;
          expect(container.ports?.some((p) => p.name === target || p.containerPort === target), `${service.metadata!.name} ${port.name}`).toBe(true);
        }
      }
      const headless = one<IService>(objects, 'Service', 'modelserve-headless');
      expect(headless.spec).toMatchObject({ clusterIP: 'None', publishNotReadyAddresses: false, ports: [{ name: 'grpc', port: 8001 }] });
      expect(one<IService>(objects, 'Service', 'modelserve').spec?.ports).toContainEqual(expect.objectContaining({ name: 'grpc', port: 8001 }));
    });
  }

  it('the base ships no Secret: the overlay generates the admin token', () => {
    const base = buildOffline(path.join(k8sDir, 'base'));
    expect(all(base.objects, 'Secret')).toEqual([]);
    expect(example.generated).toContain('modelserve-admin');
  });

  it('with model-pvc, the models come from the claim, read-only, with no copy from the image', () => {
    const deployment = one<IDeployment>(full.objects, 'Deployment');
    expect(deployment.spec!.template.spec!.initContainers ?? []).toEqual([]);
    expect(deployment.spec!.template.spec!.volumes?.find((v) => v.name === 'models')).toEqual({
      name: 'models',
      persistentVolumeClaim: { claimName: 'modelserve-models', readOnly: true },
    });
  });
});

describe('monitoring with the Prometheus operator', () => {
  it("the ServiceMonitor scrapes the metrics port of the Service named modelserve (job=\"modelserve\", the alerts' job)", () => {
    const monitor = one<{ metadata: { namespace: string }; spec: { selector: { matchLabels: Record<string, string> }; endpoints: Array<{ port: string }>; jobLabel?: string } }>(
      full.objects,
      'ServiceMonitor',
    );
    const selected = all<IService>(full.objects, 'Service').filter((s) => s.metadata!.namespace === monitor.metadata.namespace && selects(monitor.spec.selector.matchLabels, s.metadata!.labels));
    expect(selected.map((s) => s.metadata!.name)).toEqual(['modelserve']);
    for (const endpoint of monitor.spec.endpoints) expect(selected[0]!.spec!.ports!.map((p) => p.name)).toContain(endpoint.port);
    // Without jobLabel the job is the Service's name.
    expect(monitor.spec.jobLabel).toBeUndefined();
    expect(readFileSync(path.join(root, 'deploy/prometheus/alerts.yaml'), 'utf8')).toContain('up{job="modelserve"}');
  });

  it('the PrometheusRule has the groups of deploy/prometheus/alerts.yaml', () => {
    const alerts = parse(readFileSync(path.join(root, 'deploy/prometheus/alerts.yaml'), 'utf8')) as { groups: unknown[] };
    const rule = one<{ spec: { groups: unknown[] } }>(full.objects, 'PrometheusRule');
    expect(alerts.groups.length).toBeGreaterThan(0);
    expect(rule.spec.groups).toEqual(alerts.groups);
  });
});

describe('the Dockerfile', () => {
  const dockerfile = readFileSync(path.join(root, 'Dockerfile'), 'utf8');
  const instructions = dockerfile
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  const stages = instructions.reduce<string[][]>((list, line) => (line.startsWith('FROM ') ? [...list, [line]] : (list.at(-1)?.push(line), list)), []);
  const runtime = stages.at(-1) ?? [];

  it('builds every stage FROM node:20-slim, with the repository\'s pnpm', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const stage of stages) expect(stage[0]).toMatch(/^FROM node:20-slim( AS \w+)?$/);
    const packageManager = (JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { packageManager: string }).packageManager;
    expect(dockerfile).toContain(`npm install -g ${packageManager}`);
    expect(dockerfile).toContain('ONNXRUNTIME_NODE_INSTALL=skip');
    expect(dockerfile).toContain('pnpm install --frozen-lockfile');
  });

  it('runs as a non-root user with production dependencies only', () => {
    const user = runtime.filter((l) => l.startsWith('USER ')).at(-1);
    expect(user).toBe('USER node');
    // The build stage deploys the CLI without devDependencies; the runtime stage installs nothing.
    expect(stages.slice(0, -1).flat().join('\n')).toMatch(/pnpm --filter @modelserve\/cli deploy --prod .*\/out/);
    expect(runtime.join('\n')).not.toMatch(/npm install|pnpm|yarn/);
    expect(runtime).toContainEqual(expect.stringMatching(/^COPY --from=build .*\/out \/app$/));
  });

  it('serves the ports and the model repository the Deployment expects', () => {
    const deployment = one<IDeployment>(example.objects, 'Deployment');
    const container = serverContainer(deployment);
    expect(runtime).toContain(`EXPOSE ${portNumber(container, 'grpc')} ${portNumber(container, 'metrics')}`);
    expect(runtime).toContain('ENTRYPOINT ["node", "/app/dist/cli.js", "serve"]');
    // The init container copies the models the CLI package ships (its files include models/).
    const cli = JSON.parse(readFileSync(path.join(root, 'apps/modelserve/package.json'), 'utf8')) as { files: string[] };
    expect(cli.files).toContain('models');
    expect(deployment.spec!.template.spec!.initContainers?.[0]?.command).toEqual(['cp', '-R', '/app/models/.', '/models/']);
  });

  it('.dockerignore leaves out node_modules, build output and .git, but keeps test/package.json (a workspace package)', () => {
    const ignored = readFileSync(path.join(root, '.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#'));
    expect(ignored).toEqual(expect.arrayContaining(['**/node_modules', '**/dist', '.git']));
    // test/ is a workspace package: install --frozen-lockfile needs its package.json.
    if (ignored.includes('test/*') || ignored.includes('test')) expect(ignored).toContain('!test/package.json');
  });
});
