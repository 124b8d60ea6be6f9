import { describe, expect, it } from 'vitest';
import { LoadMeter, requestSecondsOf } from './load.js';

describe('requestSecondsOf', () => {
  it('sums modelserve_inference_request_duration_seconds_sum over every label set, and nothing else', () => {
    const text = [
      '# HELP modelserve_inference_request_duration_seconds Time of a request inside modelserve, from acceptance to answer.',
      '# TYPE modelserve_inference_request_duration_seconds histogram',
      'modelserve_inference_request_duration_seconds_bucket{le="0.005",model="a",version="1"} 3',
      'modelserve_inference_request_duration_seconds_sum{model="a",version="1"} 1.5',
      'modelserve_inference_request_duration_seconds_count{model="a",version="1"} 3',
      'modelserve_inference_request_duration_seconds_sum{model="b } c",version="2"} 2.25 1700000000000',
      'modelserve_inference_request_duration_seconds_sum 0.25',
      'modelserve_inference_request_duration_seconds_sum_other{model="a"} 100',
      'modelserve_inference_queue_duration_seconds_sum{model="a",version="1"} 100',
    ].join('\n');
    expect(requestSecondsOf(text)).toBe(4);
    expect(requestSecondsOf('')).toBe(0);
  });
});

describe('LoadMeter', () => {
  it("gives the counter's rate between readings: the mean requests in flight or queued (Little's law)", () => {
    const meter = new LoadMeter();
    expect(meter.read(10, 1000)).toBeUndefined();
    // 2 request-seconds in 0.5 s: 4 in flight on average.
    expect(meter.read(12, 1500)).toBe(4);
    expect(meter.read(12, 2500)).toBe(0);
    // A counter that went down (a restarted process) counts from 0.
    expect(meter.read(1, 3500)).toBe(1);
    // No time passed: no reading.
    expect(meter.read(2, 3500)).toBeUndefined();
  });
});
