/**
 * The onnxruntime backend: each instance is a session on a thread of the shared inference pool
 * (inference-pool.ts). This file runs on the event loop and never imports onnxruntime itself.
 */
import type { Backend, InstanceOptions, ModelInstance } from './backend.js';
import { InlineSession } from './backend-onnxruntime-inline.js';
import { dataTypeOfOrt, ortTypeOf } from './backend-onnxruntime-types.js';
import { ModelServeError } from './errors.js';
import { InferencePool, RunFailed, type PoolOptions, type PoolSession, type PoolStats } from './inference-pool.js';
import type { ThreadSpec } from './inference-pool-types.js';
import type { ModelSignature, TensorSpec } from './metadata.js';
import { encodedSize, TYPES, typeCode, type WireTensor } from './pool-wire.js';
import type { NamedTensor, NumericTensorData } from './tensor.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** onnxruntime errors that mean the request did not fit the model. */
const inputErrorPattern = /invalid rank|invalid dimensions|unexpected input data type|input .* is missing|invalid feed input name|broadcast/i;

/** Options of the onnxruntime backend. */
export interface OnnxRuntimeOptions extends PoolOptions {
  /**
   * A request that is the only one in flight (`alone()`) and expected to run within this many µs
   * (its session's fastest run on the pool, scaled by the request's size against that run's) runs
   * on a copy of the session opened on the event loop's thread, blocking the loop that long (see
   * backend-onnxruntime-inline.ts). 0: never. Default 0; the registry's own
   * backend turns it on.
   */
  inlineMaxUs?: number;
  /** Whether the request about to run is the only one in flight. Default: never. */
  alone?: () => boolean;
}

/** The backend that runs ONNX models with onnxruntime-node on the shared inference pool. */
export class OnnxRuntimeBackend implements Backend {
  readonly name = 'onnxruntime';
  readonly pool: InferencePool;
  /** Runs made inline on the event loop, in all. */
  inlineRuns = 0;
  private readonly inlineMaxUs: number;
  private readonly alone: () => boolean;

  constructor(options: OnnxRuntimeOptions = {}) {
    this.pool = new InferencePool(options);
    this.inlineMaxUs = options.inlineMaxUs ?? 0;
    this.alone = options.alone ?? (() => false);
  }

  async createInstance(options: InstanceOptions): Promise<ModelInstance> {
    const session = await this.pool.open({ label: options.label, modelFile: options.modelFile, intraOpThreads: options.intraOpThreads, onFailed: options.onFailed });
    try {
      return new OnnxRuntimeInstance(session, this);
    } catch (error) {
      await session.close();
      throw error;
    }
  }

  /**
   * Whether `session`'s run of `wire` (for `outputs` outputs) may go inline now: inline is on, no
   * other request is in flight, and the run is expected within `inlineMaxUs` (it blocks the event
   * loop that long). The cheap checks come first: under load the size is never computed.
   */
  mayRunInline(session: PoolSession, wire: readonly WireTensor[], outputs: number): boolean {
    return this.inlineMaxUs > 0 && this.pool.inflight === 0 && this.alone() && session.expectedMicros(encodedSize(wire, outputs)) <= this.inlineMaxUs;
  }

  /** The pool thread an instance of this backend lives on (tests end it to play a crash). */
  threadOf(instance: ModelInstance): number {
    if (!(instance instanceof OnnxRuntimeInstance)) throw new Error('not an onnxruntime instance');
    return instance.thread;
  }

  stats(): PoolStats {
    return this.pool.stats();
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}

class OnnxRuntimeInstance implements ModelInstance {
  readonly signature: ModelSignature;
  /** The pool thread the session lives on. */
  readonly thread: number;
  private readonly inputIndex: Map<string, number>;
  private readonly outputIndex: Map<string, number>;
  /** The session's copy on the event loop's thread, once a run fit inline (opened then, in the background). */
  private inline: InlineSession | undefined;
  private inlineOpening: Promise<void> | undefined;
  private closed = false;

  constructor(
    private readonly session: PoolSession,
    private readonly backend: OnnxRuntimeBackend,
  ) {
    this.thread = session.thread.index;
    const { inputs, outputs } = session.signatureSpecs;
    this.signature = { inputs: toSpecs(inputs, session.label, 'input'), outputs: toSpecs(outputs, session.label, 'output') };
    this.inputIndex = new Map(inputs.map((s, i) => [s.name, i]));
    this.outputIndex = new Map(outputs.map((s, i) => [s.name, i]));
  }

