/** Which points a run measures, in the order it measures them (one server started per configuration). */
import type { BenchOptions } from './options.js';
import type { BenchResults, ConfigKey, Method, ModelKey, PointSpec } from './types.js';

/** The server configurations, in the order they run. */
export const serverConfigs = ['echo', 'naive', 'off', 'on'] as const satisfies readonly ConfigKey[];

/** What each configuration is, for tables and the chart. */
export const configLabels: Readonly<Record<ConfigKey, string>> = {
  compute: 'compute limit (onnxruntime in-process)',
  echo: 'echo (grpc-js transport limit)',
  naive: 'naive (session.run in the handler)',
  off: 'modelserve, batching off',
  on: 'modelserve, batching on',
};

/** A configuration's label in a run's report: the echo server says which transport it ran on. */
export function configLabel(config: ConfigKey, results: Pick<BenchResults, 'options'>): string {
  return config === 'echo' && results.options['echoTransport'] === 'direct' ? "echo (grpc-js with calls answered on its HTTP/2 streams, modelserve's transport)" : configLabels[config];
}

/** Short names for table columns. */
export const configShort: Readonly<Record<ConfigKey, string>> = {
  compute: 'compute',
  echo: 'echo',
  naive: 'naive',
  off: 'ms-off',
  on: 'ms-on',
};

/** The models a configuration runs with: echo answers the same whatever the model, so it runs once. */
export function modelsFor(config: ConfigKey, options: Pick<BenchOptions, 'models'>): ModelKey[] {
  return config === 'echo' ? options.models.slice(0, 1) : options.models;
}

/** The methods a configuration is measured with: the naive server is measured unary only. */
export function methodsFor(config: ConfigKey, options: Pick<BenchOptions, 'methods'>): Method[] {
  return config === 'naive' ? options.methods.filter((m) => m === 'unary') : options.methods;
}

function loads(method: Method, options: BenchOptions): Array<Pick<PointSpec, 'concurrency' | 'streams' | 'rate'>> {
  const streams = (inFlight: number): number => (method === 'stream' ? Math.max(1, Math.min(options.streams, inFlight)) : 0);
  if (options.rates.length > 0) return options.rates.map((rate) => ({ concurrency: 0, streams: method === 'stream' ? options.streams : 0, rate }));
  const list = method === 'unary' ? options.concurrency : options.streamConcurrency;
  return list.map((concurrency) => ({ concurrency, streams: streams(concurrency), rate: 0 }));
}

/** The points of one server configuration. */
export function pointsFor(config: (typeof serverConfigs)[number], options: BenchOptions): PointSpec[] {
  if (!options.configs.includes(config)) return [];
  const points: PointSpec[] = [];
  for (const model of modelsFor(config, options)) {
    for (const method of methodsFor(config, options)) {
      for (const load of loads(method, options)) points.push({ config, model, method, ...load });
    }
  }
  return points;
}

/** Every point of the run, configuration by configuration. */
export function planPoints(options: BenchOptions): PointSpec[] {
  return serverConfigs.flatMap((config) => pointsFor(config, options));
}

/** A point's load as the tables write it: "64" in flight, "64/8s" on 8 streams, "2000/s" open loop. */
export function loadLabel(point: Pick<PointSpec, 'concurrency' | 'streams' | 'rate' | 'method'>): string {
  if (point.rate > 0) return `${point.rate}/s${point.method === 'stream' ? ` on ${point.streams}s` : ''}`;
  return point.method === 'stream' ? `${point.concurrency} on ${point.streams}s` : String(point.concurrency);
}
