// @ts-check
/**
 * The worker thread that owns one onnxruntime session. `InferenceSession.run` blocks the thread
 * it is called on, so it must never run on the gRPC event loop.
 *
 * Plain JavaScript (type-checked through JSDoc) because Node 20 cannot start a worker from a `.ts`
 * file: written this way, the same file runs from src/ under vitest and from dist/ when built, and
 * the unit tests need no build first.
 */
/** @import { FromWorker, ToWorker, WireTensor, WorkerInit, WorkerSpec } from './backend-onnxruntime-types.js' */
import { parentPort, workerData } from 'node:worker_threads';
import ort from 'onnxruntime-node';

const port = parentPort;
if (port === null) throw new Error('backend-onnxruntime-worker must run in a worker thread');
const init = /** @type {WorkerInit} */ (workerData);

/**
 * @param {FromWorker} message
 * @param {ArrayBuffer[]} [transfer]
 */
function post(message, transfer = []) {
  port?.postMessage(message, transfer);
}

/**
 * @param {readonly ort.InferenceSession.ValueMetadata[]} list
 * @returns {WorkerSpec[]}
 */
function specs(list) {
  return list.map((m) =>
    m.isTensor
      ? { name: m.name, isTensor: true, type: m.type, shape: [...m.shape] }
      : { name: m.name, isTensor: false, type: '', shape: [] },
  );
}

/**
 * An output's bytes, moved rather than copied when the array owns its whole buffer.
 * @param {ArrayBufferView} data
 * @param {ArrayBuffer[]} transfer
 * @returns {ArrayBufferView}
 */
function transferable(data, transfer) {
  const owns = data.byteOffset === 0 && data.byteLength === data.buffer.byteLength && data.buffer instanceof ArrayBuffer;
  const view = owns ? data : /** @type {Uint8Array} */ (data).slice();
  transfer.push(/** @type {ArrayBuffer} */ (view.buffer));
  return view;
}

async function main() {
  /** @type {ort.InferenceSession} */
  let session;
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
    post({ kind: 'load-failed', message: /** @type {Error} */ (error).message });
    return;
  }
  post({ kind: 'loaded', inputs: specs(session.inputMetadata), outputs: specs(session.outputMetadata) });

  port?.on('message', (/** @type {ToWorker} */ message) => {
    void run(session, message);
  });
}

/**
 * @param {ort.InferenceSession} session
 * @param {ToWorker} message
 */
async function run(session, message) {
  try {
    /** @type {Record<string, ort.Tensor>} */
    const feeds = {};
    for (const t of message.inputs) {
      feeds[t.name] = new ort.Tensor(/** @type {ort.Tensor.Type} */ (t.type), /** @type {ort.Tensor.DataType} */ (t.data), t.dims);
    }
    const fetches = message.outputs.length > 0 ? message.outputs : session.outputNames;
    const results = await session.run(feeds, /** @type {string[]} */ (fetches), { logSeverityLevel: 4 });
    /** @type {WireTensor[]} */
    const outputs = [];
    /** @type {ArrayBuffer[]} */
    const transfer = [];
    for (const name of fetches) {
      const value = results[name];
      if (value === undefined) throw new Error(`onnxruntime returned no output '${name}'`);
      const data = value.type === 'string' ? /** @type {string[]} */ (value.data) : transferable(/** @type {ArrayBufferView} */ (value.data), transfer);
      outputs.push({ name, type: value.type, dims: [...value.dims], data });
    }
    post({ kind: 'result', id: message.id, outputs }, transfer);
  } catch (error) {
    post({ kind: 'run-failed', id: message.id, message: /** @type {Error} */ (error).message });
  }
}

void main();
