import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadPackageDefinition } from './load.js';
import {
  parsePredictRequest,
  parsePredictResponse,
  serializePredictRequest,
  serializePredictResponse,
  serializePredictStreamResponse,
  WireFormatError,
  type RawPredictRequest,
} from './predict-wire.js';

interface Method {
  requestSerialize(value: unknown): Buffer;
  requestDeserialize(bytes: Buffer): Record<string, unknown>;
  responseSerialize(value: unknown): Buffer;
  responseDeserialize(bytes: Buffer): Record<string, unknown>;
}
const predictor = loadPackageDefinition()['modelserve.v1.Predictor'] as unknown as Record<string, Method>;
const predict = predictor['Predict']!;
const predictStream = predictor['PredictStream']!;

const text = fc.string({ unit: 'grapheme', maxLength: 12 });
const dims = fc.array(fc.oneof(fc.integer({ min: 0, max: 4096 }), fc.integer({ min: 0, max: 2 ** 40 }), fc.integer({ min: -5, max: -1 })), { maxLength: 7 });
const rawTensor = fc.record({ name: text, datatype: text, shape: dims, raw_contents: fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)) });
const request: fc.Arbitrary<RawPredictRequest> = fc.record({
  model_name: text,
  model_version: text,
  id: text,
  inputs: fc.array(rawTensor, { maxLength: 4 }),
  outputs: fc.array(text, { maxLength: 3 }),
  output_format: fc.integer({ min: 0, max: 2 }),
  priority: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 2 ** 32 - 1 })),
});
const formats = ['OUTPUT_FORMAT_UNSPECIFIED', 'OUTPUT_FORMAT_TYPED', 'OUTPUT_FORMAT_RAW'];

describe('serializePredictRequest', () => {
  it('writes what proto-loader reads back as the same request (1,000 random requests)', () => {
    fc.assert(
      fc.property(request, (r) => {
        const read = predict.requestDeserialize(serializePredictRequest(r));
        expect(read).toMatchObject({
          model_name: r.model_name,
          model_version: r.model_version,
          id: r.id,
          outputs: r.outputs,
          output_format: formats[r.output_format],
          priority: r.priority,
        });
        const inputs = read['inputs'] as Array<Record<string, unknown>>;
        expect(inputs.map((t) => ({ name: t['name'], datatype: t['datatype'], shape: t['shape'], raw: [...(t['raw_contents'] as Buffer)] }))).toEqual(
          r.inputs.map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape.map(String), raw: [...t.raw_contents] })),
        );
      }),
      { numRuns: 1000, seed: 20261124 },
    );
  });

  it('writes the same bytes as protobufjs for a typical request', () => {
    const r: RawPredictRequest = {
      model_name: 'mnist_mlp',
      model_version: '2',
      id: 'req-1',
      inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 784], raw_contents: Buffer.alloc(784 * 4, 7) }],
      outputs: ['output'],
      output_format: 2,
      priority: 3,
    };
    expect(serializePredictRequest(r).equals(predict.requestSerialize({ ...r, output_format: 'OUTPUT_FORMAT_RAW' }))).toBe(true);
  });
});

describe('parsePredictResponse', () => {
  const response = fc.record({
    model_name: text,
    model_version: text,
    id: text,
    outputs: fc.array(fc.record({ name: text, datatype: text, shape: dims, raw_contents: fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)) }), { maxLength: 4 }),
    cached: fc.boolean(),
  });

  it('reads what protobufjs writes as proto-loader reads it, shape dims as numbers (1,000 random responses)', () => {
    fc.assert(
      fc.property(response, (r) => {
        const bytes = predict.responseSerialize(r);
        const expected = predict.responseDeserialize(bytes) as { outputs: Array<Record<string, unknown>> };
        const parsed = parsePredictResponse(bytes)!;
        expect(parsed).toEqual({
          ...expected,
          outputs: expected.outputs.map((t) => ({ ...t, shape: (t['shape'] as string[]).map(Number), contents: null })),
        });
      }),
      { numRuns: 1000, seed: 20261124 },
    );
  });

  it('skips fields it does not know', () => {
    // field 9 (varint), field 10 (fixed64), field 11 (bytes), field 12 (fixed32), then model_name.
    const unknown = Buffer.from([0x48, 0x96, 0x01, 0x51, 1, 2, 3, 4, 5, 6, 7, 8, 0x5a, 2, 0xff, 0xff, 0x65, 1, 2, 3, 4, 0x0a, 1, 0x6d]);
    expect(parsePredictResponse(unknown)).toEqual({ model_name: 'm', model_version: '', id: '', outputs: [], cached: false });
    // A group (field 9: start 0x4b, a varint inside, end 0x4c) is skipped as protobufjs skips it.
    const group = Buffer.from([0x4b, 0x08, 0x01, 0x4c, 0x0a, 1, 0x6d]);
    expect(parsePredictResponse(group)).toEqual(predict.responseDeserialize(group));
  });

  it('leaves responses with typed contents to proto-loader', () => {
    const bytes = predict.responseSerialize({ outputs: [{ name: 'y', datatype: 'FP32', shape: [1], contents: { fp32_contents: [1.5] } }] });
    expect(parsePredictResponse(bytes)).toBeUndefined();
  });

  it('refuses truncated and malformed bytes', () => {
    const bytes = predict.responseSerialize({ model_name: 'mnist_mlp', outputs: [{ name: 'y', datatype: 'FP32', shape: [1, 2], raw_contents: Buffer.alloc(8) }] });
    for (let cut = 1; cut < bytes.length; cut++) {
      const head = bytes.subarray(0, cut);
      // A cut on a field boundary is a valid shorter message; any other cut must throw.
      try {
        parsePredictResponse(head);
      } catch (error) {
        expect(error).toBeInstanceOf(WireFormatError);
      }
    }
    expect(() => parsePredictResponse(bytes.subarray(0, bytes.length - 1))).toThrow(/runs past the end/);
    expect(() => parsePredictResponse(Buffer.from([0x0b]))).toThrow(/group 1 has no end/);
    expect(() => parsePredictResponse(Buffer.from([0x0c]))).toThrow(/end of group 1 without its start/);
    expect(() => parsePredictResponse(Buffer.from([0x0f]))).toThrow(/unsupported wire type 7/);
    expect(() => parsePredictResponse(Buffer.from([0x08, 0xff]))).toThrow(/truncated varint/);
  });
});

