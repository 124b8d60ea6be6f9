/**
 * A model version's response cache (config.yaml `response_cache`): answers by a 128-bit key over
 * everything that decides them, an LRU by bytes with an optional TTL, identical requests in flight
 * coalesced into one run, and optionally a shared tier (Redis) so replicas share hits.
 *
 * The key hashes (sha256, first 128 bits) the model name, the version and its model file's sha256,
 * each input's name, datatype, shape and element bytes (inputs sorted by name; BYTES elements
 * length-prefixed), and the outputs asked for (sorted). A tensor sent typed and the same tensor sent
 * raw decode to the same elements, so they share a key; the answer's form (raw or typed contents,
 * the request id) is made per request from the cached tensors. Routing picks the version first, so
 * one version's answer never answers for another, and a replaced file has a new digest, so never
 * answers from the old file's entries.
 */
import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { Cancellation } from './cancellation.js';
import { ModelServeError } from './errors.js';
import type { InferenceRequest } from './inference.js';
import type { SharedCacheTier } from './response-cache-types.js';
import type { NamedTensor } from './tensor.js';

/** config.yaml's `response_cache`, defaults filled in. */
export interface ResponseCacheConfig {
  max_bytes: number;
  /** Seconds an entry lives; 0: until evicted. */
  ttl_s: number;
  coalesce: boolean;
  /** A shared tier's URL (`redis://host:port/db`), or undefined. */
  shared?: string | undefined;
}

/** Counters of one version's cache. */
export interface ResponseCacheStats {
  hits: number;
  misses: number;
  /** Requests that waited for an identical request's run instead of running. */
  coalesced: number;
  /** Hits answered by the shared tier (counted in `hits` too). */
  sharedHits: number;
  evictions: number;
  entries: number;
  bytes: number;
  /** Time spent on hits and on misses (lookup included), ns, as the Open Inference Protocol reports them. */
  hitNs: number;
  missNs: number;
}

/** An answer, and whether it came from a cache (this one's or the shared tier) rather than a run. */
export interface CachedAnswer {
  outputs: NamedTensor[];
  cached: boolean;
}

/** How a request was answered with respect to the cache (a shared-tier hit shows as a miss here and a hit in the counts). */
export type CacheOutcome = 'hit' | 'miss' | 'coalesced';

/** Bytes an entry is charged beyond its elements: the map entry, the tensors' objects, the key. */
const ENTRY_OVERHEAD = 256;

function entryBytes(outputs: readonly NamedTensor[]): number {
  let bytes = ENTRY_OVERHEAD;
  for (const t of outputs) {
    bytes += 64 + t.name.length * 2 + t.shape.length * 8;
    if (t.datatype === 'BYTES') for (const element of t.data as Uint8Array[]) bytes += element.byteLength + 32;
    else bytes += (t.data as ArrayBufferView).byteLength;
  }
  return bytes;
}

/** The 128-bit key of `request` for `model` version `version` whose file has sha256 `fileDigest`, as 32 hex digits. */
export function responseCacheKey(model: string, version: number, fileDigest: string, inputs: readonly NamedTensor[], outputs: readonly string[]): string {
  const hash = createHash('sha256');
  const header = Buffer.alloc(8);
  const text = (s: string): void => {
    header.writeUInt32LE(Buffer.byteLength(s), 0);
    hash.update(header.subarray(0, 4)).update(s);
  };
  text('modelserve.response-cache.v1');
  text(model);
  text(String(version));
  text(fileDigest);
  const sorted = [...inputs].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  header.writeUInt32LE(sorted.length, 0);
  hash.update(header.subarray(0, 4));
  for (const t of sorted) {
    text(t.name);
    text(t.datatype);
    text(t.shape.join(','));
    if (t.datatype === 'BYTES') {
      const elements = t.data as Uint8Array[];
      header.writeUInt32LE(elements.length, 0);
      hash.update(header.subarray(0, 4));
      for (const e of elements) {
        header.writeUInt32LE(e.byteLength, 0);
        hash.update(header.subarray(0, 4)).update(e);
      }
    } else {
      const view = t.data as ArrayBufferView;
      header.writeDoubleLE(view.byteLength, 0);
      hash.update(header).update(new Uint8Array(view.buffer, view.byteOffset, view.byteLength));
    }
  }
  const wanted = [...outputs].sort();
  text(wanted.join('\u0000'));
  return hash.digest('hex').slice(0, 32);
}

/** A run shared by identical requests: it is cancelled only once every request waiting for it has given up. */
interface Flight {
  answer: Promise<CachedAnswer>;
  waiting: number;
  cancellation: Cancellation;
}

/** One version's cache. */
export class ResponseCache {
  private readonly lru: LRUCache<string, NamedTensor[]>;
  private readonly flights = new Map<string, Flight>();
  private readonly counts = { hits: 0, misses: 0, coalesced: 0, sharedHits: 0, evictions: 0, hitNs: 0, missNs: 0 };
  private readonly maxEntryBytes: number;
  private readonly ttlMs: number;

