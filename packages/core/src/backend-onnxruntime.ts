/**
 * The onnxruntime backend: each instance is a worker thread that owns one session.
 * This file runs on the main thread and never imports onnxruntime itself.
 */
import { Worker } from 'node:worker_threads';
import type { Backend, InstanceOptions, ModelInstance, RunOptions } from './backend.js';
import {
  dataTypeOfOrt,
  ortTypeOf,
  type FromWorker,
  type WireTensor,
  type WorkerInit,
  type WorkerSpec,
} from './backend-onnxruntime-types.js';
import { detailsOf, internalError, ModelServeError } from './errors.js';
import type { ModelSignature, TensorSpec } from './metadata.js';
import { numericArrayOf, type NamedTensor, type NumericTensorData } from './tensor.js';

// A plain JavaScript file next to this one, in src/ (tests) as in dist/ (builds): no build needed to test.
const workerUrl = new URL('./backend-onnxruntime-worker.js', import.meta.url);

const utf8 = new TextDecoder('utf-8', { fatal: true });
const utf8Encoder = new TextEncoder();

/** onnxruntime errors that mean the request did not fit the model. */
const inputErrorPattern = /invalid rank|invalid dimensions|unexpected input data type|input .* is missing|invalid feed input name|broadcast/i;

/** The backend that runs ONNX models with onnxruntime-node in worker threads. */
export class OnnxRuntimeBackend implements Backend {
  readonly name = 'onnxruntime';

  async createInstance(options: InstanceOptions): Promise<ModelInstance> {
    return OnnxRuntimeInstance.start(options);
  }
}

interface Pending {
  resolve(outputs: NamedTensor[]): void;
  reject(error: Error): void;
}

class OnnxRuntimeInstance implements ModelInstance {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private closed = false;
  /** Why runs are refused once closed: unloaded, or failed for good. */
  private closedWhy = '';
  /** Set while a worker that died is being replaced; runs wait for it. */
  private restarting: Promise<void> | undefined;
  /** Workers started to replace ones that died. */
  restarts = 0;

  private constructor(
    private worker: Worker,
    private readonly options: InstanceOptions,
    readonly signature: ModelSignature,
  ) {
    this.watch(worker);
  }

  private get label(): string {
    return this.options.label;
  }

  static async start(options: InstanceOptions): Promise<OnnxRuntimeInstance> {
    const { worker, loaded } = await spawnWorker(options);
    let signature: ModelSignature;
    try {
      signature = { inputs: toSpecs(loaded.inputs, options.label, 'input'), outputs: toSpecs(loaded.outputs, options.label, 'output') };
    } catch (error) {
      await worker.terminate();
      throw error;
    }
    return new OnnxRuntimeInstance(worker, options, signature);
  }

  private watch(worker: Worker): void {
    worker.on('message', (message: FromWorker) => this.onMessage(message));
    worker.on('error', (error) => this.died(worker, `worker failed: ${error.message}`));
    worker.on('exit', (code) => this.died(worker, `worker exited with code ${code}`));
  }

  /**
   * A worker that dies (a crash in onnxruntime, an out-of-memory kill of the thread) fails the
   * runs it held with Internal and is replaced by a new one; runs meanwhile wait for it. When the
   * new one cannot load the model (the file was removed or broken since), the instance fails for
   * good and says so through `onFailed`.
   */
  private died(worker: Worker, reason: string): void {
    if (this.closed || worker !== this.worker) return;
    for (const pending of this.pending.values()) pending.reject(new ModelServeError('Internal', `${this.label}: ${reason}; the run was lost and the instance restarts`));
    this.pending.clear();
    this.restarts++;
    this.restarting ??= spawnWorker(this.options).then(
      ({ worker: fresh }) => {
        this.restarting = undefined;
        if (this.closed) {
          void fresh.terminate();
          return;
        }
        this.worker = fresh;
        this.watch(fresh);
      },
      (error: unknown) => {
        this.restarting = undefined;
        if (this.closed) return;
        const why = `${reason} and could not restart: ${detailsOf(error)}`;
        this.fail(`${this.label}: ${why}`);
        this.options.onFailed?.(why);
      },
    );
  }

