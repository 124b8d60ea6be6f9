import { describe, expect, it } from 'vitest';
import { fp16ToNumbers, fromDecodedTensor, numbersToFp16, toDecodedTensor } from './tensors.js';
import { parseDnsTarget } from './resolvers.js';

describe('inputs', () => {
  it('infers datatypes from typed arrays and plain arrays', () => {
    expect(toDecodedTensor('x', Float32Array.of(1, 2))).toMatchObject({ datatype: 'FP32', shape: [2] });
    expect(toDecodedTensor('x', BigInt64Array.of(1n))).toMatchObject({ datatype: 'INT64', shape: [1] });
    expect(toDecodedTensor('x', { data: [1, 2, 3, 4], shape: [2, 2] })).toMatchObject({ datatype: 'FP32', shape: [2, 2], data: Float32Array.of(1, 2, 3, 4) });
    expect(toDecodedTensor('x', { data: [true, false], shape: [2] })).toMatchObject({ datatype: 'BOOL', data: Uint8Array.of(1, 0) });
    expect(toDecodedTensor('x', { data: ['hé'], shape: [1] })).toMatchObject({ datatype: 'BYTES', data: [Uint8Array.of(0x68, 0xc3, 0xa9)] });
    expect(toDecodedTensor('x', { data: [1, 2], shape: [2], datatype: 'INT64' })).toMatchObject({ data: BigInt64Array.of(1n, 2n) });
    expect(toDecodedTensor('x', { data: [1, -2], shape: [2], datatype: 'FP16' }).data).toEqual(Uint16Array.of(0x3c00, 0xc000));
  });

  it('says what is wrong with an input', () => {
    expect(() => toDecodedTensor('x', { data: [1, 2, 3], shape: [2, 2] })).toThrow("input 'x': 3 values for shape [2,2], expected 4");
    expect(() => toDecodedTensor('x', { data: [1.5], shape: [1], datatype: 'INT64' })).toThrow("input 'x': element 0 is 1.5, expected an integer from -9223372036854775808 to 9223372036854775807 (INT64");
  });
});

describe('outputs', () => {
  it('gives BYTES as strings and FP16 as bits with a helper', () => {
    expect(fromDecodedTensor({ name: 'y', datatype: 'BYTES', shape: [1], data: [new TextEncoder().encode('ok')] }).data).toEqual(['ok']);
    expect([...fp16ToNumbers(numbersToFp16([1.5, -0.25]))]).toEqual([1.5, -0.25]);
  });
});

describe('dns targets', () => {
  it('parses dns:///host:port and dns:host:port, IPv6 included', () => {
    expect(parseDnsTarget('dns:///models.svc:8001')).toEqual({ host: 'models.svc', port: 8001 });
    expect(parseDnsTarget('dns:localhost:9000')).toEqual({ host: 'localhost', port: 9000 });
    expect(parseDnsTarget('dns:///[::1]:8001')).toEqual({ host: '::1', port: 8001 });
    expect(parseDnsTarget('127.0.0.1:8001')).toBeUndefined();
  });
});
