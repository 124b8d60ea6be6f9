/**
 * The onnxruntime backend: each instance is a session on a thread of the shared inference pool
 * (inference-pool.ts). This file runs on the event loop and never imports onnxruntime itself.
 */
import type { Backend, InstanceOptions, ModelInstance } from './backend.js';
import { dataTypeOfOrt, ortTypeOf } from './backend-onnxruntime-types.js';
import { ModelServeError } from './errors.js';
import { InferencePool, RunFailed, type PoolOptions, type PoolSession, type PoolStats } from './inference-pool.js';
import type { ThreadSpec } from './inference-pool-types.js';
import type { ModelSignature, TensorSpec } from './metadata.js';
import { TYPES, typeCode, type WireTensor } from './pool-wire.js';
import type { NamedTensor, NumericTensorData } from './tensor.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** onnxruntime errors that mean the request did not fit the model. */
const inputErrorPattern = /invalid rank|invalid dimensions|unexpected input data type|input .* is missing|invalid feed input name|broadcast/i;

/** The backend that runs ONNX models with onnxruntime-node on the shared inference pool. */
export class OnnxRuntimeBackend implements Backend {
  readonly name = 'onnxruntime';
  readonly pool: InferencePool;

  constructor(options: PoolOptions = {}) {
    this.pool = new InferencePool(options);
  }

  async createInstance(options: InstanceOptions): Promise<ModelInstance> {
    const session = await this.pool.open({ label: options.label, modelFile: options.modelFile, intraOpThreads: options.intraOpThreads, onFailed: options.onFailed });
    try {
      return new OnnxRuntimeInstance(session);
    } catch (error) {
      await session.close();
      throw error;
    }
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

  constructor(private readonly session: PoolSession) {
    this.thread = session.thread.index;
    const { inputs, outputs } = session.signatureSpecs;
    this.signature = { inputs: toSpecs(inputs, session.label, 'input'), outputs: toSpecs(outputs, session.label, 'output') };
    this.inputIndex = new Map(inputs.map((s, i) => [s.name, i]));
    this.outputIndex = new Map(outputs.map((s, i) => [s.name, i]));
  }

  private get label(): string {
    return this.session.label;
  }

  /** Inputs are copied once, into the session's shared area: the caller's arrays stay its own. */
  run(inputs: NamedTensor[], outputs: readonly string[]): Promise<NamedTensor[]> {
    let wire: WireTensor[];
    let wanted: number[];
    try {
      wire = inputs.map((t) => this.toWire(t));
      wanted = outputs.map((name) => this.indexOf(this.outputIndex, name, 'output'));
    } catch (error) {
      return Promise.reject(error as Error);
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

  close(): Promise<void> {
    return this.session.close();
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
