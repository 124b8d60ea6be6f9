/**
 * Sampled request records (`requestLog`, `--request-log-sample`): every sampled request is logged
 * once with its model, version, status and time, its inputs' digests match their bytes, and no
 * record carries the call's metadata (its bearer token).
 */
import { Metadata } from '@grpc/grpc-js';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from './support/eventually.js';
import { fixtureRepository } from './support/fixtures.js';
import { failure, startTestServer, unary, type TestServer } from './support/server.js';
import { fp32, sampleValues, wire } from './support/tensors.js';

const token = 'secret-inference-token-7f3a';
const lines: Array<{ fields: object; message: string }> = [];
const logger = {
  info: (fields: object, message: string) => void lines.push({ fields, message }),
  warn: (fields: object, message: string) => void lines.push({ fields, message }),
  error: (fields: object, message: string) => void lines.push({ fields, message }),
};

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({ modelRepository: await fixtureRepository(), logger, auth: { inferenceToken: token }, requestLog: { sampleRate: 1, payloads: 'digest' } });
});
afterAll(() => t.close());

type Logged = { request: { model: string; version: number | null; id: string; status: string; durationMs: number; inputs: Array<{ name: string; shape: number[]; sha256: string }> } };

describe('request log', () => {
  it('logs each request once with its status and input digests, and never the token', async () => {
    const metadata = new Metadata();
    metadata.set('authorization', `Bearer ${token}`);
    const x = sampleValues(2 * 784, 5);
    await unary((cb) => t.predictor.Predict({ id: 'ok-1', model_name: 'mnist_mlp', model_version: '1', inputs: [wire(fp32('input', [2, 784], x))] }, metadata, cb));
    await failure(unary((cb) => t.predictor.Predict({ id: 'bad-1', model_name: 'mnist_mlp', model_version: '1', inputs: [wire(fp32('input', [1, 780], sampleValues(780)))] }, metadata, cb)));
    const records = (): Logged['request'][] => lines.filter((l) => l.message === 'request').map((l) => (l.fields as Logged).request);
    await eventually(() => records().length >= 2, 10_000, 'two request records');
    const byId = new Map(records().map((r) => [r.id, r]));
    expect(records()).toHaveLength(2);
    expect(byId.get('ok-1')).toMatchObject({ model: 'mnist_mlp', version: 1, status: 'OK', inputs: [{ name: 'input', shape: [2, 784], sha256: createHash('sha256').update(Buffer.from(x.buffer, x.byteOffset, x.byteLength)).digest('hex') }] });
    expect(byId.get('bad-1')).toMatchObject({ model: 'mnist_mlp', version: 1, status: 'INVALID_ARGUMENT' });
    expect(byId.get('ok-1')!.durationMs).toBeGreaterThan(0);
    expect(JSON.stringify(lines)).not.toContain(token);
  });
});
