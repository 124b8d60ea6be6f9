/**
 * Drift monitoring against a real server: a model whose config.yaml has a drift block freezes its
 * reference from its first requests, then compares each window of traffic with it (GetDrift, the
 * metrics). Windows close once a second has passed and they hold min_samples samples; the test
 * sends exactly min_samples per window and waits for it to close before sending more, so what each
 * window holds, and so every figure, is fixed by the seeded inputs whatever the machine's speed.
 */
import { identity, mulberry32 } from '@modelserve/model-zoo';
import type { VersionDrift__Output } from '@modelserve/proto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from './support/eventually.js';
import { put } from './support/fixtures.js';
import { failure, startTestServer, unary, type TestServer } from './support/server.js';
import { fp32, wire } from './support/tensors.js';

const rows = 200;
const windowSamples = 1000;

let t: TestServer;
beforeAll(async () => {
  const root = await mkdtemp(path.join(tmpdir(), 'modelserve-drift-'));
  // The identity over 4 scores: its output's argmax is the class a drifted input pushes to.
  await put(root, 'scores/1/model.onnx', identity('float32', ['n', 4]));
  await put(root, 'scores/config.yaml', ['max_batch_size: 256', 'drift:', '  window_seconds: 1', `  min_samples: ${windowSamples}`, `  reference_samples: ${windowSamples}`, ''].join('\n'));
  await put(root, 'plain/1/model.onnx', identity('float32', ['n', 4]));
  await put(root, 'plain/config.yaml', 'max_batch_size: 256\n');
  t = await startTestServer({ modelRepository: root, metricsPort: 0 });
});
afterAll(() => t.close());

const random = mulberry32(2024);
/** A standard normal draw (Box–Muller over the seeded generator). */
function normal(): number {
  const u = Math.max(random(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

/** `rows` samples of 4 features, each N(mean[i], 1). */
function batch(mean: readonly number[]): Float32Array {
  const x = new Float32Array(rows * 4);
  for (let i = 0; i < x.length; i++) x[i] = normal() + mean[i % 4]!;
  return x;
}

async function send(mean: readonly number[], samples: number): Promise<void> {
  for (let sent = 0; sent < samples; sent += rows) {
    await unary((cb) => t.predictor.Predict({ model_name: 'scores', inputs: [wire(fp32('input', [rows, 4], batch(mean)))] }, cb));
  }
}

function getDrift(request: object): Promise<VersionDrift__Output[]> {
  return unary<{ versions: VersionDrift__Output[] }>((cb) => t.admin.GetDrift(request, cb)).then((r) => r.versions);
}

/** Sends one window of traffic and waits for it to close; its report. */
async function window(mean: readonly number[]): Promise<VersionDrift__Output> {
  const [before] = await getDrift({ name: 'scores', version: '1' });
  await send(mean, windowSamples);
  let report: VersionDrift__Output | undefined;
  await eventually(
    async () => {
      [report] = await getDrift({ name: 'scores', version: '1' });
      return report!.window_end_ms !== before!.window_end_ms;
    },
    30_000,
    'the window to close',
  );
  expect(Number(report!.window_samples)).toBe(windowSamples);
  return report!;
}

const tensor = (report: VersionDrift__Output, name: string) => report.tensors.find((x) => x.name === name)!;

describe('drift', () => {
  it('freezes a reference from the first requests, stays ok under the same traffic, alerts on a shifted input and on a class-frequency shift', async () => {
    expect((await getDrift({ name: 'scores' }))[0]).toMatchObject({ state: 'collecting-reference', reference_samples: '0' });
    await send([0, 0, 0, 0], windowSamples);
    expect((await getDrift({ name: 'scores' }))[0]).toMatchObject({ state: 'collecting', reference_samples: String(windowSamples), reference_source: `first ${windowSamples} requests` });

    // N(0,1), as the reference: every feature's PSI below the warning level 0.1.
    const same = await window([0, 0, 0, 0]);
    expect(same).toMatchObject({ state: 'ok', level: 'ok' });
    expect(tensor(same, 'input').max_psi).toBeLessThan(0.1);

    // N(0.5,1) on every input: alert within two windows.
    const shifted = [await window([0.5, 0.5, 0.5, 0.5]), await window([0.5, 0.5, 0.5, 0.5])];
    expect(shifted.some((w) => w.level === 'alert' && tensor(w, 'input').max_psi >= 0.25)).toBe(true);
    for (const w of shifted) expect(tensor(w, 'input').max_psi).toBeGreaterThanOrEqual(0.1);

    // Class frequency: the fourth score raised by 1.5 makes class 3 win far more often than the reference's 1 in 4.
    const classes = await window([0, 0, 0, 1.5]);
    const output = tensor(classes, 'output');
    expect(output.level).toBe('alert');
    expect(output.features[0]).toMatchObject({ name: 'argmax', level: 'alert' });

    // The same as metrics: the version's level and the tensors' largest PSI.
    const text = await (await fetch(`http://${t.server.metricsAddress}/metrics`)).text();
    expect(text).toContain('modelserve_drift_level{model="scores",version="1"} 2');
    expect(text).toMatch(/modelserve_drift_psi\{model="scores",version="1",tensor="output",feature="_max"\} \d/);
  });

  it('answers NOT_FOUND for a model without drift monitoring, INVALID_ARGUMENT for a comparison without a version', async () => {
    expect(await failure(getDrift({ name: 'plain' }))).toMatchObject({ code: 5, details: "model 'plain' has no drift monitoring; watched: scores 1 (add a drift: block to its config.yaml)" });
    expect(await failure(getDrift({ name: 'scores', against_version: '1' }))).toMatchObject({ code: 3, details: "against_version needs a name and a version to compare with it, got name 'scores' version ''" });
  });
});
