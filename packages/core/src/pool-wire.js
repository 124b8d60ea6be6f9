// @ts-check
/**
 * The hop between the event loop and an inference pool thread, shared by both sides.
 *
 * Each pool thread has one control block (a SharedArrayBuffer of Int32 words and two rings of
 * session slots) and each session on it an area (a SharedArrayBuffer) that carries its run's
 * tensors in and its outputs back. A session runs one request at a time, so its area is never
 * written by both sides at once, and a ring of slot numbers is all the queue a thread needs.
 * Nothing is structured-cloned; the thread sleeps in `Atomics.wait` (a futex, no event-loop
 * wake-up) and the event loop learns of results through `Atomics.waitAsync`.
 *
 * Plain JavaScript (type-checked through JSDoc) because the pool worker, which Node 20 cannot
 * start from a `.ts` file, imports it too.
 */

/** Word indices in the control block. */
export const SIGNAL = 0; // bumped by the event loop for every request and control message: what the thread sleeps on
export const REQ_HEAD = 1; // requests pushed (event loop)
export const REQ_TAIL = 2; // requests taken (thread)
export const RESP_HEAD = 3; // results pushed (thread): what the event loop waits on
export const POSTED = 4; // control messages posted (event loop)
export const RUNNING = 5; // slot + 1 of the session running now, 0 when none (for crash reports)
const HEADER_WORDS = 16;

/** Entries per ring: more than the sessions a thread can hold, each with at most one run queued. */
export const RING = 65536;

/** A new control block: header, request ring, result ring. */
export function controlBlock() {
  return new SharedArrayBuffer(4 * (HEADER_WORDS + 2 * RING));
}

/** @param {SharedArrayBuffer} block */
export function controlViews(block) {
  return {
    ctl: new Int32Array(block, 0, HEADER_WORDS),
    requests: new Int32Array(block, 4 * HEADER_WORDS, RING),
    results: new Int32Array(block, 4 * (HEADER_WORDS + RING), RING),
  };
}

/** An area's header: payload bytes and status; the payload follows, 8-byte aligned. */
export const AREA_HEADER = 64;
export const STATUS_OK = 0;
export const STATUS_ERROR = 1; // payload: the error message, UTF-8
export const STATUS_BY_MESSAGE = 2; // the outputs did not fit: they come by postMessage

/** The first area of a session; larger ones are made when a request needs them. */
export const FIRST_AREA_BYTES = 4 * 1024;

/** onnxruntime type names by wire code, and the arrays their data lives in. */
export const TYPES = /** @type {const} */ (['float32', 'uint8', 'int8', 'uint16', 'int16', 'int32', 'int64', 'string', 'bool', 'float16', 'float64', 'uint32', 'uint64']);
const ARRAYS = [Float32Array, Uint8Array, Int8Array, Uint16Array, Int16Array, Int32Array, BigInt64Array, undefined, Uint8Array, Uint16Array, Float64Array, Uint32Array, BigUint64Array];
/** @type {Map<string, number>} */
const CODES = new Map(TYPES.map((t, i) => [t, i]));

/** @param {string} type */
export function typeCode(type) {
  const code = CODES.get(type);
  if (code === undefined) throw new Error(`type ${type} cannot cross to a pool thread`);
  return code;
}

/**
 * One tensor on the wire: `index` is its place among the session's inputs (or outputs), so names
 * never cross; numbers are any typed array, strings are UTF-8 byte strings.
 * @typedef {{ index: number, type: number, dims: readonly number[], data: ArrayBufferView | readonly Uint8Array[] }} WireTensor
 */

const align8 = (/** @type {number} */ n) => (n + 7) & ~7;

/**
 * Bytes `tensors` and `outputs` take in an area (an upper bound).
 * @param {readonly WireTensor[]} tensors
 * @param {number} outputs
 */
export function encodedSize(tensors, outputs) {
  let size = AREA_HEADER + 8 + 4 * outputs;
  for (const t of tensors) {
    size += 24 + 8 * t.dims.length + 8;
    if (t.type === 7) for (const s of /** @type {readonly Uint8Array[]} */ (t.data)) size += 4 + s.byteLength;
    else size += align8(/** @type {ArrayBufferView} */ (t.data).byteLength);
  }
  return size;
}

/**
 * Writes tensors (and, for a request, the output indices wanted) into an area after its header;
 * returns the payload's length. The caller made sure it fits (`encodedSize`).
 * @param {SharedArrayBuffer} area
 * @param {readonly WireTensor[]} tensors
 * @param {readonly number[]} outputs
 */
