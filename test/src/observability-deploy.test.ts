/**
 * What deploy/ ships for issue 17, checked by the tools that will read it: the alerting rules by
 * promtool (syntax and their unit tests), and every query of the Grafana dashboard by a real
 * Prometheus scraping a real server that has answered a known load.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { status } from '@grpc/grpc-js';
import { writeDemoRepository } from '@modelserve/model-zoo';
import type { PredictResponse__Output } from '@modelserve/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { promtool, samples, startPrometheus, type QueryData, type TestPrometheus } from './support/prometheus.js';
import { failure, startTestServer, unary, type TestServer } from './support/server.js';
import { fp32, wire } from './support/tensors.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const prometheusDir = path.join(root, 'deploy/prometheus');

describe('the Prometheus rules and configuration', () => {
  for (const args of [
    ['check', 'rules', 'alerts.yaml'],
    ['test', 'rules', 'alerts.test.yaml'],
    ['check', 'config', 'prometheus.yaml'],
  ]) {
    it(`pass promtool ${args.join(' ')}`, async () => {
      const { code, output } = await promtool(args, prometheusDir);
      expect(code, output).toBe(0);
    }, 60_000);
  }

  it('give every alert a severity and a summary and description', () => {
    const rules = readFileSync(path.join(prometheusDir, 'alerts.yaml'), 'utf8');
    const alerts = rules.split(/^\s+- alert: /m).slice(1);
    expect(alerts.length).toBeGreaterThanOrEqual(8);
    for (const alert of alerts) {
      const name = alert.split('\n')[0];
      expect(alert, name).toMatch(/^\s+severity: (critical|warning|info)$/m);
      expect(alert, name).toMatch(/^\s+summary: /m);
      expect(alert, name).toMatch(/^\s+description: /m);
      expect(alert, name).toContain('{{ $labels.instance }}');
    }
  });
});

/** A Grafana panel as far as its queries go; rows keep their collapsed panels in `panels`. */
interface Panel {
  title?: string;
  type?: string;
  datasource?: { type?: string; uid?: string };
  targets?: Array<{ expr?: string }>;
  panels?: Panel[];
}
interface Dashboard {
  schemaVersion: number;
  panels: Panel[];
  templating: { list: Array<{ name: string; type: string; query: unknown; allValue?: string }> };
}

const dashboard = JSON.parse(readFileSync(path.join(root, 'deploy/grafana/modelserve.json'), 'utf8')) as Dashboard;

/** Every panel, rows' nested panels included. */
function allPanels(panels: Panel[]): Panel[] {
  return panels.flatMap((panel) => [panel, ...allPanels(panel.panels ?? [])]);
}

/** Every query of the dashboard with its panel's title, its variables replaced as a Grafana would for "All". */
const queries = allPanels(dashboard.panels).flatMap((panel) =>
  (panel.targets ?? []).map((target) => ({
    panel: panel.title ?? '(untitled)',
    expr: (target.expr ?? '').replace(/\$\{?__rate_interval\}?/g, '1m').replace(/\$\{?model\}?/g, '.*'),
  })),
);

/** Queries over the per-request metrics, which the load below must fill. */
const requestMetric = /modelserve_inference_(requests_total|failures_total|request_duration_seconds|queue_duration_seconds|compute_duration_seconds|samples_total|runs_total)/;

/** The value of each series of an instant vector, keyed by `label`. */
function byLabel(data: QueryData, label: string): Record<string, number> {
  return Object.fromEntries(samples(data).map((s) => [s.metric[label] ?? '', Number(s.value[1])]));
}

describe('the Grafana dashboard', () => {
  it('is a schema 39 dashboard over a ${datasource} variable with a model variable', () => {
    expect(dashboard.schemaVersion).toBe(39);
    const variables = Object.fromEntries(dashboard.templating.list.map((v) => [v.name, v]));
    expect(variables.datasource).toMatchObject({ type: 'datasource', query: 'prometheus' });
    expect(variables.model).toMatchObject({ type: 'query', allValue: '.*' });
    expect(JSON.stringify(variables.model!.query)).toContain('label_values(modelserve_inference_requests_total, model)');
    for (const panel of allPanels(dashboard.panels).filter((p) => p.type !== 'row')) {
      expect(panel.datasource, panel.title).toEqual({ type: 'prometheus', uid: '${datasource}' });
    }
  });

  it('has a query on every panel and no variable left once $model and $__rate_interval are replaced', () => {
    expect(queries.length).toBeGreaterThanOrEqual(15);
    for (const { panel, expr } of queries) {
      expect(expr, panel).not.toBe('');
      expect(expr, panel).not.toContain('$');
    }
  });
});

