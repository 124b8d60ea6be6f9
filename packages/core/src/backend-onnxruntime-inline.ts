/**
 * A copy of a session opened on the event loop's thread, for a request that is the only one in
 * flight. onnxruntime-node's `run()` returns a promise at once, but computes in a `setImmediate`
 * on the calling thread, blocking it for the whole run (measured: a 1.9 ms CNN run delays the next
 * `setImmediate` by 1.9 ms). So an inline run holds the event loop: that is why only runs measured
 * at most `inlineMaxUs` go inline, and only when nothing else is in flight (see
 * `OnnxRuntimeBackend.mayRunInline`). For such a lone, short request this path costs less than the
 * pool's: in-process, at 1 in flight, registry.infer of the MLP (run 27-30 µs) takes a p50 of
 * 35-39 µs this way against 64-72 µs through a pool thread (on a 2-core VM), because the pool adds
 * the copy into shared memory, the worker's own decode and encode, and two wake-ups of sleeping
 * threads. Under load every run goes to the pool, where it blocks a pool thread, not the loop.
 *
 * onnxruntime-node is imported here lazily, so a server that never runs inline never loads it on
 * the event loop's thread.
 */
import type * as Ort from 'onnxruntime-node';
import { dataTypeOfOrt, ortTypeOf } from './backend-onnxruntime-types.js';
import { ModelServeError } from './errors.js';
import type { NamedTensor } from './tensor.js';

let ortModule: Promise<typeof Ort> | undefined;

async function loadOrt(): Promise<typeof Ort> {
  ortModule ??= import('onnxruntime-node').then((m) => ((m as unknown as { default?: typeof Ort }).default ?? m) as typeof Ort);
  return ortModule;
}

/** An onnxruntime session opened on the event loop's thread (its runs block that thread while they compute). */
export class InlineSession {
  private constructor(
    private readonly ort: typeof Ort,
    private readonly session: Ort.InferenceSession,
  ) {}

  static async open(modelFile: string): Promise<InlineSession> {
    const ort = await loadOrt();
    const session = await ort.InferenceSession.create(modelFile, {
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
      logSeverityLevel: 3,
    });
    return new InlineSession(ort, session);
  }

  /** Runs the model on `inputs` (BYTES already checked as UTF-8) for the outputs named (all when empty). */
  async run(inputs: readonly NamedTensor[], outputs: readonly string[]): Promise<NamedTensor[]> {
    const feeds: Record<string, Ort.Tensor> = {};
    for (const t of inputs) {
      const type = ortTypeOf[t.datatype]!;
      const data = t.datatype === 'BYTES' ? (t.data as Uint8Array[]).map((b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8')) : t.data;
      feeds[t.name] = new this.ort.Tensor(type as Ort.Tensor.Type, data as Ort.Tensor.DataType, t.shape);
    }
    const names = outputs.length > 0 ? outputs : this.session.outputNames;
    const values = await this.session.run(feeds, [...names], { logSeverityLevel: 4 });
    return names.map((name) => {
      const value = values[name];
      if (value === undefined) throw new ModelServeError('Internal', `onnxruntime returned no output '${name}'`);
      const datatype = dataTypeOfOrt(value.type);
      if (datatype === undefined) throw new ModelServeError('Internal', `output '${name}' has an unsupported type ${value.type}`);
      const shape = value.dims.map(Number);
      if (datatype === 'BYTES') return { name, datatype, shape, data: (value.data as string[]).map((s) => Buffer.from(s, 'utf8')) };
      return { name, datatype, shape, data: value.data } as NamedTensor;
    });
  }

  release(): Promise<void> {
    return this.session.release();
  }
}
