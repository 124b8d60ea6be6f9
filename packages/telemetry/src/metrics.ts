/**
 * modelserve's Prometheus metrics (prom-client): per model version, per server, gRPC server calls
 * with gRFC A66's names, and optionally Triton's names. The registry tells `Metrics` of every
 * request and run (core's `InferenceObserver`); gauges are read from the registry at scrape time.
 *
 * Label children are made once per version (when it starts loading) and once per gRPC method and
 * status, never per request. A model name that is not loaded never becomes a label value: such
 * requests count under model="" version="".
 */
import type { InferenceObserver, InferenceRequest, ModelRegistry, Outcome, VersionLoad, VersionObserver } from '@modelserve/core';
import { statusNameOf } from '@modelserve/core/errors';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

type CounterChild = Counter.Internal;

/** The key of the label children of requests that reached no version (label version=""). */
const noVersion = -1;
type HistogramChild = Histogram.Internal<string>;

/** Request, queue and compute durations: 50 µs to 30 s, about three buckets per decade. */
export const durationBuckets: readonly number[] = [
  0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
];

/** Batch sizes: powers of two up to 1,024. */
export const batchBuckets: readonly number[] = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];

/** Why a request failed, a bounded set (the `reason` label of modelserve_inference_failures_total). */
export type FailureReason = 'invalid_input' | 'not_found' | 'deadline' | 'cancelled' | 'rejected' | 'unavailable' | 'internal' | 'other';

/** The reason label of a failure outcome. */
export function failureReason(outcome: Exclude<Outcome, 'OK'>): FailureReason {
  switch (outcome) {
    case 'InvalidArgument':
    case 'OutOfRange':
    case 'FailedPrecondition':
      return 'invalid_input';
    case 'NotFound':
      return 'not_found';
    case 'DeadlineExceeded':
      return 'deadline';
    case 'Cancelled':
      return 'cancelled';
    case 'ResourceExhausted':
      return 'rejected';
    case 'Unavailable':
      return 'unavailable';
    case 'Internal':
    case 'Unknown':
    case 'DataLoss':
      return 'internal';
    default:
      return 'other';
  }
}

/** Triton's failure reasons (nv_inference_request_failure's `reason`). */
function tritonReason(reason: FailureReason): string {
  if (reason === 'rejected' || reason === 'deadline') return 'REJECTED';
  if (reason === 'cancelled') return 'CANCELED';
  if (reason === 'internal') return 'BACKEND';
  return 'OTHER';
}

/** The options of `Metrics`. */
export interface MetricsOptions {
  /** Also export Triton's counter names (nv_inference_*), so Triton dashboards work. Default false. */
  tritonNames?: boolean;
  /** prom-client's default process and Node.js metrics (event-loop delay among them). Default true. */
  defaultMetrics?: boolean;
}

/** One model version's label children, made once. */
interface VersionChildren {
  labels: { model: string; version: string };
  byOutcome: Map<Outcome, CounterChild>;
  failures: Map<FailureReason, CounterChild>;
  requestDuration: HistogramChild;
  queueDuration: HistogramChild;
  computeDuration: HistogramChild;
  batchSize: HistogramChild;
  samples: CounterChild;
  runs: CounterChild;
  cache: Map<string, CounterChild>;
  triton: TritonChildren | undefined;
}

interface TritonChildren {
  success: CounterChild;
  failure: Map<string, CounterChild>;
  count: CounterChild;
  execCount: CounterChild;
  requestUs: CounterChild;
  queueUs: CounterChild;
  computeUs: CounterChild;
}

/** gRPC server calls by method, gRFC A66's names. */
interface MethodChildren {
  started: CounterChild;
  duration: Map<string, HistogramChild>;
}

