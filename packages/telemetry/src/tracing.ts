/**
 * OpenTelemetry traces of inference requests (issue 17). The server starts a span per request in
 * its own dispatch (so the fast path is traced too) and hands core a `RequestTrace`; core's batcher
 * fills in when the request was queued and which run served it, and tells the version's observer
 * when a run that served traced requests ended. From those this file makes, per request, a server
 * span with `queue` and `compute` children, and per run a `run` span linked to every request span
 * it served. Spans go to an OTLP/HTTP endpoint (JSON) or, in tests, to any exporter.
 *
 * Sampling is ParentBased(TraceIdRatio(ratio)): a caller's `traceparent` decides for its request,
 * and the server samples `ratio` of the requests that carry none. The ratio changes at run time
 * (the Open Inference Protocol's TraceSetting). With ratio 0 and no `traceparent`, `startRequest`
 * creates nothing at all.
 */
import {
  defaultTextMapGetter,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  trace,
  type Attributes,
  type Context,
  type Link,
  type Span,
  type SpanContext,
  type Tracer,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  ParentBasedSampler,
  SamplingDecision,
  SimpleSpanProcessor,
  TraceIdRatioBasedSampler,
  type Sampler,
  type SamplingResult,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import type { InferenceObserver, RequestTrace, RunTrace, VersionObserver } from '@modelserve/core';
import { Code, errorCodes, statusNameOf } from '@modelserve/core/errors';

/** Options of `Tracing`; spans need somewhere to go: `otlpEndpoint`, `exporter`, or both. */
export interface TracingOptions {
  /** The resource's `service.name`. Default `modelserve`. */
  serviceName?: string;
  /** The resource's `service.version`. Default: none. */
  serviceVersion?: string;
  /** Fraction (0 to 1) of the requests without a caller's `traceparent` that are sampled. Default 0: only those the caller sampled. */
  ratio?: number;
  /** OTLP/HTTP traces URL, e.g. `http://127.0.0.1:4318/v1/traces`: spans are sent in batches, as JSON. */
  otlpEndpoint?: string;
  /** HTTP headers of every OTLP export (e.g. an authorization token). Default none. */
  otlpHeaders?: Record<string, string>;
  /** An exporter handed each span as it ends (tests: `InMemorySpanExporter`). */
  exporter?: SpanExporter;
}

/** A sampled request's span: the trace to hand core, and the call that ends the span once the answer is ready. */
export interface TracedRequest {
  /** Set it as the core request's `trace`; the batcher fills in its queue and run times. */
  readonly trace: RequestTrace;
  /** Ends the span with the request's model, the version that answered (if known), and its gRPC status name (`OK`, `NOT_FOUND`, …). */
  end(model: string | undefined, version: number | undefined, statusName: string): void;
}

/** Span and attribute names, in one place. */
export const spanNames = { queue: 'queue', compute: 'compute', run: 'run' } as const;
export const attributeNames = {
  model: 'modelserve.model',
  version: 'modelserve.version',
  batchSize: 'modelserve.batch_size',
  /** On a run span: how many traced requests it served (its links). */
  tracedRequests: 'modelserve.traced_requests',
  /** The gRPC status by name (`OK`, `INVALID_ARGUMENT`); `rpc.grpc.status_code` holds its number. */
  status: 'modelserve.status',
  statusCode: 'rpc.grpc.status_code',
} as const;

/** gRPC statuses a server span reports as errors (OpenTelemetry's semantic conventions for gRPC servers); the rest are the caller's doing. */
const serverErrorStatuses: ReadonlySet<string> = new Set(['UNKNOWN', 'DEADLINE_EXCEEDED', 'UNIMPLEMENTED', 'INTERNAL', 'UNAVAILABLE', 'DATA_LOSS']);
const statusCodes = new Map<string, number>([['OK', 0], ...errorCodes.map((code): [string, number] => [statusNameOf(code), Code[code]])]);

/** A ratio between 0 and 1, else a RangeError saying what was got. */
function checkedRatio(ratio: number): number {
  if (!Number.isFinite(ratio) || ratio < 0 || ratio > 1) throw new RangeError(`a sampling ratio must be a number from 0 to 1, got ${ratio}`);
  return ratio;
}

/**
 * ParentBased(TraceIdRatio(ratio)) whose ratio can change (the inner sampler is rebuilt, never
 * mutated). One rule added: a root span linked to a sampled span is sampled, so the run span of a
 * batch that served sampled requests is kept whatever the ratio.
 */
export class AdjustableSampler implements Sampler {
  private inner: Sampler;
  private current: number;

  constructor(ratio: number) {
    this.current = checkedRatio(ratio);
    this.inner = AdjustableSampler.build(ratio);
  }

  /** The ratio of root requests sampled. */
  get ratio(): number {
    return this.current;
  }

  /** Changes the ratio of root requests sampled (0 to 1). */
  setRatio(ratio: number): void {
    this.inner = AdjustableSampler.build(checkedRatio(ratio));
    this.current = ratio;
  }

  shouldSample(context: Context, traceId: string, spanName: string, spanKind: SpanKind, attributes: Attributes, links: Link[]): SamplingResult {
    if (links.length > 0 && trace.getSpanContext(context) === undefined && links.some((link) => (link.context.traceFlags & TraceFlags.SAMPLED) !== 0)) {
      return { decision: SamplingDecision.RECORD_AND_SAMPLED };
    }
    return this.inner.shouldSample(context, traceId, spanName, spanKind, attributes, links);
  }

  toString(): string {
    return `AdjustableSampler{${this.inner.toString()}}`;
  }

  private static build(ratio: number): Sampler {
    return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio) });
  }
}