describe('parsePredictRequest', () => {
  const wireRequest = fc.record({
    model_name: text,
    model_version: text,
    id: text,
    inputs: fc.array(rawTensor, { maxLength: 4 }),
    outputs: fc.array(text, { maxLength: 3 }),
    output_format: fc.constantFrom(...formats),
    priority: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 2 ** 32 - 1 })),
    timeout_us: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER })),
  });

  it('reads what protobufjs writes as proto-loader reads it, shape dims as numbers (1,000 random requests)', () => {
    fc.assert(
      fc.property(wireRequest, (r) => {
        const bytes = predict.requestSerialize(r);
        const expected = predict.requestDeserialize(bytes) as { inputs: Array<Record<string, unknown>> };
        expect(parsePredictRequest(bytes)).toEqual({
          ...expected,
          inputs: expected.inputs.map((t) => ({ ...t, shape: (t['shape'] as string[]).map(Number), contents: null })),
        });
      }),
      { numRuns: 1000, seed: 20261124 },
    );
  });

  it('leaves typed contents, unknown output formats and uint64 past 2^53 to proto-loader', () => {
    expect(parsePredictRequest(predict.requestSerialize({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1], contents: { fp32_contents: [1] } }] }))).toBeUndefined();
    expect(parsePredictRequest(Buffer.from([0x30, 0x07]))).toBeUndefined();
    expect(parsePredictRequest(predict.requestSerialize({ timeout_us: '18446744073709551615' }))).toBeUndefined();
  });
});

describe('serializePredictResponse', () => {
  it('writes what proto-loader reads back as the same response (1,000 random responses)', () => {
    const response = fc.record({ model_name: text, model_version: text, id: text, outputs: fc.array(rawTensor, { maxLength: 4 }), cached: fc.boolean() });
    fc.assert(
      fc.property(response, (r) => {
        const read = predict.responseDeserialize(serializePredictResponse({ ...r, outputs: r.outputs.map((t) => ({ ...t, contents: null })) })!) as { outputs: Array<Record<string, unknown>> };
        expect({ ...read, outputs: read.outputs.map((t) => ({ name: t['name'], datatype: t['datatype'], shape: (t['shape'] as string[]).map(Number), raw: [...(t['raw_contents'] as Buffer)] })) }).toEqual({
          model_name: r.model_name,
          model_version: r.model_version,
          id: r.id,
          outputs: r.outputs.map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape, raw: [...t.raw_contents] })),
          cached: r.cached,
        });
      }),
      { numRuns: 1000, seed: 20261124 },
    );
  });

  it('leaves typed contents to proto-loader', () => {
    expect(serializePredictResponse({ model_name: 'm', model_version: '1', id: '', outputs: [{ name: 'y', datatype: 'FP32', shape: [1], contents: { fp32_contents: [1] } }] })).toBeUndefined();
  });
});

describe('serializePredictStreamResponse', () => {
  it('writes what proto-loader writes for an answer carrying a response (1,000 random answers, empty responses included)', () => {
    const answer = fc.record({ id: text, response: fc.record({ model_name: text, model_version: text, id: text, outputs: fc.array(rawTensor, { maxLength: 3 }) }) });
    fc.assert(
      fc.property(answer, (a) => {
        const message = { id: a.id, response: { ...a.response, outputs: a.response.outputs.map((t) => ({ ...t, contents: null })) } };
        const ours = serializePredictStreamResponse(message)!;
        expect(predictStream.responseDeserialize(ours)).toEqual(predictStream.responseDeserialize(predictStream.responseSerialize(message)));
        expect(predictStream.responseDeserialize(ours)['result']).toBe('response');
      }),
      { numRuns: 1000, seed: 20261124 },
    );
  });

  it('leaves errors and typed contents to proto-loader', () => {
    expect(serializePredictStreamResponse({ id: 'a', error: { code: 3, message: 'bad' } })).toBeUndefined();
    const typed = { model_name: 'm', model_version: '1', id: '', outputs: [{ name: 'y', datatype: 'FP32', shape: [1], contents: { fp32_contents: [1] } }] };
    expect(serializePredictStreamResponse({ id: 'a', response: typed })).toBeUndefined();
  });
});
