import { everyDatatype } from '@modelserve/core/testing';
import { describe, expect, it } from 'vitest';
import { decodeChunk, decodeRows, encodeChunk, encodeRows } from './chunk-codec.js';

describe('chunk codec', () => {
  it('keeps every datatype, shape and value of rows and results, and row errors, through bytes stored unaligned in a Buffer', () => {
    const tensors = Object.values(everyDatatype);
    const results = [{ row: 7, outputs: tensors }, { row: 8, error: 'input x: expected FP32, got INT8' }, { row: 9, outputs: tensors.slice(0, 1) }];
    // Stored bytes come back as a Buffer view at an odd offset of a bigger allocation (as SQLite and NATS answer).
    const stored = (bytes: Uint8Array): Buffer => Buffer.concat([Buffer.from([1, 2, 3]), bytes]).subarray(3);
    expect(decodeChunk(stored(encodeChunk(results)))).toEqual(results);
    expect(decodeRows(stored(encodeRows([tensors, tensors.slice(2)])))).toEqual([tensors, tensors.slice(2)]);
  });
});
