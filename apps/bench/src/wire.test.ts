import { loadPackageDefinition } from '@modelserve/proto';
import { describe, expect, it } from 'vitest';
import { appendRequestId, readStreamResponse } from './wire.js';

type Codec = { requestSerialize: (v: unknown) => Buffer; requestDeserialize: (b: Buffer) => { id: string; model_name: string; inputs: Array<{ raw_contents: Buffer }> }; responseSerialize: (v: unknown) => Buffer };
const predictor = loadPackageDefinition()['modelserve.v1.Predictor'] as unknown as Record<'Predict' | 'PredictStream', Codec>;

describe('the load workers’ protobuf shortcuts', () => {
  it('append an id that protobuf reads as the request id, leaving the rest intact', () => {
    const raw = Buffer.alloc(3136, 7);
    const encoded = predictor.Predict.requestSerialize({ model_name: 'mnist_mlp', inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 784], raw_contents: raw }] });
    for (const id of ['0', '12345', 'x'.repeat(200)]) {
      const decoded = predictor.PredictStream.requestDeserialize(appendRequestId(encoded, id));
      expect(decoded.id).toBe(id);
      expect(decoded.model_name).toBe('mnist_mlp');
      expect(decoded.inputs[0]!.raw_contents.equals(raw)).toBe(true);
    }
  });

  it('read a stream response’s id and whether it carries outputs', () => {
    const response = predictor.PredictStream.responseSerialize({
      id: '42',
      response: { model_name: 'mnist_mlp', id: '42', outputs: [{ name: 'output', datatype: 'FP32', shape: [1, 10], raw_contents: Buffer.alloc(40) }] },
    });
    expect(readStreamResponse(response)).toEqual({ id: '42', ok: true });
  });

  it('read an in-band error’s status code', () => {
    const response = predictor.PredictStream.responseSerialize({ id: '7', error: { code: 8, message: 'queue full' } });
    expect(readStreamResponse(response)).toEqual({ id: '7', ok: false, errorCode: 8 });
  });
});
