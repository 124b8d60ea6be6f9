// Test-only helpers around onnxruntime-node (excluded from the build: the library itself
// must not depend on ORT). The namespace import works under ESM because ORT's CommonJS
// entry uses tsc's `exports.X = ...` pattern, which Node's cjs-module-lexer detects.
import * as ort from 'onnxruntime-node';
import type { OnnxElementType } from '../element-types.js';

export { ort };
export { maxRelativeDiff } from '../compare.js';

/** Element types onnxruntime-node can feed (everything except bfloat16). */
export type OrtElementType = Exclude<OnnxElementType, 'bfloat16'>;

/**
 * Loads model bytes into a CPU session. Severity 4 (fatal only) keeps ORT's native log quiet
 * in tests that provoke failures on purpose; the errors still reach us as rejections.
 */
export function load(bytes: Uint8Array): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(bytes, { logSeverityLevel: 4 });
}

/** Runs a single-input single-output FP32 model and returns `output`. */
export async function runFloat(
  session: ort.InferenceSession,
  input: Float32Array,
  dims: readonly number[],
): Promise<Float32Array> {
  const result = await session.run({ input: new ort.Tensor('float32', input, dims) });
  const output = result.output;
  if (!output || output.type !== 'float32') throw new Error('model produced no float32 `output`');
  return output.data as Float32Array;
}

/** Three edge-case values per element type, in the JS container ORT expects for it. */
export function sampleData(type: OrtElementType): ort.Tensor['data'] {
  switch (type) {
    case 'bool': return Uint8Array.of(1, 0, 1);
    case 'uint8': return Uint8Array.of(0, 255, 7);
    case 'uint16': return Uint16Array.of(0, 65535, 7);
    case 'uint32': return Uint32Array.of(0, 4294967295, 7);
    case 'uint64': return BigUint64Array.of(0n, 2n ** 64n - 1n, 7n);
    case 'int8': return Int8Array.of(-128, 127, 0);
    case 'int16': return Int16Array.of(-32768, 32767, 0);
    case 'int32': return Int32Array.of(-2147483648, 2147483647, 0);
    case 'int64': return BigInt64Array.of(-(2n ** 63n), 2n ** 63n - 1n, 0n);
    // float16 travels as raw IEEE half bits: 1.0, -2.0, 65504 (max finite).
    case 'float16': return Uint16Array.of(0x3c00, 0xc000, 0x7bff);
    case 'float32': return Float32Array.of(1.5, -0, 3.4e38);
    case 'float64': return Float64Array.of(Math.PI, -1e300, 5e-324);
    case 'string': return ['', 'héllo ✓', 'with space'];
  }
}

/** A [3] tensor of `sampleData(type)`. */
export function sampleTensor(type: OrtElementType): ort.Tensor {
  return new ort.Tensor(type, sampleData(type) as never, [3]);
}

/** Seeded pseudo-pixels in [0, 1), like normalized MNIST input. */
export function pixels(count: number, seed: number): Float32Array {
  const out = new Float32Array(count);
  let s = seed >>> 0;
  for (let i = 0; i < count; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 4294967296;
  }
  return out;
}

/** Largest |a[i] - b[i]|; throws on a length mismatch so a wrong shape never passes silently. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs((a[i] ?? NaN) - (b[i] ?? NaN)));
  return max;
}

