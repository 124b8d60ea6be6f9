/**
 * Overload: far more calls than a model can serve at once. The server keeps answering: what does
 * not fit the queue gets RESOURCE_EXHAUSTED at once, what waits past its deadline gets
 * DEADLINE_EXCEEDED, the rest are served, health checks answer throughout, memory stays bounded.
 * How fast the refusals come is a speed claim, measured by `bench:overload` (p99 of the
 * RESOURCE_EXHAUSTED answers, apps/bench/src/overload.ts), not asserted here, where a busy machine
 * would make any wall-clock bound flaky.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { loadPackageDefinition } from '@grpc/grpc-js';
import { demoCnn } from '@modelserve/model-zoo';
import { protoPath as healthProtoPath } from 'grpc-health-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, unary, type TestServer } from './support/server.js';
import { fp32, sampleValues, wire } from './support/tensors.js';

let root: string;
let t: TestServer;
beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'modelserve-overload-'));
  await mkdir(path.join(root, 'cnn', '1'), { recursive: true });
  await writeFile(path.join(root, 'cnn', '1', 'model.onnx'), demoCnn().bytes);
  // One instance, batches of up to 8, at most 8 waiting: a small capacity to overload.
  await writeFile(path.join(root, 'cnn', 'config.yaml'), 'max_batch_size: 8\ndynamic_batching:\n  max_queue_size: 8\ninstances: {count: 1}\n');
  t = await startTestServer({ modelRepository: root });
}, 60_000);
afterAll(async () => {
  await t.close();
  await rm(root, { recursive: true, force: true });
});

describe('overload', () => {
  it('answers 3,000 simultaneous calls with OK, RESOURCE_EXHAUSTED or DEADLINE_EXCEEDED, keeps health answering and memory bounded', async () => {
    const definition = loadPackageDefinition(loadSync(healthProtoPath, { enums: String })) as unknown as {
      grpc: { health: { v1: { Health: new (address: string, creds: ReturnType<typeof credentials.createInsecure>) => { Check(r: object, cb: (e: ServiceError | null, r?: { status: string }) => void): void; close(): void } } } };
    };
    const health = new definition.grpc.health.v1.Health(t.server.address, credentials.createInsecure());
    const request = { model_name: 'cnn', inputs: [wire(fp32('input', [1, 1, 28, 28], sampleValues(784, 3)))] };
    const samplesRun = () => t.server.registry.statistics('cnn').reduce((n, v) => n + v.inferenceCount, 0);
    const samplesBefore = samplesRun();
    const rssBefore = process.memoryUsage().rss;
    const counts: Record<string, number> = {};
    const started = performance.now();
    let healthChecks = 0;
    let done = false;
    const checking = (async () => {
      while (!done) {
        const status = await unary<{ status: string }>((cb) => health.Check({ service: 'cnn' }, cb));
        expect(status.status).toBe('SERVING');
        healthChecks++;
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    await Promise.all(
      Array.from({ length: 3000 }, (_, i) =>
        new Promise<void>((resolve) => {
          // Half the calls have a tight deadline, half a generous one.
          const deadline = Date.now() + (i % 2 === 0 ? 150 : 20_000);
          t.predictor.Predict(request, new Metadata(), { deadline }, (error: ServiceError | null) => {
            const name = error === null ? 'OK' : status[error.code]!;
            counts[name] = (counts[name] ?? 0) + 1;
            resolve();
          });
        }),
      ),
    );
    done = true;
    await checking;
    health.close();
    const seconds = (performance.now() - started) / 1000;
    console.info(`overload: 3000 calls in ${seconds.toFixed(1)} s: ${JSON.stringify(counts)}; ${healthChecks} health checks answered`);
    expect(counts['OK']).toBeGreaterThan(0);
    // What does not fit the queue (8 waiting, one instance) is refused rather than queued.
    expect(counts['RESOURCE_EXHAUSTED']).toBeGreaterThan(0);
    // Refused calls never ran: the model ran every answered call's sample, and beyond those only
    // calls whose deadline passed while they ran.
    const ran = samplesRun() - samplesBefore;
    expect(ran).toBeGreaterThanOrEqual(counts['OK']!);
    expect(ran).toBeLessThanOrEqual(counts['OK']! + (counts['DEADLINE_EXCEEDED'] ?? 0));
    expect(Object.keys(counts).every((k) => ['OK', 'RESOURCE_EXHAUSTED', 'DEADLINE_EXCEEDED'].includes(k))).toBe(true);
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(3000);
    // The checking loop runs at least once (it starts before the calls and is awaited), and every
    // check it made during the overload answered SERVING.
    expect(healthChecks).toBeGreaterThan(0);
    // Memory: 3,000 requests of 3 KiB each held at once would be ~9 MiB; allow generous slack.
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(256 * 1024 * 1024);
  }, 60_000);
});