  private get label(): string {
    return this.session.label;
  }

  /** Inputs are copied once, into the session's shared area (or read in place inline): the caller's arrays stay its own. */
  run(inputs: NamedTensor[], outputs: readonly string[]): Promise<NamedTensor[]> {
    let wire: WireTensor[];
    let wanted: number[];
    try {
      wire = inputs.map((t) => this.toWire(t));
      wanted = outputs.map((name) => this.indexOf(this.outputIndex, name, 'output'));
    } catch (error) {
      return Promise.reject(error as Error);
    }
    if (this.backend.mayRunInline(this.session, wire, wanted.length)) {
      if (this.inline !== undefined) return this.runInline(inputs, outputs);
      this.openInline();
    }
    return this.session.run(wire, wanted).then(
      (tensors) => tensors.map((t) => fromWire(t, this.signature.outputs[t.index]!.name, this.label)),
      (error: unknown) => {
        if (!(error instanceof RunFailed)) throw error;
        const code = inputErrorPattern.test(error.message) ? 'InvalidArgument' : 'Internal';
        throw new ModelServeError(code, `${this.label}: onnxruntime: ${error.message}`);
      },
    );
  }

  private runInline(inputs: NamedTensor[], outputs: readonly string[]): Promise<NamedTensor[]> {
    this.backend.inlineRuns++;
    return this.inline!.run(inputs, outputs).catch((error: unknown) => {
      if (error instanceof ModelServeError) throw error;
      const message = error instanceof Error ? error.message : String(error);
      const code = inputErrorPattern.test(message) ? 'InvalidArgument' : 'Internal';
      throw new ModelServeError(code, `${this.label}: onnxruntime: ${message}`);
    });
  }

  /** Opens the inline copy in the background; runs go to the pool meanwhile, and for good if it cannot open. */
  private openInline(): void {
    if (this.inlineOpening !== undefined) return;
    this.inlineOpening = InlineSession.open(this.session.spec.modelFile).then(
      (inline) => {
        if (this.closed) void inline.release();
        else this.inline = inline;
      },
      () => undefined,
    );
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.inlineOpening;
    const inline = this.inline;
    this.inline = undefined;
    await Promise.all([this.session.close(), inline?.release()]);
  }

  private indexOf(index: Map<string, number>, name: string, kind: string): number {
    const i = index.get(name);
    if (i === undefined) throw new ModelServeError('InvalidArgument', `${this.label} has no ${kind} '${name}'`);
    return i;
  }

  private toWire(t: NamedTensor): WireTensor {
    const type = ortTypeOf[t.datatype];
    if (type === undefined) throw new ModelServeError('InvalidArgument', `${this.label}: datatype ${t.datatype} is not supported by onnxruntime`);
    const index = this.indexOf(this.inputIndex, t.name, 'input');
    if (t.datatype === 'BYTES') {
      const data = t.data as Uint8Array[];
      data.forEach((bytes, i) => {
        try {
          utf8.decode(bytes);
        } catch {
          throw new ModelServeError('InvalidArgument', `${this.label} input '${t.name}': BYTES element ${i} is not valid UTF-8, which onnxruntime string tensors require`);
        }
      });
      return { index, type: typeCode(type), dims: t.shape, data };
    }
    return { index, type: typeCode(type), dims: t.shape, data: t.data as NumericTensorData };
  }
}

function toSpecs(list: ThreadSpec[], label: string, kind: string): TensorSpec[] {
  return list.map((m) => {
    const datatype = m.isTensor ? dataTypeOfOrt(m.type) : undefined;
    if (datatype === undefined) {
      const what = m.isTensor ? `type ${m.type}` : 'a non-tensor value';
      throw new ModelServeError('FailedPrecondition', `${label}: ${kind} '${m.name}' has ${what}, which modelserve cannot serve`);
    }
    // onnxruntime reports an unknown rank as []; modelserve then accepts any rank.
    const shape = m.shape.length === 0 ? null : m.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : -1));
    return { name: m.name, datatype, shape };
  });
}

function fromWire(t: WireTensor, name: string, label: string): NamedTensor {
  const datatype = dataTypeOfOrt(TYPES[t.type] ?? '');
  if (datatype === undefined) throw new ModelServeError('Internal', `${label}: output '${name}' has an unsupported type`);
  if (datatype === 'BYTES') return { name, datatype, shape: [...t.dims], data: t.data as Uint8Array[] };
  return { name, datatype, shape: [...t.dims], data: t.data } as NamedTensor;
}
