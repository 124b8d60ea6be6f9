/**
 * The worker thread that owns one onnxruntime session. `InferenceSession.run` blocks the thread
 * it is called on, so it must never run on the gRPC event loop.
 */
import { parentPort, workerData } from 'node:worker_threads';
import ort from 'onnxruntime-node';
import type { FromWorker, ToWorker, WireTensor, WorkerInit, WorkerSpec } from './backend-onnxruntime-types.js';

const port = parentPort;
if (port === null) throw new Error('backend-onnxruntime-worker must run in a worker thread');
const init = workerData as WorkerInit;

function post(message: FromWorker, transfer: ArrayBuffer[] = []): void {
  port!.postMessage(message, transfer);
}

function specs(list: readonly ort.InferenceSession.ValueMetadata[]): WorkerSpec[] {
  return list.map((m) =>
    m.isTensor
      ? { name: m.name, isTensor: true, type: m.type, shape: [...m.shape] }
      : { name: m.name, isTensor: false, type: '', shape: [] },
  );
}

/** An output's bytes, moved rather than copied when the array owns its whole buffer. */
function transferable(data: ArrayBufferView, transfer: ArrayBuffer[]): ArrayBufferView {
  const owns = data.byteOffset === 0 && data.byteLength === data.buffer.byteLength && data.buffer instanceof ArrayBuffer;
  const view = owns ? data : (data as Uint8Array).slice();
  transfer.push(view.buffer as ArrayBuffer);
  return view;
}

async function main(): Promise<void> {
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(init.modelFile, {
      intraOpNumThreads: init.intraOpThreads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
      // Failures reach the caller as errors; onnxruntime's own stderr lines would only repeat them.
      logSeverityLevel: 3,
    });
  } catch (error) {
    post({ kind: 'load-failed', message: (error as Error).message });
    return;
  }
  post({ kind: 'loaded', inputs: specs(session.inputMetadata), outputs: specs(session.outputMetadata) });

  port!.on('message', (message: ToWorker) => {
    void run(session, message);
  });
}

async function run(session: ort.InferenceSession, message: ToWorker): Promise<void> {
  try {
    const feeds: Record<string, ort.Tensor> = {};
    for (const t of message.inputs) {
      feeds[t.name] = new ort.Tensor(t.type as ort.Tensor.Type, t.data as ort.Tensor.DataType, t.dims);
    }
    const fetches = message.outputs.length > 0 ? message.outputs : session.outputNames;
    const results = await session.run(feeds, fetches as string[], { logSeverityLevel: 4 });
    const outputs: WireTensor[] = [];
    const transfer: ArrayBuffer[] = [];
    for (const name of fetches) {
      const value = results[name];
      if (value === undefined) throw new Error(`onnxruntime returned no output '${name}'`);
      const data = value.type === 'string' ? (value.data as string[]) : transferable(value.data as ArrayBufferView, transfer);
      outputs.push({ name, type: value.type, dims: [...value.dims], data });
    }
    post({ kind: 'result', id: message.id, outputs }, transfer);
  } catch (error) {
    post({ kind: 'run-failed', id: message.id, message: (error as Error).message });
  }
}

void main();