/** The metrics of one server: an `InferenceObserver` for its registry, and gRPC call hooks. */
export class Metrics implements InferenceObserver {
  readonly registry = new Registry();
  private readonly requests: Counter<'model' | 'version' | 'code'>;
  private readonly failures: Counter<'model' | 'version' | 'reason'>;
  private readonly samples: Counter<'model' | 'version'>;
  private readonly runs: Counter<'model' | 'version'>;
  private readonly requestDuration: Histogram<'model' | 'version'>;
  private readonly queueDuration: Histogram<'model' | 'version'>;
  private readonly computeDuration: Histogram<'model' | 'version'>;
  private readonly batchSize: Histogram<'model' | 'version'>;
  private readonly shadowCompared: Counter<'model' | 'version' | 'against'>;
  private readonly shadowAgreeing: Counter<'model' | 'version' | 'against'>;
  private readonly cacheRequests: Counter<'model' | 'version' | 'result'>;
  private readonly callsStarted: Counter<'grpc_method'>;
  private readonly callDuration: Histogram<'grpc_method' | 'grpc_status'>;
  private readonly triton: Record<'success' | 'failure' | 'count' | 'execCount' | 'requestUs' | 'queueUs' | 'computeUs', Counter<string>> | undefined;
  /** Label children by model, then version number (`noVersion` for requests that reached no version). */
  private readonly versions = new Map<string, Map<number, VersionChildren>>();
  private readonly unrouted: VersionChildren;
  private readonly methods = new Map<string, MethodChildren>();
  private source: ModelRegistry | undefined;

