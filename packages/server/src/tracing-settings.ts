/**
 * The Open Inference Protocol's `TraceSetting` over modelserve's tracing: one sampling ratio for
 * the whole server (a caller's sampled `traceparent` is always continued; the ratio is the share of
 * requests without one that the server samples itself).
 *
 * Settings, each a list of one string:
 * - `trace_rate`: Triton's meaning, one request in N sampled: an integer ≥ 0, 0 for none (ratio
 *   0, 1/N otherwise). Read back as the nearest integer to 1/ratio, so read `trace_ratio` for the
 *   exact value.
 * - `trace_ratio`: the ratio itself, a number from 0 to 1.
 * - `trace_level` (read-only): `OFF` when the ratio is 0, `TIMESTAMPS` otherwise (spans carry
 *   times, never tensors).
 * - `trace_mode` (read-only): `opentelemetry`.
 * An empty list (Triton's "clear") puts the ratio back to the one the server started with.
 */
import { ModelServeError } from '@modelserve/core';
import type { oip } from '@modelserve/proto';
import type { RequestTracing } from './tracing-hooks.js';

/** Settings that can be changed. */
const writable = ['trace_rate', 'trace_ratio'] as const;
/** Settings reported and not changed (they follow the ratio). */
const readOnly = ['trace_level', 'trace_mode'] as const;
const known: readonly string[] = [...writable, ...readOnly];

/** The current settings, as TraceSetting answers them. */
export function traceSettingsOf(tracing: RequestTracing): oip.TraceSettingResponse {
  const ratio = tracing.ratio;
  const value = (v: string) => ({ value: [v] });
  return {
    settings: {
      trace_rate: value(ratio === 0 ? '0' : String(Math.round(1 / ratio))),
      trace_ratio: value(String(ratio)),
      trace_level: value(ratio === 0 ? 'OFF' : 'TIMESTAMPS'),
      trace_mode: value('opentelemetry'),
    },
  };
}

/**
 * Answers one TraceSetting request: with no settings, the current ones; else, after checking every
 * setting (INVALID_ARGUMENT naming what was expected, nothing changed), the ratio they ask for
 * and the settings that follow. `startRatio` is what an empty list goes back to.
 */
export function traceSetting(tracing: RequestTracing | undefined, request: oip.TraceSettingRequest__Output, startRatio: number): oip.TraceSettingResponse {
  if (tracing === undefined) throw new ModelServeError('FailedPrecondition', 'tracing is off: start the server with --otlp-endpoint to trace requests and change trace settings');
  const entries = Object.entries(request.settings);
  if (entries.length === 0) return traceSettingsOf(tracing);
  if (request.model_name !== '') {
    throw new ModelServeError('Unimplemented', `trace settings are server-wide: modelserve does not keep settings for model '${request.model_name}'; send an empty model_name`);
  }
  const ratios = new Map<string, number>();
  for (const [key, { value }] of entries) {
    if ((readOnly as readonly string[]).includes(key)) {
      throw new ModelServeError('InvalidArgument', `trace setting '${key}' is read-only (it follows the sampling ratio); set ${writable.map((k) => `'${k}'`).join(' or ')}`);
    }
    if (!(writable as readonly string[]).includes(key)) {
      throw new ModelServeError('InvalidArgument', `unknown trace setting '${key}': expected one of ${known.map((k) => `'${k}'`).join(', ')}`);
    }
    ratios.set(key, value.length === 0 ? startRatio : ratioOf(key, value));
  }
  if (ratios.size > 1) throw new ModelServeError('InvalidArgument', `trace settings 'trace_rate' and 'trace_ratio' both set the sampling ratio: send one of them`);
  const [ratio] = ratios.values();
  tracing.setRatio(ratio!);
  return traceSettingsOf(tracing);
}

/** The ratio one `trace_rate` or `trace_ratio` value asks for. */
function ratioOf(key: string, value: readonly string[]): number {
  if (value.length !== 1) throw new ModelServeError('InvalidArgument', `trace setting '${key}' takes one value, got ${value.length}: ${JSON.stringify(value)}`);
  const text = value[0]!.trim();
  if (key === 'trace_rate') {
    if (!/^\d+$/.test(text)) throw new ModelServeError('InvalidArgument', `trace setting 'trace_rate' must be an integer ≥ 0 (one request in N sampled, 0 for none), got '${value[0]}'`);
    const rate = Number(text);
    return rate === 0 ? 0 : 1 / rate;
  }
  const ratio = text === '' ? Number.NaN : Number(text);
  if (!(ratio >= 0 && ratio <= 1)) throw new ModelServeError('InvalidArgument', `trace setting 'trace_ratio' must be a number from 0 to 1, got '${value[0]}'`);
  return ratio;
}