/** Now, as epoch milliseconds on the clock core's times are read with. */
const epochNow = (): number => performance.timeOrigin + performance.now();
/** A `performance.now()` reading as epoch milliseconds (span times). */
const epochOf = (t: number): number => performance.timeOrigin + t;

const isSpan = (value: unknown): value is Span => typeof (value as Span | undefined)?.spanContext === 'function';

/** One sampled request's server span. */
class RequestSpan implements TracedRequest {
  readonly trace: RequestTrace;
  private ended = false;

  constructor(
    private readonly tracer: Tracer,
    private readonly span: Span,
  ) {
    this.trace = { context: span };
  }

  end(model: string | undefined, version: number | undefined, statusName: string): void {
    if (this.ended) return;
    this.ended = true;
    const { span, trace: times } = this;
    const run = times.run;
    const attributes: Attributes = { [attributeNames.status]: statusName };
    const code = statusCodes.get(statusName);
    if (code !== undefined) attributes[attributeNames.statusCode] = code;
    if (model !== undefined && model !== '') attributes[attributeNames.model] = model;
    if (version !== undefined) attributes[attributeNames.version] = version;
    if (run !== undefined) attributes[attributeNames.batchSize] = run.samples;
    span.setAttributes(attributes);
    if (serverErrorStatuses.has(statusName)) span.setStatus({ code: SpanStatusCode.ERROR, message: statusName });
    const now = epochNow();
    const parent = trace.setSpan(ROOT_CONTEXT, span);
    // A request that never left the queue (deadline, cancellation) waited until now.
    if (times.queuedAt !== undefined) this.child(spanNames.queue, epochOf(times.queuedAt), run === undefined ? now : epochOf(run.startedAt), parent);
    if (run !== undefined) this.child(spanNames.compute, epochOf(run.startedAt), run.endedAt === undefined ? now : epochOf(run.endedAt), parent);
    span.end(now);
  }

  private child(name: string, start: number, end: number, parent: Context): void {
    this.tracer.startSpan(name, { kind: SpanKind.INTERNAL, startTime: start }, parent).end(end);
  }
}

/**
 * modelserve's tracer: request spans started by the server's dispatch, run spans from core's
 * `tracedRun` hook (`versionObserver` or `inferenceObserver`), exported over OTLP/HTTP.
 */
export class Tracing {
  private readonly sampler: AdjustableSampler;
  private readonly provider: BasicTracerProvider;
  private readonly tracer: Tracer;
  private readonly propagator = new W3CTraceContextPropagator();