/**
 * tiny_mlp takes [batch, 4]; a fifth column is the wrong dimension (INVALID_ARGUMENT). The load is
 * sent once, before Prometheus is asked anything, so the counts are exact.
 */
const OK_CALLS = 40;
const INVALID_CALLS = 7;

describe('a real Prometheus scraping a server that answered 40 good and 7 bad requests', () => {
  let repository: string;
  let t: TestServer | undefined;
  let prometheus: TestPrometheus | undefined;

  beforeAll(async () => {
    repository = await mkdtemp(path.join(tmpdir(), 'modelserve-observability-'));
    await writeDemoRepository(repository);
    t = await startTestServer({ modelRepository: repository, metricsPort: 0 });
    const metricsAddress = t.server.metricsAddress;
    if (metricsAddress === undefined) throw new Error('the server was started with metricsPort 0 but has no metricsAddress');
    prometheus = await startPrometheus({ targets: [metricsAddress] });

    const server = t;
    const predict = (columns: number) =>
      unary<PredictResponse__Output>((cb) => server.predictor.Predict({ model_name: 'tiny_mlp', inputs: [wire(fp32('input', [1, columns], new Float32Array(columns).fill(0.5)))] }, cb));
    await Promise.all(Array.from({ length: OK_CALLS }, () => predict(4)));
    const errors = await Promise.all(Array.from({ length: INVALID_CALLS }, () => failure(predict(5))));
    expect(errors.map((e) => e.code)).toEqual(new Array(INVALID_CALLS).fill(status.INVALID_ARGUMENT));

    // The first scrape after the load; a second one gives rate() two samples to work with.
    await prometheus.waitFor('sum(modelserve_inference_requests_total)', (d) => samples(d)[0]?.value[1] === String(OK_CALLS + INVALID_CALLS));
    await prometheus.waitFor('count_over_time(modelserve_inference_requests_total{model="tiny_mlp", code="OK"}[1m])', (d) => Number(samples(d)[0]?.value[1] ?? 0) >= 2);
  }, 120_000);

  afterAll(async () => {
    await prometheus?.stop();
    await t?.close();
    await rm(repository, { recursive: true, force: true });
  });

  it('scrapes the server as job "modelserve"', async () => {
    const up = await prometheus!.query('up{job="modelserve"}');
    expect(samples(up).map((s) => [s.metric.instance, s.value[1]])).toEqual([[t!.server.metricsAddress, '1']]);
  });

  it('counts every request once, by status', async () => {
    expect(byLabel(await prometheus!.query('sum(modelserve_inference_requests_total)'), 'none')).toEqual({ '': OK_CALLS + INVALID_CALLS });
    expect(byLabel(await prometheus!.query('sum by (code) (modelserve_inference_requests_total)'), 'code')).toEqual({ OK: OK_CALLS, INVALID_ARGUMENT: INVALID_CALLS });
    expect(byLabel(await prometheus!.query('sum by (model) (modelserve_inference_requests_total)'), 'model')).toEqual({ tiny_mlp: OK_CALLS + INVALID_CALLS });
  });

  it('evaluates every dashboard query, and the request panels show data', async () => {
    const failures: string[] = [];
    for (const { panel, expr } of queries) {
      try {
        // rate() needs two scrapes of a series; the ones the 7 failures made may have had just one so far.
        if (requestMetric.test(expr)) await prometheus!.waitFor(expr, (d) => samples(d).length > 0, 20_000);
        else await prometheus!.query(expr);
      } catch (error) {
        failures.push(`${panel}: ${(error as Error).message}`);
      }
    }
    expect(failures).toEqual([]);
  }, 120_000);
});
