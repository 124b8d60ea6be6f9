import type { DataType, NamedTensor } from '../tensor.js';

/** One tensor of each datatype core knows, with values at the edges of its range (codec and cache round trips). */
export const everyDatatype: { readonly [D in DataType]: NamedTensor } = {
  BOOL: { name: 'bool', datatype: 'BOOL', shape: [2, 2], data: Uint8Array.from([0, 1, 1, 0]) },
  UINT8: { name: 'u8', datatype: 'UINT8', shape: [3], data: Uint8Array.from([0, 1, 255]) },
  UINT16: { name: 'u16', datatype: 'UINT16', shape: [3], data: Uint16Array.from([0, 1, 65535]) },
  UINT32: { name: 'u32', datatype: 'UINT32', shape: [3], data: Uint32Array.from([0, 1, 2 ** 32 - 1]) },
  UINT64: { name: 'u64', datatype: 'UINT64', shape: [2], data: BigUint64Array.from([0n, 2n ** 64n - 1n]) },
  INT8: { name: 'i8', datatype: 'INT8', shape: [3], data: Int8Array.from([-128, 0, 127]) },
  INT16: { name: 'i16', datatype: 'INT16', shape: [3], data: Int16Array.from([-32768, 0, 32767]) },
  INT32: { name: 'i32', datatype: 'INT32', shape: [1, 3], data: Int32Array.from([-(2 ** 31), 0, 2 ** 31 - 1]) },
  INT64: { name: 'i64', datatype: 'INT64', shape: [3], data: BigInt64Array.from([-(2n ** 63n), 0n, 2n ** 63n - 1n]) },
  FP16: { name: 'f16', datatype: 'FP16', shape: [3], data: Uint16Array.from([0x3c00, 0x7e00, 0xfc00]) },
  BF16: { name: 'bf16', datatype: 'BF16', shape: [2], data: Uint16Array.from([0x3f80, 0x7fc0]) },
  FP32: { name: 'f32', datatype: 'FP32', shape: [2, 3], data: Float32Array.from([0.5, -1.25, Infinity, -Infinity, NaN, 3.4e38]) },
  FP64: { name: 'f64', datatype: 'FP64', shape: [3], data: Float64Array.from([Math.PI, -0, Number.MAX_VALUE]) },
  BYTES: { name: 'text', datatype: 'BYTES', shape: [3], data: [new TextEncoder().encode('héllo'), new Uint8Array(0), Uint8Array.from([0, 255])] },
};
