// @ts-check
/**
 * One thread of the inference pool: it hosts onnxruntime sessions of any number of model
 * versions and runs one request at a time, in the order the event loop queued them (see
 * pool-wire.js for the hop). `InferenceSession.run` blocks the thread it is called on, which is
 * why it never runs on the gRPC event loop.
 *
 * Between runs the thread sleeps in `Atomics.wait` on the control block's SIGNAL word. Control
 * messages (load, unload, a larger area) come by `postMessage`; the event loop bumps POSTED and
 * SIGNAL after each, and the thread returns to its event loop to read them before anything else.
 */
/** @import { PoolToThread, ThreadToPool, ThreadSpec } from './inference-pool-types.js' */
import { parentPort, workerData } from 'node:worker_threads';
import ort from 'onnxruntime-node';
import {
  controlViews,
  decode,
  encode,
  encodedSize,
  POSTED,
  REQ_HEAD,
  REQ_TAIL,
  RESP_HEAD,
  RING,
  RUNNING,
  setRunNanos,
  setStatus,
  SIGNAL,
  STATUS_BY_MESSAGE,
  STATUS_ERROR,
  STATUS_OK,
  TYPES,
  typeCode,
  writeError,
} from './pool-wire.js';

const port = parentPort;
if (port === null) throw new Error('pool-worker must run in a worker thread');
const { ctl, requests, results } = controlViews(/** @type {{ control: SharedArrayBuffer }} */ (workerData).control);

/** @typedef {{ session: ort.InferenceSession, area: SharedArrayBuffer, inputNames: readonly string[], outputNames: readonly string[] }} Hosted */
/** @type {Map<number, Hosted>} */
const sessions = new Map();

let handled = 0; // control messages read
let tail = 0; // requests taken
let head = 0; // results pushed
let running = false;
let loading = 0; // loads and unloads under way: they need the event loop, so the thread must not sleep

/** @param {ThreadToPool} message @param {ArrayBuffer[]} [transfer] */
const post = (message, transfer = []) => port.postMessage(message, transfer);

/**
 * Takes the next request, or sleeps until there is something to do. Returns whenever the event
 * loop is needed: a control message to read, a run or a load in progress.
 */
function pump() {
  if (running) return;
  for (;;) {
    const signal = Atomics.load(ctl, SIGNAL);
    if (handled < Atomics.load(ctl, POSTED)) return; // its 'message' handler calls pump again
    if (tail < Atomics.load(ctl, REQ_HEAD)) {
      const slot = /** @type {number} */ (requests[tail % RING]);
      Atomics.store(ctl, REQ_TAIL, ++tail);
      start(slot);
      return;
    }
    if (loading > 0) return;
    Atomics.wait(ctl, SIGNAL, signal);
  }
}

/** @param {number} slot */
function start(slot) {
  const hosted = sessions.get(slot);
  if (hosted === undefined) {
    // Not hosted here (unloaded while its request was queued, or not loaded yet on a new thread):
    // its area is not this thread's to answer in, so the ring entry itself says so (~slot < 0).
    finish(~slot);
    return;
  }
  running = true;
  Atomics.store(ctl, RUNNING, slot + 1);
  try {
    // Copied out: onnxruntime-node refuses arrays over shared memory ("Invalid argument").
    const { tensors, outputs } = decode(hosted.area, true);
    /** @type {Record<string, ort.Tensor>} */
    const feeds = {};
    for (const t of tensors) {
      const data = t.type === 7 ? /** @type {Uint8Array[]} */ (t.data).map((s) => Buffer.from(s.buffer, s.byteOffset, s.byteLength).toString('utf8')) : t.data;
      feeds[/** @type {string} */ (hosted.inputNames[t.index])] = new ort.Tensor(/** @type {ort.Tensor.Type} */ (TYPES[t.type]), /** @type {ort.Tensor.DataType} */ (data), [...t.dims]);
    }
    const wanted = outputs.length > 0 ? outputs : hosted.outputNames.map((_, i) => i);
    const started = performance.now();
    hosted.session.run(feeds, wanted.map((i) => /** @type {string} */ (hosted.outputNames[i])), { logSeverityLevel: 4 }).then(
      (values) => {
        setRunNanos(hosted.area, Math.round((performance.now() - started) * 1e6));
        answered(slot, hosted, wanted, values);
      },
      (/** @type {Error} */ error) => failed(slot, hosted, error.message),
    );
  } catch (error) {
    failed(slot, hosted, /** @type {Error} */ (error).message);
  }
}

