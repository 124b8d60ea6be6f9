import { status } from '@grpc/grpc-js';
import type { PredictRequest__Output } from '@modelserve/proto';
import { afterEach, describe, expect, it } from 'vitest';
import { createClient, ModelServeClient, type ClientOptions } from './client.js';
import { answerOf, eventually, startServer, type TestServer } from './testing/servers.js';

const servers: TestServer[] = [];
const clients: ModelServeClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
  for (const s of servers.splice(0)) s.stop();
});

/** A Predict server that answers with `answer`, or fails with `fail`'s status; `calls` lists the tokens it saw. */
async function predictServer(options: { fail?: status } = {}): Promise<TestServer & { calls: string[] }> {
  const calls: string[] = [];
  const s = await startServer({
    predictor: {
      predict: (call, callback) => {
        calls.push(String(call.metadata.get('authorization')[0] ?? ''));
        const request = call.request as PredictRequest__Output;
        if (options.fail !== undefined) callback({ code: options.fail, details: 'replica draining' });
        else callback(null, answerOf(request, [42]));
      },
    },
  });
  servers.push(s);
  return Object.assign(s, { calls });
}

async function client(options: ClientOptions, serving: number): Promise<ModelServeClient> {
  const c = createClient(options);
  clients.push(c);
  await eventually(() => c.stats().endpoints.filter((e) => e.health === 'SERVING').length === serving, 10_000, `${serving} endpoints SERVING`);
  return c;
}

const input = { x: new Float32Array([1, 2]) };

describe('ModelServeClient', { timeout: 30_000 }, () => {
  it('shows the Predictor methods, stats, addresses and close, and none of its parts', () => {
    expect(Object.getOwnPropertyNames(ModelServeClient.prototype).sort()).toEqual(['addresses', 'close', 'constructor', 'metadata', 'models', 'predict', 'predictStream', 'stats']);
  });

  it('predicts, and retries a call that found a draining replica on the other one', async () => {
    const draining = await predictServer({ fail: status.UNAVAILABLE });
    const healthy = await predictServer();
    const c = await client({ endpoints: [draining.address, healthy.address], outlierDetection: false }, 2);
    const results = [];
    for (let i = 0; i < 6; i++) results.push(await c.predict('m', input, { id: String(i) }));
    expect(results.map((r) => [r.id, r.endpoint, Array.from(r.outputs['y']!.data as Float32Array)])).toEqual(
      Array.from({ length: 6 }, (_, i) => [String(i), healthy.address, [42]]),
    );
    expect(draining.calls.length).toBeGreaterThan(0);
    expect(c.stats()).toMatchObject({ retries: draining.calls.length, retriesRefused: 0 });
  });

  it('reports a failure it must not retry as it came, with the endpoint', async () => {
    const refusing = await predictServer({ fail: status.INVALID_ARGUMENT });
    const c = await client({ endpoints: refusing.address }, 1);
    expect(await c.predict('m', input).catch((e: unknown) => e)).toMatchObject({
      name: 'ModelServeError',
      code: status.INVALID_ARGUMENT,
      codeName: 'INVALID_ARGUMENT',
      details: 'replica draining',
      endpoint: refusing.address,
    });
    expect(refusing.calls.length).toBe(1);
  });

  it('sends the bearer token with every call', async () => {
    const s = await predictServer();
    const c = await client({ endpoints: [s.address], token: 's3cret' }, 1);
    await c.predict('m', input);
    await c.predict('m', input);
    expect(s.calls).toEqual(['Bearer s3cret', 'Bearer s3cret']);
  });

  it('answers CANCELLED once closed, and knows no endpoint any more', async () => {
    const s = await predictServer();
    const c = await client({ endpoints: [s.address] }, 1);
    expect(c.addresses).toEqual([s.address]);
    await c.close();
    expect(await c.predict('m', input).catch((e: unknown) => e)).toMatchObject({ code: status.CANCELLED, details: 'the client is closed' });
    expect(c.addresses).toEqual([]);
  });
});
