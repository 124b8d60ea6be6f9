import { status } from '@grpc/grpc-js';
import { demoMlp } from '@modelserve/model-zoo';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureRepository } from './support/fixtures.js';
import { startTestServer, type TestServer } from './support/server.js';
import { eventually } from './support/eventually.js';
import { collect } from './support/stream.js';
import { decoded, fp32, maxAbsDiff, sampleValues, wire } from './support/tensors.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({ modelRepository: await fixtureRepository() });
});
afterAll(() => t.close());

/** Request i: alternating versions, batch sizes 1..4, inputs that depend on i. */
function request(i: number) {
  const version = (i % 2) + 1;
  const batch = (i % 4) + 1;
  const x = sampleValues(batch * 784, i + 1);
  return { version, batch, x, message: { id: String(i), model_name: 'mnist_mlp', model_version: String(version), inputs: [wire(fp32('input', [batch, 784], x))] } };
}

describe('PredictStream', () => {
  it('answers every request exactly once, correlated by id, with correct outputs', async () => {
    const call = t.predictor.PredictStream();
    const done = collect(call);
    const sent = Array.from({ length: 300 }, (_, i) => request(i));
    for (const r of sent) call.write(r.message);
    call.end();
    const { responses, error } = await done;
    expect(error).toBeUndefined();
    expect(responses.map((r) => r.id).sort()).toEqual(sent.map((r) => r.message.id).sort());
    for (const response of responses) {
      const r = sent[Number(response.id)]!;
      expect(response.result).toBe('response');
      expect(response.response?.model_version).toBe(String(r.version));
      const y = decoded(response.response!.outputs[0]!);
      expect(y.shape).toEqual([r.batch, 10]);
      expect(maxAbsDiff(y.data as Float32Array, demoMlp(r.version as 1 | 2).forward(r.x, r.batch))).toBeLessThan(1e-5);
    }
  });

  it('answers a bad request in-band and goes on', async () => {
    const call = t.predictor.PredictStream();
    const done = collect(call);
    call.write(request(0).message);
    call.write({ id: 'bad', model_name: 'mnist_mlp', inputs: [wire(fp32('input', [1, 780], new Float32Array(780)))] });
    call.write({ id: 'missing', model_name: 'no_such_model', inputs: [] });
    call.write(request(1).message);
    call.end();
    const { responses, error } = await done;
    expect(error).toBeUndefined();
    const byId = new Map(responses.map((r) => [r.id, r]));
    expect(byId.size).toBe(4);
    expect(byId.get('bad')).toMatchObject({
      result: 'error',
      error: { code: status.INVALID_ARGUMENT, message: "model 'mnist_mlp' version 2 input 'input': dimension 1 is 780, expected 784 (shape [-1,784], got [1,780])" },
    });
    expect(byId.get('missing')).toMatchObject({ result: 'error', error: { code: status.NOT_FOUND } });
    expect(byId.get('0')?.result).toBe('response');
    expect(byId.get('1')?.result).toBe('response');
  });

  it('finishes in-flight requests after the client half-closes, then ends with OK', async () => {
    const call = t.predictor.PredictStream();
    let statusCode: number | undefined;
    call.on('status', (s) => (statusCode = s.code));
    const done = collect(call);
    for (let i = 0; i < 50; i++) call.write(request(i).message);
    call.end();
    const { responses, error } = await done;
    expect(error).toBeUndefined();
    expect(responses).toHaveLength(50);
    await new Promise((r) => setImmediate(r));
    expect(statusCode).toBe(status.OK);
  });

  it('ends at once with OK when the client half-closes an idle stream', async () => {
    const call = t.predictor.PredictStream();
    const done = collect(call);
    call.end();
    expect(await done).toEqual({ responses: [], error: undefined });
  });
});

describe('PredictStream while the server drains', () => {
  // Long enough that ending before it shows the drain did not wait for it, whatever the machine's load.
  const graceMs = 20_000;

  it('answers what it accepted, reads nothing more, ends with UNAVAILABLE, and lets the server exit before the grace period', async () => {
    const slow = await startTestServer({ modelRepository: await fixtureRepository(), inferenceDelayMs: 300 });
    try {
      const call = slow.predictor.PredictStream();
      const done = collect(call);
      const answered = () => slow.server.registry.statistics('mnist_mlp').reduce((n, v) => n + v.requestCount, 0);
      const before = answered();
      for (let i = 0; i < 5; i++) call.write(request(i).message);
      // The five are accepted: each is counted once its run is done, before the 300 ms the server adds.
      await eventually(() => answered() === before + 5);
      const started = Date.now();
      const closed = slow.server.close(graceMs);
      for (let i = 5; i < 8; i++) call.write(request(i).message); // after the drain began: never accepted
      const { responses, error } = await done;
      expect(responses.map((r) => [r.id, r.result]).sort()).toEqual(['0', '1', '2', '3', '4'].map((id) => [id, 'response']));
      expect(error).toMatchObject({ code: status.UNAVAILABLE });
      expect((error as Error).message).toMatch(/server is draining: every accepted request of this stream was answered/);
      await closed;
      // Closed once the accepted requests were answered, not when the grace period ran out.
      expect(Date.now() - started).toBeLessThan(graceMs);
    } finally {
      await slow.close();
    }
  }, 2 * graceMs);

  it('ends an idle stream with UNAVAILABLE at once', async () => {
    const idle = await startTestServer({ modelRepository: await fixtureRepository() });
    try {
      const call = idle.predictor.PredictStream();
      const done = collect(call);
      // Open on the server for sure: one request answered, then nothing in flight.
      const answered = new Promise((resolve) => call.once('data', resolve));
      call.write(request(0).message);
      await answered;
      const started = Date.now();
      await idle.server.close(graceMs);
      expect(await done).toMatchObject({ responses: [{ id: '0', result: 'response' }], error: { code: status.UNAVAILABLE } });
      // At once: not after the grace period.
      expect(Date.now() - started).toBeLessThan(graceMs);
    } finally {
      await idle.close();
    }
  }, 2 * graceMs);
});
