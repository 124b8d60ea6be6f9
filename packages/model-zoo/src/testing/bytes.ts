/** Byte equality via Buffer.equals: vitest's toEqual walks 400 KB arrays element by element (seconds). */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);
}