  run(inputs: NamedTensor[], outputs: readonly string[], options: RunOptions = {}): Promise<NamedTensor[]> {
    if (this.closed) return Promise.reject(new ModelServeError('Unavailable', this.closedWhy));
    if (this.restarting !== undefined) return this.restarting.then(() => this.run(inputs, outputs, options));
    const transfer: ArrayBuffer[] = [];
    const movable = options.movable === true;
    const wire: WireTensor[] = inputs.map((t) => toWire(t, this.label, movable, transfer));
    const id = this.nextId++;
    return new Promise<NamedTensor[]>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ kind: 'run', id, inputs: wire, outputs: [...outputs] }, transfer);
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.fail(`${this.label} was unloaded`, `${this.label} is unloading`);
    await this.worker.terminate();
  }

  private onMessage(message: FromWorker): void {
    if (message.kind !== 'result' && message.kind !== 'run-failed') return;
    const pending = this.pending.get(message.id);
    if (pending === undefined) return;
    this.pending.delete(message.id);
    if (message.kind === 'run-failed') {
      const code = inputErrorPattern.test(message.message) ? 'InvalidArgument' : 'Internal';
      pending.reject(new ModelServeError(code, `${this.label}: onnxruntime: ${message.message}`));
      return;
    }
    try {
      pending.resolve(message.outputs.map((t) => fromWire(t, this.label)));
    } catch (error) {
      pending.reject(internalError(error));
    }
  }

  /** Closes the instance to runs: pending ones fail with `Unavailable` and `reason`, later ones with `later`. */
  private fail(reason: string, later = reason): void {
    this.closed = true;
    this.closedWhy = later;
    for (const pending of this.pending.values()) pending.reject(new ModelServeError('Unavailable', reason));
    this.pending.clear();
  }
}

/** A worker with its session loaded; `FailedPrecondition` with onnxruntime's reason when it cannot load. */
async function spawnWorker(options: InstanceOptions): Promise<{ worker: Worker; loaded: Extract<FromWorker, { kind: 'loaded' }> }> {
  const init: WorkerInit = { modelFile: options.modelFile, intraOpThreads: options.intraOpThreads };
  const worker = new Worker(workerUrl, { workerData: init });
  const loaded = await firstMessage(worker);
  if (loaded.kind !== 'loaded') {
    await worker.terminate();
    const message = loaded.kind === 'load-failed' ? loaded.message : 'unexpected message while loading';
    throw new ModelServeError('FailedPrecondition', `onnxruntime cannot load ${options.label}: ${message}`);
  }
  return { worker, loaded };
}

/** The worker's first message, or a load failure if it dies first. Leaves no listeners behind. */
function firstMessage(worker: Worker): Promise<FromWorker> {
  return new Promise((resolve) => {
    const done = (message: FromWorker): void => {
      worker.off('message', done);
      worker.off('error', onError);
      worker.off('exit', onExit);
      resolve(message);
    };
    const onError = (error: Error): void => done({ kind: 'load-failed', message: error.message });
    const onExit = (code: number): void => done({ kind: 'load-failed', message: `worker exited with code ${code} while loading` });
    worker.on('message', done);
    worker.on('error', onError);
    worker.on('exit', onExit);
  });
}

function toSpecs(list: WorkerSpec[], label: string, kind: string): TensorSpec[] {
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

function toWire(t: NamedTensor, label: string, movable: boolean, transfer: ArrayBuffer[]): WireTensor {
  const type = ortTypeOf[t.datatype];
  if (type === undefined) throw new ModelServeError('InvalidArgument', `${label}: datatype ${t.datatype} is not supported by onnxruntime`);
  if (t.datatype === 'BYTES') {
    const data = (t.data as Uint8Array[]).map((bytes, i) => {
      try {
        return utf8.decode(bytes);
      } catch {
        throw new ModelServeError('InvalidArgument', `${label} input '${t.name}': BYTES element ${i} is not valid UTF-8, which onnxruntime string tensors require`);
      }
    });
    return { name: t.name, type, dims: t.shape, data };
  }
  // Movable inputs (whole arrays nobody else holds) move as they are; anything else is copied once.
  const numeric = t.data as NumericTensorData;
  const whole = numeric.byteOffset === 0 && numeric.byteLength === numeric.buffer.byteLength && numeric.buffer instanceof ArrayBuffer;
  const data = movable && whole ? numeric : numeric.slice();
  transfer.push(data.buffer as ArrayBuffer);
  return { name: t.name, type, dims: t.shape, data };
}

function fromWire(t: WireTensor, label: string): NamedTensor {
  const datatype = dataTypeOfOrt(t.type);
  if (datatype === undefined) throw new ModelServeError('Internal', `${label}: output '${t.name}' has unsupported type ${t.type}`);
  if (datatype === 'BYTES') {
    return { name: t.name, datatype, shape: t.dims, data: (t.data as string[]).map((s) => utf8Encoder.encode(s)) };
  }
  const view = t.data as ArrayBufferView;
  const size = (view as Uint8Array).BYTES_PER_ELEMENT;
  const data = new numericArrayOf[datatype](view.buffer, view.byteOffset, view.byteLength / size);
  return { name: t.name, datatype, shape: t.dims, data } as NamedTensor;
}