  constructor(options: TracingOptions) {
    this.sampler = new AdjustableSampler(options.ratio ?? 0);
    const processors: SpanProcessor[] = [];
    if (options.otlpEndpoint !== undefined) {
      processors.push(new BatchSpanProcessor(new OTLPTraceExporter({ url: options.otlpEndpoint, ...(options.otlpHeaders !== undefined ? { headers: options.otlpHeaders } : {}) })));
    }
    if (options.exporter !== undefined) processors.push(new SimpleSpanProcessor(options.exporter));
    if (processors.length === 0) throw new Error('tracing needs somewhere to send spans: an otlpEndpoint or an exporter');
    this.provider = new BasicTracerProvider({
      resource: resourceFromAttributes({
        'service.name': options.serviceName ?? 'modelserve',
        ...(options.serviceVersion !== undefined ? { 'service.version': options.serviceVersion } : {}),
      }),
      sampler: this.sampler,
      spanProcessors: processors,
    });
    this.tracer = this.provider.getTracer('modelserve');
  }

  /** The ratio of requests without a caller's `traceparent` that are sampled. */
  get ratio(): number {
    return this.sampler.ratio;
  }

  /** Changes the ratio (0 to 1; a RangeError otherwise) for requests started from now on. */
  setRatio(ratio: number): void {
    this.sampler.setRatio(ratio);
  }

  /**
   * The span of a request that arrives now on `method` (`modelserve.v1.Predictor/Predict`),
   * continuing the caller's trace when `traceparent` is a valid W3C one; undefined when the
   * request is not sampled (then nothing was created).
   */
  startRequest(method: string, traceparent: string | undefined, tracestate: string | undefined): TracedRequest | undefined {
    let parent = ROOT_CONTEXT;
    if (traceparent !== undefined) {
      parent = this.propagator.extract(ROOT_CONTEXT, tracestate === undefined ? { traceparent } : { traceparent, tracestate }, defaultTextMapGetter);
      const caller = trace.getSpanContext(parent);
      // ParentBased: a caller that did not sample its request decides for it.
      if (caller !== undefined && (caller.traceFlags & TraceFlags.SAMPLED) === 0) return undefined;
      if (caller === undefined && this.sampler.ratio === 0) return undefined;
    } else if (this.sampler.ratio === 0) {
      return undefined;
    }
    const slash = method.lastIndexOf('/');
    const span = this.tracer.startSpan(
      method,
      {
        kind: SpanKind.SERVER,
        startTime: epochNow(),
        attributes: { 'rpc.system': 'grpc', 'rpc.service': method.slice(0, slash), 'rpc.method': method.slice(slash + 1) },
      },
      parent,
    );
    return span.isRecording() ? new RequestSpan(this.tracer, span) : undefined;
  }

  /** The tracing hook of `model` version `version`, to merge into the registry observer's `version()` answer. */
  versionObserver(model: string, version: number): Required<Pick<VersionObserver, 'tracedRun'>> {
    return { tracedRun: (run) => this.runSpan(model, version, run) };
  }

  /** A registry observer that only traces (when no other observer, e.g. metrics, needs merging with it). */
  inferenceObserver(): InferenceObserver {
    return {
      version: (model, version) => ({ queued: () => undefined, ran: () => undefined, ...this.versionObserver(model, version) }),
      finished: () => undefined,
    };
  }

  /** Sends the spans ended so far. */
  forceFlush(): Promise<void> {
    return this.provider.forceFlush();
  }

  /** Sends the spans ended so far and stops; spans started later are dropped. */
  shutdown(): Promise<void> {
    return this.provider.shutdown();
  }

  /** The span of one run that served traced requests: its times, batch size, and a link to each request's span. */
  private runSpan(model: string, version: number, run: RunTrace): void {
    const links: Link[] = [];
    for (const request of run.traces) if (isSpan(request.context)) links.push({ context: request.context.spanContext() });
    if (links.length === 0) return;
    const span = this.tracer.startSpan(
      spanNames.run,
      {
        kind: SpanKind.INTERNAL,
        startTime: epochOf(run.startedAt),
        links,
        attributes: {
          [attributeNames.model]: model,
          [attributeNames.version]: version,
          [attributeNames.batchSize]: run.samples,
          [attributeNames.tracedRequests]: links.length,
        },
      },
      ROOT_CONTEXT,
    );
    run.context = span;
    span.end(run.endedAt === undefined ? epochNow() : epochOf(run.endedAt));
  }
}

/** The span context a request's trace carries (tests and observers that want to link to it); undefined when it carries none. */
export function spanContextOf(requestTrace: RequestTrace): SpanContext | undefined {
  return isSpan(requestTrace.context) ? requestTrace.context.spanContext() : undefined;
}
