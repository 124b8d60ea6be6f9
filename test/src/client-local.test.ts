/**
 * @modelserve/client's in-process twin (@modelserve/client/local) against the remote client on a
 * real server: every datatype, and the same answers for the demo models.
 */
import { bundledRepository } from '@modelserve/cli';
import { createLocalPredictor } from '@modelserve/client/local';
import { afterAll, describe, expect, it } from 'vitest';
import { client, closeAll, input } from './support/sdk.js';
import { startTestServer } from './support/server.js';
import { sampleValues } from './support/tensors.js';

afterAll(closeAll);

describe('datatypes through the SDK', () => {
  it('sends and receives every datatype exactly, remote and in-process alike', async () => {
    const server = await startTestServer({ modelRepository: bundledRepository });
    const local = await createLocalPredictor({ modelRepository: bundledRepository });
    const remote = client({ endpoints: server.server.address });
    const sent = {
      in_bool: { data: [true, false], datatype: 'BOOL' as const },
      in_uint8: Uint8Array.of(0, 255),
      in_uint16: Uint16Array.of(0, 65535),
      in_uint32: Uint32Array.of(0, 2 ** 32 - 1),
      in_uint64: BigUint64Array.of(0n, 2n ** 64n - 1n),
      in_int8: Int8Array.of(-128, 127),
      in_int16: Int16Array.of(-32768, 32767),
      in_int32: Int32Array.of(-(2 ** 31), 2 ** 31 - 1),
      in_int64: BigInt64Array.of(-(2n ** 63n), 2n ** 63n - 1n),
      in_float16: { data: Uint16Array.of(0x3c00, 0xc000), datatype: 'FP16' as const },
      in_float32: { data: Float32Array.of(1.5, -2.25), shape: [2] },
      in_float64: Float64Array.of(Math.PI, -0),
      in_string: { data: ['hé', ''], shape: [2] },
    };
    const expected = {
      out_bool: { datatype: 'BOOL', shape: [2], data: Uint8Array.of(1, 0) },
      out_uint8: { datatype: 'UINT8', shape: [2], data: Uint8Array.of(0, 255) },
      out_uint16: { datatype: 'UINT16', shape: [2], data: Uint16Array.of(0, 65535) },
      out_uint32: { datatype: 'UINT32', shape: [2], data: Uint32Array.of(0, 2 ** 32 - 1) },
      out_uint64: { datatype: 'UINT64', shape: [2], data: BigUint64Array.of(0n, 2n ** 64n - 1n) },
      out_int8: { datatype: 'INT8', shape: [2], data: Int8Array.of(-128, 127) },
      out_int16: { datatype: 'INT16', shape: [2], data: Int16Array.of(-32768, 32767) },
      out_int32: { datatype: 'INT32', shape: [2], data: Int32Array.of(-(2 ** 31), 2 ** 31 - 1) },
      out_int64: { datatype: 'INT64', shape: [2], data: BigInt64Array.of(-(2n ** 63n), 2n ** 63n - 1n) },
      out_float16: { datatype: 'FP16', shape: [2], data: Uint16Array.of(0x3c00, 0xc000) },
      out_float32: { datatype: 'FP32', shape: [2], data: Float32Array.of(1.5, -2.25) },
      out_float64: { datatype: 'FP64', shape: [2], data: Float64Array.of(Math.PI, -0) },
      out_string: { datatype: 'BYTES', shape: [2], data: ['hé', ''] },
    };
    try {
      for (const predictor of [remote, local]) {
        const { outputs } = await predictor.predict('datatypes', sent);
        expect(Object.keys(outputs).sort()).toEqual(Object.keys(expected).sort());
        for (const [name, tensor] of Object.entries(expected)) expect(outputs[name], name).toEqual(tensor);
        expect(Object.is((outputs['out_float64']!.data as Float64Array)[1], -0)).toBe(true);
      }
    } finally {
      await local.close();
      await server.close();
    }
  }, 60_000);
});

describe('the in-process twin', () => {
  it('gives the same outputs as the remote client for the demo models', async () => {
    const server = await startTestServer({ modelRepository: bundledRepository });
    const local = await createLocalPredictor({ modelRepository: bundledRepository });
    const remote = client({ endpoints: server.server.address });
    try {
      expect(await local.models()).toEqual(await remote.models());
      const cases = [
        { model: 'mnist_mlp', inputs: { input: { data: sampleValues(2 * 784, 5), shape: [2, 784] } } },
        { model: 'mnist_cnn', inputs: { input: { data: sampleValues(784, 6), shape: [1, 1, 28, 28] } } },
        { model: 'tiny_mlp', inputs: { input: { data: [5.1, 3.5, 1.4, 0.2], shape: [1, 4] } } },
      ];
      for (const { model, inputs } of cases) {
        const [l, r] = await Promise.all([local.predict(model, inputs, { id: 'x' }), remote.predict(model, inputs, { id: 'x' })]);
        expect({ ...l, endpoint: '' }).toEqual({ ...r, endpoint: '' });
        expect(await local.metadata(model)).toEqual(await remote.metadata(model));
      }
      const localStream: string[] = [];
      for await (const result of local.predictStream('tiny_mlp', [{ inputs: input(1) }, { id: 'bad', inputs: { nope: { data: [1], shape: [1] } } }])) localStream.push(`${result.id}:${result.ok}`);
      expect(localStream.sort()).toEqual(['0:true', 'bad:false']);
    } finally {
      await local.close();
      await server.close();
    }
  }, 60_000);
});
