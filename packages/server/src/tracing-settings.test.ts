import { status } from '@grpc/grpc-js';
import { ModelServeError } from '@modelserve/core';
import { describe, expect, it } from 'vitest';
import type { RequestTracing } from './tracing-hooks.js';
import { traceSetting } from './tracing-settings.js';

/** A tracer with only a ratio. */
function fakeTracing(ratio: number): RequestTracing {
  const tracing = { ratio, setRatio: (r: number) => void (tracing.ratio = r), startRequest: () => undefined };
  return tracing;
}

const request = (settings: Record<string, readonly string[]>, model_name = '') => ({ settings: Object.fromEntries(Object.entries(settings).map(([k, value]) => [k, { value: [...value] }])), model_name });
const values = (response: ReturnType<typeof traceSetting>) => Object.fromEntries(Object.entries(response.settings ?? {}).map(([k, v]) => [k, v.value]));

/** The status and details `body` fails with. */
function refusal(body: () => unknown): { code: number; details: string } {
  try {
    body();
  } catch (error) {
    if (error instanceof ModelServeError) return { code: error.code, details: error.details };
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('TraceSetting', () => {
  it('reads the settings that follow the ratio', () => {
    expect(values(traceSetting(fakeTracing(0), request({}), 0))).toEqual({ trace_rate: ['0'], trace_ratio: ['0'], trace_level: ['OFF'], trace_mode: ['opentelemetry'] });
    expect(values(traceSetting(fakeTracing(0.001), request({}), 0))).toEqual({ trace_rate: ['1000'], trace_ratio: ['0.001'], trace_level: ['TIMESTAMPS'], trace_mode: ['opentelemetry'] });
  });

  it('reads the server-wide settings for any model', () => {
    expect(values(traceSetting(fakeTracing(0.5), request({}, 'mnist_mlp'), 0)).trace_rate).toEqual(['2']);
  });

  it('sets one request in N with trace_rate, the ratio with trace_ratio, and answers the new settings', () => {
    const tracing = fakeTracing(0);
    expect(values(traceSetting(tracing, request({ trace_rate: ['100'] }), 0))).toMatchObject({ trace_rate: ['100'], trace_ratio: ['0.01'], trace_level: ['TIMESTAMPS'] });
    expect(tracing.ratio).toBe(0.01);
    traceSetting(tracing, request({ trace_ratio: ['0.25'] }), 0);
    expect(tracing.ratio).toBe(0.25);
    traceSetting(tracing, request({ trace_rate: ['0'] }), 0);
    expect(tracing.ratio).toBe(0);
  });

  it('puts the ratio back to the starting one for an empty value list', () => {
    const tracing = fakeTracing(1);
    traceSetting(tracing, request({ trace_rate: [] }), 0.1);
    expect(tracing.ratio).toBe(0.1);
  });

  it('refuses values that are not a rate or a ratio, saying what it expected, and changes nothing', () => {
    const tracing = fakeTracing(0.5);
    for (const [settings, message] of [
      [{ trace_rate: ['-1'] }, "'trace_rate' must be an integer ≥ 0 (one request in N sampled, 0 for none), got '-1'"],
      [{ trace_rate: ['often'] }, "got 'often'"],
      [{ trace_rate: ['2.5'] }, "got '2.5'"],
      [{ trace_ratio: ['1.5'] }, "'trace_ratio' must be a number from 0 to 1, got '1.5'"],
      [{ trace_ratio: [''] }, "got ''"],
      [{ trace_rate: ['1', '2'] }, "'trace_rate' takes one value, got 2"],
      [{ trace_rate: ['1'], trace_ratio: ['1'] }, 'send one of them'],
    ] as const) {
      const error = refusal(() => traceSetting(tracing, request(settings), 0));
      expect(error.code).toBe(status.INVALID_ARGUMENT);
      expect(error.details).toContain(message);
    }
    expect(tracing.ratio).toBe(0.5);
  });

  it('refuses unknown and read-only settings, naming the known ones', () => {
    const tracing = fakeTracing(0.5);
    expect(refusal(() => traceSetting(tracing, request({ trace_file: ['x'] }), 0))).toEqual({
      code: status.INVALID_ARGUMENT,
      details: "unknown trace setting 'trace_file': expected one of 'trace_rate', 'trace_ratio', 'trace_level', 'trace_mode'",
    });
    expect(refusal(() => traceSetting(tracing, request({ trace_level: ['TENSORS'] }), 0)).details).toContain("'trace_level' is read-only");
    expect(refusal(() => traceSetting(tracing, request({ trace_rate: ['1'] }, 'mnist_mlp'), 0)).code).toBe(status.UNIMPLEMENTED);
    expect(tracing.ratio).toBe(0.5);
  });

  it('is a failed precondition when tracing is off', () => {
    expect(refusal(() => traceSetting(undefined, request({}), 0))).toEqual({
      code: status.FAILED_PRECONDITION,
      details: 'tracing is off: start the server with --otlp-endpoint to trace requests and change trace settings',
    });
  });
});
