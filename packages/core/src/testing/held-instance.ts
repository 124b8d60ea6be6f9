import type { ModelInstance } from '../backend.js';
import { DynamicBatcher, type DynamicBatcherOptions } from '../scheduler-dynamic-batcher.js';
import { VersionStats } from '../statistics.js';
import type { NamedTensor } from '../tensor.js';
import { gate } from './fake-backend.js';

/**
 * An instance whose runs wait until the test releases them, one at a time. Each run is logged as
 * the request ids it served (the first value of each request's rows) and its batch size. The
 * model doubles its input, so results show whether rows went back to the right requests.
 */
export function heldInstance(log: string[], tag = ''): { instance: ModelInstance; release(): void } {
  const gates: Array<() => void> = [];
  const instance: ModelInstance = {
    signature: { inputs: [], outputs: [] },
    run: async (inputs) => {
      const x = inputs[0]!;
      log.push(`${tag}run ${x.shape[0]}: ${[...(x.data as Float32Array)].join(',')}`);
      const g = gate();
      gates.push(g.open);
      await g.promise;
      return [{ name: 'y', datatype: 'FP32', shape: x.shape, data: (x.data as Float32Array).map((v) => v * 2) }];
    },
    close: async () => undefined,
  };
  return { instance, release: () => gates.shift()?.() };
}

/** A request of `rows` rows of width `width`, every value `id`. */
export const job = (id: number, extra: object = {}, rows = 1, width = 1) => ({
  inputs: [{ name: 'x', datatype: 'FP32', shape: [rows, width], data: new Float32Array(rows * width).fill(id) } as NamedTensor],
  outputs: [] as string[],
  ...extra,
});

/** One turn of the event loop: the callbacks already due have run. */
export const tick = () => new Promise((r) => setImmediate(r));

/** Whether `promise` has settled, once the callbacks already due have run. */
export async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  promise.then(
    () => (done = true),
    () => (done = true),
  );
  await tick();
  return done;
}

/** A dynamic batcher (batching on, max_batch_size 4) over one held instance, recording its stats. */
export function batcher(overrides: Partial<DynamicBatcherOptions> = {}, log: string[] = []) {
  const held = heldInstance(log);
  const stats = new VersionStats();
  const scheduler = new DynamicBatcher([held.instance], { label: 'm/1', batching: true, maxBatchSize: 4, stats, ...overrides });
  return { scheduler, held, log, stats };
}

/** Releases held runs one by one until every promise settles. */
export async function releaseAll(held: { release(): void }, results: Array<Promise<unknown>>): Promise<void> {
  let settled = false;
  void Promise.allSettled(results).then(() => (settled = true));
  while (!settled) {
    held.release();
    await tick();
  }
}