export function encode(area, tensors, outputs) {
  const view = new DataView(area);
  const bytes = new Uint8Array(area);
  let at = AREA_HEADER;
  view.setUint32(at, tensors.length, true);
  view.setUint32(at + 4, outputs.length, true);
  at += 8;
  for (const index of outputs) {
    view.setUint32(at, index, true);
    at += 4;
  }
  for (const t of tensors) {
    at = align8(at);
    view.setUint32(at, t.index, true);
    view.setUint32(at + 4, t.type, true);
    view.setUint32(at + 8, t.dims.length, true);
    at += 16;
    for (const d of t.dims) {
      view.setFloat64(at, d, true);
      at += 8;
    }
    if (t.type === 7) {
      const strings = /** @type {readonly Uint8Array[]} */ (t.data);
      view.setUint32(at, strings.length, true);
      at += 4;
      for (const s of strings) {
        view.setUint32(at, s.byteLength, true);
        bytes.set(s, at + 4);
        at += 4 + s.byteLength;
      }
    } else {
      const data = /** @type {ArrayBufferView} */ (t.data);
      view.setUint32(at, data.byteLength, true);
      at = align8(at + 4);
      bytes.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), at);
      at += data.byteLength;
    }
  }
  view.setInt32(0, at - AREA_HEADER, true);
  return at - AREA_HEADER;
}

/**
 * Reads what `encode` wrote. With `copy`, numbers are copied out into arrays of their own (the
 * area is reused by the next run, and onnxruntime-node refuses arrays over shared memory);
 * without, they are views of the area.
 * @param {SharedArrayBuffer} area
 * @param {boolean} copy
 * @returns {{ tensors: WireTensor[], outputs: number[] }}
 */
export function decode(area, copy) {
  const view = new DataView(area);
  let at = AREA_HEADER;
  const count = view.getUint32(at, true);
  const outputCount = view.getUint32(at + 4, true);
  at += 8;
  /** @type {number[]} */
  const outputs = [];
  for (let i = 0; i < outputCount; i++, at += 4) outputs.push(view.getUint32(at, true));
  /** @type {WireTensor[]} */
  const tensors = [];
  for (let i = 0; i < count; i++) {
    at = align8(at);
    const index = view.getUint32(at, true);
    const type = view.getUint32(at + 4, true);
    const rank = view.getUint32(at + 8, true);
    at += 16;
    /** @type {number[]} */
    const dims = [];
    for (let d = 0; d < rank; d++, at += 8) dims.push(view.getFloat64(at, true));
    if (type === 7) {
      const n = view.getUint32(at, true);
      at += 4;
      /** @type {Uint8Array[]} */
      const strings = [];
      for (let s = 0; s < n; s++) {
        const length = view.getUint32(at, true);
        strings.push(new Uint8Array(area, at + 4, length).slice());
        at += 4 + length;
      }
      tensors.push({ index, type, dims, data: strings });
      continue;
    }
    const byteLength = view.getUint32(at, true);
    at = align8(at + 4);
    const TypedArray = /** @type {new (buffer: ArrayBufferLike, offset?: number, length?: number) => ArrayBufferView} */ (ARRAYS[type]);
    const elementBytes = /** @type {{ BYTES_PER_ELEMENT: number }} */ (/** @type {unknown} */ (TypedArray)).BYTES_PER_ELEMENT;
    let data;
    if (copy) {
      const own = new ArrayBuffer(byteLength);
      new Uint8Array(own).set(new Uint8Array(area, at, byteLength));
      data = new TypedArray(own, 0, byteLength / elementBytes);
    } else {
      data = new TypedArray(area, at, byteLength / elementBytes);
    }
    tensors.push({ index, type, dims, data });
    at += byteLength;
  }
  return { tensors, outputs };
}

/**
 * The error message a failed run left in its area.
 * @param {SharedArrayBuffer} area
 */
export function readError(area) {
  const length = new Int32Array(area, 0, 1)[0] ?? 0;
  return Buffer.from(area, AREA_HEADER, length).toString('utf8');
}

/**
 * Writes a failed run's message into its area (cut to fit).
 * @param {SharedArrayBuffer} area
 * @param {string} message
 */
export function writeError(area, message) {
  const written = Buffer.from(area, AREA_HEADER).write(message, 'utf8');
  new Int32Array(area, 0, 1)[0] = written;
}

/** @param {SharedArrayBuffer} area @param {number} status */
export function setStatus(area, status) {
  new Int32Array(area, 4, 1)[0] = status;
}

/** @param {SharedArrayBuffer} area */
export function statusOf(area) {
  return new Int32Array(area, 4, 1)[0] ?? STATUS_ERROR;
}

/** How long the run took on the thread, in nanoseconds (header word 2). @param {SharedArrayBuffer} area @param {number} nanos */
export function setRunNanos(area, nanos) {
  new Int32Array(area, 8, 1)[0] = Math.min(nanos, 2 ** 31 - 1);
}

/** @param {SharedArrayBuffer} area */
export function runNanosOf(area) {
  return new Int32Array(area, 8, 1)[0] ?? 0;
}
