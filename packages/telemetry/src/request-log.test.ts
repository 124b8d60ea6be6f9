import type { InferenceRequest, Logger } from '@modelserve/core';
import { mulberry32 } from '@modelserve/model-zoo';
import { describe, expect, it } from 'vitest';
import { RequestLog, type RequestRecord } from './request-log.js';

function capture(): { logger: Logger; records: RequestRecord[] } {
  const records: RequestRecord[] = [];
  const keep = (fields: object, message: string): void => {
    if (message === 'request') records.push((fields as { request: RequestRecord }).request);
  };
  return { logger: { info: keep, warn: keep, error: keep }, records };
}

const request: InferenceRequest = {
  model: 'm',
  id: 'r',
  inputs: [
    { name: 'ids', datatype: 'INT64', shape: [1, 2], data: BigInt64Array.from([9007199254740993n, -1n]) },
    { name: 'text', datatype: 'BYTES', shape: [1], data: [Buffer.from('hé')] },
  ],
};

describe('RequestLog', () => {
  it('logs about sampleRate of the requests (within 6 standard deviations of the binomial mean)', () => {
    const { logger, records } = capture();
    const log = new RequestLog({ sampleRate: 0.1, logger, random: mulberry32(7) });
    const n = 20_000;
    for (let i = 0; i < n; i++) log.finished(request, 1, 'OK', 0.001);
    log.flush();
    const sigma = Math.sqrt(n * 0.1 * 0.9);
    expect(Math.abs(records.length - n * 0.1)).toBeLessThan(6 * sigma);
  });

  it('writes values exactly: 64-bit integers as decimal strings, BYTES as base64', () => {
    const { logger, records } = capture();
    const log = new RequestLog({ sampleRate: 1, payloads: 'full', logger });
    log.finished(request, 3, 'DeadlineExceeded', 0.0125);
    expect(records).toHaveLength(0); // written in a later turn, off the request's path
    log.flush();
    expect(records).toEqual([
      {
        model: 'm',
        version: 3,
        id: 'r',
        status: 'DEADLINE_EXCEEDED',
        durationMs: 12.5,
        inputs: [
          { name: 'ids', datatype: 'INT64', shape: [1, 2], values: ['9007199254740993', '-1'] },
          { name: 'text', datatype: 'BYTES', shape: [1], values: [Buffer.from('hé').toString('base64')] },
        ],
      },
    ]);
  });

  it('holds at most maxPending records and counts the ones it drops; refuses a rate outside 0..1', () => {
    const { logger, records } = capture();
    const log = new RequestLog({ sampleRate: 1, logger, maxPending: 3 });
    for (let i = 0; i < 5; i++) log.finished(request, undefined, 'NotFound', 0);
    log.flush();
    expect(records).toHaveLength(3);
    expect(records[0]).toMatchObject({ version: null, status: 'NOT_FOUND' });
    expect(log.dropped).toBe(2);
    expect(() => new RequestLog({ sampleRate: 1.5, logger })).toThrow('request log sample rate: expected a number from 0 to 1, got 1.5');
  });
});
