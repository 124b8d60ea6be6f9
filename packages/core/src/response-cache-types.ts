/** What the response cache shares with its optional shared tier (e.g. Redis, in the server package). */
import type { NamedTensor } from './tensor.js';

/**
 * A cache shared by replicas. Keys are 32 hex digits (a 128-bit hash of everything that decides
 * the answer, the model file's digest among it); values are a version's complete answer. Both
 * calls must settle quickly (a tier bounds them with its own timeout) and never reject: a tier
 * that is down answers `undefined` to `get` and drops `set`.
 */
export interface SharedCacheTier {
  get(key: string): Promise<NamedTensor[] | undefined>;
  /** Stores `outputs` for `ttlMs` (0: no expiry). */
  set(key: string, outputs: readonly NamedTensor[], ttlMs: number): void;
  close(): Promise<void>;
}

/** Makes the shared tier of a `shared:` URL in config.yaml (`redis://host:port/db`). */
export type SharedCacheFactory = (url: string) => SharedCacheTier;
