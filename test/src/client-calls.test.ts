/**
 * @modelserve/client's unary calls against real server processes on loopback ports: answers,
 * errors, cancellation and deadlines, hedging, and the model listing.
 */
import { status } from '@modelserve/client';
import { demoTinyMlp } from '@modelserve/model-zoo';
import { describe, expect, it } from 'vitest';
import { eventually } from './support/eventually.js';
import type { Replica } from './support/replicas.js';
import { allServing, client, input, replicasForFile, withHeld } from './support/sdk.js';
import { sampleValues } from './support/tensors.js';

let a: Replica, b: Replica;

replicasForFile([0, 0], (fleet) => {
  ({ replicas: [a, b] } = fleet);
});

describe('predict', () => {
  it('answers as the reference evaluator does, with typed outputs and the endpoint that answered', async () => {
    const remote = client({ endpoints: a.address });
    const x = sampleValues(8, 3);
    const result = await remote.predict('tiny_mlp', { input: { data: x, shape: [2, 4] } }, { id: 'r1' });
    expect(result).toMatchObject({ model: 'tiny_mlp', version: '1', id: 'r1', endpoint: a.address });
    const y = result.outputs['output']!;
    expect(y.datatype).toBe('FP32');
    expect(y.shape).toEqual([2, 3]);
    const expected = demoTinyMlp().forward(x, 2);
    (y.data as Float32Array).forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 5));
  });

  it('reports errors as ModelServeError with the code, details and endpoint', async () => {
    const remote = client({ endpoints: a.address });
    const error = await remote.predict('tiny_mlp', { input: { data: [1, 2, 3], shape: [1, 3] } }).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'ModelServeError', code: status.INVALID_ARGUMENT, codeName: 'INVALID_ARGUMENT', endpoint: a.address });
    expect((error as Error).message).toContain("input 'input'");
  });

  it('honours an AbortSignal and a deadline', async () => {
    // A replica that answers nothing until released: the abort and the deadline come first by construction.
    const held = await withHeld();
    const remote = client({ endpoints: held.address });
    const controller = new AbortController();
    const aborted = remote.predict('tiny_mlp', input(1), { signal: controller.signal }).catch((e: unknown) => e);
    await eventually(() => held.runs() === 1, 10_000, 'the call reached the model');
    controller.abort();
    expect(await aborted).toMatchObject({ code: status.CANCELLED });
    expect(await remote.predict('tiny_mlp', input(1), { timeoutMs: 10 }).catch((e: unknown) => e)).toMatchObject({ code: status.DEADLINE_EXCEEDED });
  });

  it('hedges: a second attempt on another replica answers when the first does not', async () => {
    const held = await withHeld();
    const hedged = client({ endpoints: [held.address, a.address], policy: 'round_robin', hedging: { delayMs: 5 } });
    await allServing(hedged, 2);
    // Every other first attempt goes to the held replica, which never answers while the calls run:
    // only the hedge to the other replica can answer them (without hedging they would hang until
    // their 30 s deadline).
    for (let i = 0; i < 6; i++) expect((await hedged.predict('tiny_mlp', input(i))).endpoint).toBe(a.address);
  });

  it('lists models and metadata', async () => {
    const remote = client({ endpoints: [a.address, b.address] });
    expect(await remote.models()).toEqual([{ name: 'tiny_mlp', defaultVersion: '1', versions: [{ version: '1', state: 'READY', reason: '' }] }]);
    expect(await remote.metadata('tiny_mlp')).toMatchObject({ name: 'tiny_mlp', version: '1', maxBatchSize: 8, inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 4] }] });
  });
});
