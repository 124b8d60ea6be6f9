/**
 * Concatenating requests along the batch (first) dimension and splitting outputs back.
 */
import { ModelServeError } from './errors.js';
import type { NamedTensor, NumericTensorData } from './tensor.js';

/**
 * Requests merge only when every input has the same datatype and the same dimensions after the
 * first; this key says which ones may.
 */
export function batchKey(inputs: readonly NamedTensor[]): string {
  return inputs.length === 1 ? inputKey(inputs[0]!) : inputs.map(inputKey).sort().join('|');
}

function inputKey(t: NamedTensor): string {
  let key = `${t.name}:${t.datatype}:`;
  for (let i = 1; i < t.shape.length; i++) key += i === 1 ? `${t.shape[i]}` : `x${t.shape[i]}`;
  return key;
}

/** The batch size of a request: the first dimension of its inputs (1 for a scalar). */
export function batchSizeOf(inputs: readonly NamedTensor[]): number {
  return inputs[0]?.shape[0] ?? 1;
}

/**
 * The inputs of one or more requests (same batch key) as one batch, copied once into fresh arrays
 * that belong to the batch alone, so a backend may move them to another thread.
 */
export function concatInputs(requests: ReadonlyArray<readonly NamedTensor[]>): NamedTensor[] {
  const first = requests[0]!;
  if (requests.length === 1) {
    return first.map((t) => (t.datatype === 'BYTES' ? t : ({ ...t, data: copyOf([t.data as NumericTensorData], t.data.length) } as NamedTensor)));
  }
  const total = requests.reduce((sum, inputs) => sum + batchSizeOf(inputs), 0);
  return first.map((template) => {
    const parts = requests.map((inputs) => inputs.find((t) => t.name === template.name)!);
    const shape = [total, ...template.shape.slice(1)];
    if (template.datatype === 'BYTES') {
      return { name: template.name, datatype: 'BYTES', shape, data: parts.flatMap((p) => p.data as Uint8Array[]) };
    }
    const length = parts.reduce((sum, p) => sum + p.data.length, 0);
    const data = copyOf(parts.map((p) => p.data as NumericTensorData), length);
    return { name: template.name, datatype: template.datatype, shape, data } as NamedTensor;
  });
}

type NumericView = new (buffer: ArrayBuffer, byteOffset: number, length: number) => NumericTensorData;

/** `parts` one after another in a new array of their type that owns its whole buffer (not zero-filled first). */
function copyOf(parts: readonly NumericTensorData[], length: number): NumericTensorData {
  const first = parts[0]!;
  const bytes = Buffer.allocUnsafeSlow(length * first.BYTES_PER_ELEMENT);
  const data = new (first.constructor as NumericView)(bytes.buffer as ArrayBuffer, 0, length);
  let offset = 0;
  for (const part of parts) {
    (data as Float32Array).set(part as Float32Array, offset);
    offset += part.length;
  }
  return data;
}

/** Splits a batch's outputs back into one list per request, as views (no copies). */
export function splitOutputs(label: string, outputs: readonly NamedTensor[], sizes: readonly number[]): NamedTensor[][] {
  if (sizes.length === 1) return [[...outputs]];
  const total = sizes.reduce((a, b) => a + b, 0);
  const perRequest: NamedTensor[][] = sizes.map(() => []);
  for (const output of outputs) {
    if (output.shape[0] !== total) {
      throw new ModelServeError(
        'Internal',
        `${label}: output '${output.name}' has first dimension ${output.shape[0]}, expected the batch size ${total}; the model cannot be batched (set max_batch_size: 0)`,
      );
    }
    const rowLength = total === 0 ? 0 : output.data.length / total;
    let row = 0;
    sizes.forEach((size, i) => {
      const start = row * rowLength;
      const end = (row + size) * rowLength;
      const data = Array.isArray(output.data) ? output.data.slice(start, end) : (output.data as Float32Array).subarray(start, end);
      perRequest[i]!.push({ name: output.name, datatype: output.datatype, shape: [size, ...output.shape.slice(1)], data } as NamedTensor);
      row += size;
    });
  }
  return perRequest;
}
