/**
 * Storage that core allocates itself (a batch's concatenated inputs) may be moved to a worker
 * thread instead of copied: nobody else holds it. Anything else — a caller's array, a view into a
 * gRPC message — is copied once, because moving it would detach memory its owner still uses.
 */
import type { NumericTensorData } from './tensor.js';

const owned = new WeakSet<ArrayBufferLike>();

type NumericConstructor = { new (length: number): NumericTensorData };

/** A new zeroed array that core owns and may transfer. */
export function ownedArray<T extends NumericTensorData>(like: T, length: number): T {
  const array = new (like.constructor as NumericConstructor)(length) as T;
  owned.add(array.buffer);
  return array;
}

/** Whether `data` is core's own whole buffer, safe to transfer. */
export function isOwned(data: NumericTensorData): boolean {
  return owned.has(data.buffer) && data.byteOffset === 0 && data.byteLength === data.buffer.byteLength;
}
