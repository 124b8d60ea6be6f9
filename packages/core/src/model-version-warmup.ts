import type { ModelInstance } from './backend.js';
import { detailsOf } from './errors.js';
import type { Logger } from './logger.js';
import type { ModelSignature } from './metadata.js';
import { numericArrayOf, type NamedTensor } from './tensor.js';

/**
 * Runs every instance once on zeros of the model's input shapes (variable dimensions 1, an open
 * rank as [1]), so the first real request does not pay for onnxruntime's first run. A model that
 * cannot run on zeros is logged and served all the same.
 */
export async function warmUp(label: string, instances: readonly ModelInstance[], signature: ModelSignature, logger: Logger): Promise<void> {
  const inputs = (): NamedTensor[] =>
    signature.inputs.map((spec) => {
      const shape = (spec.shape ?? [1]).map((d) => (d < 0 ? 1 : d));
      const count = shape.reduce((a, b) => a * b, 1);
      const data = spec.datatype === 'BYTES' ? Array.from({ length: count }, () => new Uint8Array(0)) : new numericArrayOf[spec.datatype](count);
      return { name: spec.name, datatype: spec.datatype, shape, data } as NamedTensor;
    });
  const started = performance.now();
  const results = await Promise.allSettled(instances.map((instance) => instance.run(inputs(), [])));
  const failed = results.find((r) => r.status === 'rejected');
  if (failed !== undefined) logger.warn({ label, reason: detailsOf(failed.reason) }, 'warm-up on zero inputs failed; serving without it');
  else logger.info({ label, instances: instances.length, ms: Math.round(performance.now() - started) }, 'warmed up');
}