  constructor(options: MetricsOptions = {}) {
    const registers = [this.registry];
    const mv = ['model', 'version'] as const;
    this.requests = new Counter({ name: 'modelserve_inference_requests_total', help: 'Inference requests answered, by gRPC status code name.', labelNames: [...mv, 'code'], registers });
    this.failures = new Counter({ name: 'modelserve_inference_failures_total', help: 'Inference requests answered with an error, by reason.', labelNames: [...mv, 'reason'], registers });
    this.samples = new Counter({ name: 'modelserve_inference_samples_total', help: 'Samples inferred (batch rows); divided by runs, the mean batch size.', labelNames: mv, registers });
    this.runs = new Counter({ name: 'modelserve_inference_runs_total', help: 'Model runs (one per batch).', labelNames: mv, registers });
    this.requestDuration = new Histogram({ name: 'modelserve_inference_request_duration_seconds', help: 'Time of a request inside modelserve, from acceptance to answer.', labelNames: mv, buckets: [...durationBuckets], registers });
    this.queueDuration = new Histogram({ name: 'modelserve_inference_queue_duration_seconds', help: 'Time a request waited in its model version queue before its run.', labelNames: mv, buckets: [...durationBuckets], registers });
    this.computeDuration = new Histogram({ name: 'modelserve_inference_compute_duration_seconds', help: 'Time of a model run (one per batch).', labelNames: mv, buckets: [...durationBuckets], registers });
    this.batchSize = new Histogram({ name: 'modelserve_inference_batch_size', help: 'Samples per model run.', labelNames: mv, buckets: [...batchBuckets], registers });
    this.shadowCompared = new Counter({ name: 'modelserve_shadow_rows_compared_total', help: 'Output rows of a shadow version compared by argmax with the answering version.', labelNames: [...mv, 'against'], registers });
    this.shadowAgreeing = new Counter({ name: 'modelserve_shadow_rows_agreeing_total', help: 'Compared rows whose argmax agreed.', labelNames: [...mv, 'against'], registers });
    this.cacheRequests = new Counter({ name: 'modelserve_cache_requests_total', help: 'Requests that met the response cache: result hit (answered from it, here or from the shared tier), coalesced (waited for an identical request\'s run) or miss.', labelNames: [...mv, 'result'], registers });
    this.callsStarted = new Counter({ name: 'grpc_server_call_started_total', help: 'gRPC calls started (gRFC A66).', labelNames: ['grpc_method'], registers });
    this.callDuration = new Histogram({ name: 'grpc_server_call_duration_seconds', help: 'gRPC call duration, end to end (gRFC A66).', labelNames: ['grpc_method', 'grpc_status'], buckets: [...durationBuckets], registers });
    // The gauges read the registry at scrape time (their `collect` runs with the gauge as `this`).
    const source = (): ModelRegistry | undefined => this.source;
    /** A gauge or counter per model version, read from each version's load at scrape time; undefined leaves a version out. */
    const perVersion = (type: 'gauge' | 'counter', name: string, help: string, value: (load: VersionLoad) => number | undefined): void => {
      const each = (emit: (labels: { model: string; version: string }, value: number) => void): void => {
        for (const load of source()?.versionLoads() ?? []) {
          const v = value(load);
          if (v !== undefined) emit({ model: load.model, version: String(load.version) }, v);
        }
      };
      const config = { name, help, labelNames: mv, registers };
      if (type === 'gauge') {
        new Gauge({
          ...config,
          collect() {
            this.reset();
            each((labels, v) => this.set(labels, v));
          },
        });
      } else {
        new Counter({
          ...config,
          collect() {
            this.reset();
            each((labels, v) => this.inc(labels, v));
          },
        });
      }
    };
    // A ready version always shows its queue; another only while it still holds requests.
    const shown = (load: VersionLoad, n: number): number | undefined => (load.state === 'READY' || n > 0 ? n : undefined);
    perVersion('gauge', 'modelserve_inference_queued_requests', 'Requests waiting in a model version queue.', (l) => shown(l, l.queued));
    perVersion('gauge', 'modelserve_inference_inflight_requests', 'Requests of a model version queued or running.', (l) => shown(l, l.inflight));
    perVersion('gauge', 'modelserve_cache_bytes', 'Bytes the response cache of a model version holds (elements and per-entry overhead).', (l) => l.cache?.bytes);
    perVersion('gauge', 'modelserve_cache_entries', 'Entries in the response cache of a model version.', (l) => l.cache?.entries);
    perVersion('counter', 'modelserve_cache_evictions_total', 'Entries the response cache of a model version evicted to stay within max_bytes.', (l) => l.cache?.evictions);
    new Gauge({
      name: 'modelserve_model_versions',
      help: 'Model versions by state.',
      labelNames: ['state'],
      registers,
      collect() {
        const counts: Record<string, number> = { LOADING: 0, READY: 0, UNLOADING: 0, UNAVAILABLE: 0, FAILED: 0 };
        for (const load of source()?.versionLoads() ?? []) counts[load.state] = (counts[load.state] ?? 0) + 1;
        for (const [state, n] of Object.entries(counts)) this.set({ state }, n);
      },
    });
    new Gauge({
      name: 'modelserve_inference_pool_threads',
      help: 'Threads of the shared inference pool.',
      registers,
      collect() {
        this.set(source()?.backendStats()?.threads ?? 0);
      },
    });
    new Counter({
      name: 'modelserve_inference_pool_busy_seconds_total',
      help: 'Time the inference pool threads spent running models; rate() / threads is their utilisation.',
      registers,
      collect() {
        const busy = source()?.backendStats()?.busySeconds ?? 0;
        this.reset();
        this.inc(busy);
      },
    });
    if (options.tritonNames === true) {
      const c = (name: string, help: string, labelNames: string[] = [...mv]): Counter<string> => new Counter({ name, help, labelNames, registers });
      this.triton = {
        success: c('nv_inference_request_success', 'Triton: number of successful inference requests.'),
        failure: c('nv_inference_request_failure', 'Triton: number of failed inference requests.', [...mv, 'reason']),
        count: c('nv_inference_count', 'Triton: number of inferences performed (batch samples).'),
        execCount: c('nv_inference_exec_count', 'Triton: number of model executions performed.'),
        requestUs: c('nv_inference_request_duration_us', 'Triton: cumulative inference request duration in microseconds.'),
        queueUs: c('nv_inference_queue_duration_us', 'Triton: cumulative inference queuing duration in microseconds.'),
        computeUs: c('nv_inference_compute_infer_duration_us', 'Triton: cumulative compute inference duration in microseconds.'),
      };
      perVersion('gauge', 'nv_inference_pending_request_count', 'Triton: instantaneous number of pending requests awaiting execution per-model.', (l) => shown(l, l.inflight));
    }
    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry });
    this.unrouted = this.children('', noVersion);
  }

  /** Reads queue and state gauges and the pool's busy time from `registry` at scrape time. */
  attach(registry: ModelRegistry): void {
    this.source = registry;
  }

  /** The Prometheus text exposition of every metric. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  // InferenceObserver

  version(model: string, version: number): VersionObserver {
    const children = this.children(model, version);
    return {
      queued: (seconds) => {
        children.queueDuration.observe(seconds);
        children.triton?.queueUs.inc(seconds * 1e6);
      },
      ran: (samples, seconds, requests) => {
        children.samples.inc(samples);
        children.runs.inc();
        children.batchSize.observe(samples);
        children.computeDuration.observe(seconds);
        if (children.triton !== undefined) {
          children.triton.count.inc(samples);
          children.triton.execCount.inc();
          // Triton charges a run's compute time to each request it served.
          children.triton.computeUs.inc(seconds * 1e6 * requests);
        }
      },
      cache: (outcome) => {
        let counter = children.cache.get(outcome);
        if (counter === undefined) {
          counter = this.cacheRequests.labels({ ...children.labels, result: outcome });
          children.cache.set(outcome, counter);
        }
        counter.inc();
      },
      compared: (against, rows, agreeingRows) => {
        const labels = { ...children.labels, against: String(against) };
        this.shadowCompared.inc(labels, rows);
        this.shadowAgreeing.inc(labels, agreeingRows);
      },
    };
  }

  finished(request: InferenceRequest, version: number | undefined, outcome: Outcome, seconds: number): void {
    // A model never loaded stays out of the labels; a loaded model's request that reached no version counts under version "".
    const byModel = this.versions.get(request.model);
    const children = byModel === undefined ? this.unrouted : (byModel.get(version ?? noVersion) ?? this.children(request.model, noVersion));
    let counter = children.byOutcome.get(outcome);
    if (counter === undefined) {
      counter = this.requests.labels({ ...children.labels, code: outcome === 'OK' ? 'OK' : statusNameOf(outcome) });
      children.byOutcome.set(outcome, counter);
    }
    counter.inc();
    children.requestDuration.observe(seconds);
    children.triton?.requestUs.inc(seconds * 1e6);
    if (outcome === 'OK') {
      children.triton?.success.inc();
      return;
    }
    const reason = failureReason(outcome);
    let failures = children.failures.get(reason);
    if (failures === undefined) {
      failures = this.failures.labels({ ...children.labels, reason });
      children.failures.set(reason, failures);
    }
    failures.inc();
    if (children.triton !== undefined) {
      const triton = tritonReason(reason);
      let failure = children.triton.failure.get(triton);
      if (failure === undefined) {
        failure = this.triton!.failure.labels({ ...children.labels, reason: triton });
        children.triton.failure.set(triton, failure);
      }
      failure.inc();
    }
  }

  // gRPC server calls (gRFC A66)

  /** A call of `method` ("package.Service/Method") started. */
  callStarted(method: string): void {
    this.method(method).started.inc();
  }

  /** A call of `method` ended with `status` (a gRPC status name) after `seconds`. */
  callEnded(method: string, status: string, seconds: number): void {
    const children = this.method(method);
    let histogram = children.duration.get(status);
    if (histogram === undefined) {
      histogram = this.callDuration.labels({ grpc_method: method, grpc_status: status });
      children.duration.set(status, histogram);
    }
    histogram.observe(seconds);
  }

  private method(method: string): MethodChildren {
    let children = this.methods.get(method);
    if (children === undefined) {
      children = { started: this.callsStarted.labels({ grpc_method: method }), duration: new Map() };
      this.methods.set(method, children);
    }
    return children;
  }

  /** The label children of `model` `version`, made on first use and kept. */
  private children(model: string, version: number): VersionChildren {
    let byModel = this.versions.get(model);
    if (byModel === undefined && model !== '') {
      byModel = new Map();
      this.versions.set(model, byModel);
    }
    const known = byModel?.get(version);
    if (known !== undefined) return known;
    const labels = { model, version: version === noVersion ? '' : String(version) };
    const children: VersionChildren = {
      labels,
      byOutcome: new Map(),
      failures: new Map(),
      requestDuration: this.requestDuration.labels(labels),
      queueDuration: this.queueDuration.labels(labels),
      computeDuration: this.computeDuration.labels(labels),
      batchSize: this.batchSize.labels(labels),
      samples: this.samples.labels(labels),
      runs: this.runs.labels(labels),
      cache: new Map(),
      triton:
        this.triton === undefined
          ? undefined
          : {
              success: this.triton.success.labels(labels),
              failure: new Map(),
              count: this.triton.count.labels(labels),
              execCount: this.triton.execCount.labels(labels),
              requestUs: this.triton.requestUs.labels(labels),
              queueUs: this.triton.queueUs.labels(labels),
              computeUs: this.triton.computeUs.labels(labels),
            },
    };
    byModel?.set(version, children);
    return children;
  }
}
