/** @modelserve/server/testing: calls that send raw bytes, for tests of what the server does with requests that may not decode. */
export { rawBidi, rawServerStream, rawUnary } from './raw-calls.js';
export type { RawCallOptions } from './raw-calls.js';