  constructor(
    readonly config: ResponseCacheConfig,
    private readonly shared: SharedCacheTier | undefined,
  ) {
    this.ttlMs = config.ttl_s * 1000;
    // Entries larger than a tenth of the budget are not stored: one would push out many.
    this.maxEntryBytes = Math.floor(config.max_bytes / 10);
    this.lru = new LRUCache<string, NamedTensor[]>({
      maxSize: config.max_bytes,
      sizeCalculation: entryBytes,
      ...(this.ttlMs > 0 ? { ttl: this.ttlMs, ttlAutopurge: false } : {}),
      dispose: (_value, _key, reason) => {
        if (reason === 'evict') this.counts.evictions++;
      },
    });
  }

  /**
   * The answer to `request` (key `key`): from the cache, from an identical request's run, or from
   * `run` (whose answer is then stored). `run` gets a signal that aborts once every request
   * waiting for it has given up; each request still waits within its own deadline and signal.
   */
  answer(key: string, request: Pick<InferenceRequest, 'deadline' | 'signal'>, run: (signal: Cancellation | undefined) => Promise<NamedTensor[]>): { outcome: CacheOutcome; answer: Promise<CachedAnswer> } {
    const started = performance.now();
    const found = this.lru.get(key);
    if (found !== undefined) {
      this.counts.hits++;
      this.counts.hitNs += (performance.now() - started) * 1e6;
      return { outcome: 'hit', answer: Promise.resolve({ outputs: found, cached: true }) };
    }
    const flight = this.config.coalesce ? this.flights.get(key) : undefined;
    if (flight !== undefined) {
      this.counts.coalesced++;
      return { outcome: 'coalesced', answer: this.follow(flight, request) };
    }
    const cancellation = new Cancellation();
    const computed = this.fetch(key, () => run(this.config.coalesce ? cancellation : undefined), started);
    if (!this.config.coalesce) return { outcome: 'miss', answer: computed };
    const own: Flight = { answer: computed, waiting: 0, cancellation };
    this.flights.set(key, own);
    const done = (): void => {
      if (this.flights.get(key) === own) this.flights.delete(key);
    };
    computed.then(done, done);
    return { outcome: 'miss', answer: this.follow(own, request) };
  }

  /** Looks in the shared tier, else runs; stores a complete answer. Counts a miss, or a shared hit. */
  private async fetch(key: string, run: () => Promise<NamedTensor[]>, started: number): Promise<CachedAnswer> {
    if (this.shared !== undefined) {
      const remote = await this.shared.get(key);
      if (remote !== undefined) {
        this.counts.hits++;
        this.counts.sharedHits++;
        this.counts.hitNs += (performance.now() - started) * 1e6;
        this.store(key, remote, false);
        return { outputs: remote, cached: true };
      }
    }
    this.counts.misses++;
    this.counts.missNs += (performance.now() - started) * 1e6;
    const outputs = await run();
    this.store(key, outputs, true);
    return { outputs, cached: false };
  }

  private store(key: string, outputs: NamedTensor[], share: boolean): void {
    if (entryBytes(outputs) > this.maxEntryBytes) return;
    this.lru.set(key, outputs);
    if (share) this.shared?.set(key, outputs, this.ttlMs);
  }

  /** Waits for `flight` within the request's own deadline and signal; the run is cancelled once nobody waits. */
  private follow(flight: Flight, request: Pick<InferenceRequest, 'deadline' | 'signal'>): Promise<CachedAnswer> {
    flight.waiting++;
    const { deadline, signal } = request;
    if (deadline === undefined && signal === undefined) return flight.answer.finally(() => void flight.waiting--);
    return new Promise<CachedAnswer>((resolve, reject) => {
      let settled = false;
      const finish = (error: Error | undefined, answer?: CachedAnswer): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        // The last request to give up stops the run; one that got its answer leaves it be.
        if (--flight.waiting === 0 && error !== undefined) flight.cancellation.cancel();
        if (error !== undefined) reject(error);
        else resolve(answer!);
      };
      const onAbort = (): void => finish(new ModelServeError('Cancelled', 'request cancelled'));
      const timer = deadline === undefined ? undefined : setTimeout(() => finish(new ModelServeError('DeadlineExceeded', 'the request\'s deadline passed while it waited for an identical request\'s run')), Math.max(0, deadline - Date.now()));
      if (signal?.aborted === true) {
        onAbort();
        return;
      }
      signal?.addEventListener('abort', onAbort);
      flight.answer.then(
        (answer) => finish(undefined, answer),
        (error: unknown) => finish(error as Error),
      );
    });
  }

  stats(): ResponseCacheStats {
    return { ...this.counts, entries: this.lru.size, bytes: this.lru.calculatedSize };
  }

  /** Frees every entry (the version unloads or its file changed). */
  clear(): void {
    this.lru.clear();
  }
}