/**
 * @param {number} slot
 * @param {Hosted} hosted
 * @param {number[]} wanted
 * @param {ort.InferenceSession.ReturnType} values
 */
function answered(slot, hosted, wanted, values) {
  try {
    const tensors = wanted.map((index) => {
      const name = /** @type {string} */ (hosted.outputNames[index]);
      const value = values[name];
      if (value === undefined) throw new Error(`onnxruntime returned no output '${name}'`);
      const data = value.type === 'string' ? /** @type {string[]} */ (value.data).map((s) => Buffer.from(s, 'utf8')) : /** @type {ArrayBufferView} */ (value.data);
      return { index, type: typeCode(value.type), dims: value.dims, data };
    });
    if (encodedSize(tensors, 0) <= hosted.area.byteLength) {
      encode(hosted.area, tensors, []);
      setStatus(hosted.area, STATUS_OK);
    } else {
      // Too large for the area: the outputs move by message (their buffers transferred, not copied).
      /** @type {ArrayBuffer[]} */
      const transfer = [];
      const moved = tensors.map((t) => {
        if (t.type === 7) return t;
        const data = /** @type {ArrayBufferView} */ (t.data);
        const owns = data.byteOffset === 0 && data.byteLength === data.buffer.byteLength && data.buffer instanceof ArrayBuffer;
        const own = owns ? data : new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
        transfer.push(/** @type {ArrayBuffer} */ (own.buffer));
        return { ...t, data: own };
      });
      setStatus(hosted.area, STATUS_BY_MESSAGE);
      post({ kind: 'outputs', slot, tensors: moved }, transfer);
    }
  } catch (error) {
    writeError(hosted.area, /** @type {Error} */ (error).message);
    setStatus(hosted.area, STATUS_ERROR);
  }
  ran(slot);
}

/** @param {number} slot @param {Hosted} hosted @param {string} message */
function failed(slot, hosted, message) {
  writeError(hosted.area, message);
  setStatus(hosted.area, STATUS_ERROR);
  ran(slot);
}

/** @param {number} slot */
function ran(slot) {
  running = false;
  Atomics.store(ctl, RUNNING, 0);
  finish(slot);
  pump();
}

/** Tells the event loop `slot`'s run is over (its area holds the answer; ~slot: the session is not hosted here). @param {number} slot */
function finish(slot) {
  results[head % RING] = slot;
  Atomics.store(ctl, RESP_HEAD, ++head);
  Atomics.notify(ctl, RESP_HEAD);
}

/** @param {readonly ort.InferenceSession.ValueMetadata[]} list @returns {ThreadSpec[]} */
function specs(list) {
  return list.map((m) => (m.isTensor ? { name: m.name, isTensor: true, type: m.type, shape: [...m.shape] } : { name: m.name, isTensor: false, type: '', shape: [] }));
}

/** @param {Extract<PoolToThread, { kind: 'load' }>} message */
async function load(message) {
  try {
    const session = await ort.InferenceSession.create(message.modelFile, {
      intraOpNumThreads: message.intraOpThreads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
      // Failures reach the caller as errors; onnxruntime's own stderr lines would only repeat them.
      logSeverityLevel: 3,
    });
    sessions.set(message.slot, { session, area: message.area, inputNames: session.inputNames, outputNames: session.outputNames });
    post({ kind: 'loaded', slot: message.slot, inputs: specs(session.inputMetadata), outputs: specs(session.outputMetadata) });
  } catch (error) {
    post({ kind: 'load-failed', slot: message.slot, message: /** @type {Error} */ (error).message });
  }
}

/** @param {number} slot */
async function unload(slot) {
  const hosted = sessions.get(slot);
  sessions.delete(slot);
  await hosted?.session.release().catch(() => undefined);
  post({ kind: 'unloaded', slot });
}

port.on('message', (/** @type {PoolToThread} */ message) => {
  handled++;
  if (message.kind === 'area') {
    const hosted = sessions.get(message.slot);
    if (hosted !== undefined) hosted.area = message.area;
  } else {
    loading++;
    const done = message.kind === 'load' ? load(message) : unload(message.slot);
    void done.finally(() => {
      loading--;
      pump();
    });
  }
  pump();
});

post({ kind: 'ready' });
pump();
