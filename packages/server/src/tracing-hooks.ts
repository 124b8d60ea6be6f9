/**
 * What the server asks of a tracer, so it need not import one: `@modelserve/telemetry`'s `Tracing`
 * meets these interfaces. Spans start in the server's own dispatch (inference-calls.ts), which
 * both transports go through, so calls answered on the fast path are traced as well.
 */
import { ModelServeError, type RequestTrace } from '@modelserve/core';
import { TensorCodecError } from '@modelserve/proto';

/** A sampled request's span. */
export interface RequestSpan {
  /** Handed to core as the request's `trace`; the scheduler fills in its queue and run times. */
  readonly trace: RequestTrace;
  /** Ends the span once the answer is ready: the model, the version that answered (if known), the gRPC status name (`OK`, `NOT_FOUND`, …). */
  end(model: string | undefined, version: number | undefined, statusName: string): void;
}

/** The tracer of inference requests, and its sampling ratio (read and changed by TraceSetting). */
export interface RequestTracing {
  /**
   * The span of a request arriving now on `method` (`modelserve.v1.Predictor/Predict`), continuing
   * the W3C `traceparent` (and `tracestate`) of its call; undefined when it is not sampled.
   */
  startRequest(method: string, traceparent: string | undefined, tracestate: string | undefined): RequestSpan | undefined;
  /** The ratio (0 to 1) of requests without a caller's `traceparent` that are sampled. */
  readonly ratio: number;
  /** Changes that ratio. */
  setRatio(ratio: number): void;
}

/** Where a call's requests come from, read once per call: the method and the caller's trace headers. */
export interface TraceOrigin {
  method: string;
  traceparent: string | undefined;
  tracestate: string | undefined;
}

/**
 * The gRPC status name a failure is answered with: what `callStatusOf` (status.ts) answers, without
 * its logging (the answer logs it once).
 */
export function statusNameOf(error: unknown): string {
  if (error instanceof TensorCodecError) return 'INVALID_ARGUMENT';
  if (error instanceof ModelServeError) return error.codeName;
  return 'INTERNAL';
}
