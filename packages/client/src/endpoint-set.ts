/**
 * The endpoints discovery reports: adds new ones, retires gone ones, and picks one per attempt
 * among those that can take calls (serving, reachable, not ejected), waiting for one when asked.
 * Failures count against an endpoint here, and eject it through the outlier detector.
 */
import { status } from '@grpc/grpc-js';
import type { OutlierDetector } from './endpoint-ejection.js';
import { Endpoint, type EndpointOptions } from './endpoint.js';
import { cancelledByCaller, ModelServeError } from './errors.js';
import type { Picker } from './policies.js';
import type { ResolvedEndpoint } from './resolvers.js';

/** Failures that count against an endpoint for outlier ejection. */
const endpointFailures = new Set<status>([status.UNAVAILABLE, status.INTERNAL, status.UNKNOWN]);

/** Longest sleep between looks while waiting for an endpoint, ms (a change wakes it earlier). */
const maxWaitMs = 1000;

/** Options of an EndpointSet. */
export interface EndpointSetOptions {
  picker: Picker;
  /** Every endpoint's channel and health watch. */
  endpoint: Omit<EndpointOptions, 'onChange'>;
  /** Ejects endpoints that keep failing; undefined for none. */
  outlierDetector?: OutlierDetector | undefined;
  /** Wait for an endpoint until the deadline even when every one is known to be down. Default false. */
  waitForReady?: boolean | undefined;
}

/** One row of `ModelServeClient.stats()`. */
export interface EndpointStats {
  address: string;
  weight: number;
  health: string;
  ejected: boolean;
  inflight: number;
  calls: number;
  failures: number;
  latencyMs: number;
}

/** The current endpoints, and picks among them. */
export class EndpointSet {
  readonly #endpoints = new Map<string, Endpoint>();
  /** The endpoints' values, rebuilt when discovery changes them (pickNow runs per call). */
  #list: Endpoint[] = [];
  readonly #scratch: Endpoint[] = [];
  readonly #waiters = new Set<() => void>();
  #resolveError: Error | undefined;
  #closed = false;

  constructor(private readonly options: EndpointSetOptions) {}

  /** Discovery's current list: adds endpoints that appeared, retires those that went, updates weights. */
  update(list: readonly ResolvedEndpoint[]): void {
    if (this.#closed) return;
    this.#resolveError = undefined;
    const wanted = new Map(list.map((e) => [e.address, e.weight ?? 1]));
    for (const [address, endpoint] of this.#endpoints) {
      if (wanted.has(address)) continue;
      this.#endpoints.delete(address);
      endpoint.retire();
    }
    for (const [address, weight] of wanted) {
      const existing = this.#endpoints.get(address);
      if (existing !== undefined) existing.weight = weight;
      else this.#endpoints.set(address, new Endpoint(address, weight, { ...this.options.endpoint, onChange: () => this.#wake() }));
    }
    this.#list = [...this.#endpoints.values()];
    this.#wake();
  }

  /** Discovery failed; the last list stays, and the error explains an empty one. */
  resolveFailed(error: Error): void {
    this.#resolveError = error;
  }

  /** Addresses currently known (retired ones excluded). */
  get addresses(): string[] {
    return this.#list.map((e) => e.address);
  }

  /**
   * An endpoint that can take a call now, preferring ones not in `tried`; undefined when none can.
   * Allocation-free on the common path: it runs once per call.
   */
  pickNow(tried: ReadonlySet<Endpoint> | undefined): Endpoint | undefined {
    const now = performance.now();
    const eligible = this.#scratch;
    eligible.length = 0;
    let excluded = 0;
    for (const e of this.#list) {
      if (!e.eligible(now)) continue;
      if (tried !== undefined && tried.has(e)) excluded++;
      else eligible.push(e);
    }
    if (eligible.length === 0 && excluded > 0) for (const e of tried!) if (e.eligible(now) && this.#endpoints.get(e.address) === e) eligible.push(e);
    return eligible.length === 0 ? undefined : (this.options.picker.pick(eligible) as Endpoint);
  }

  /**
   * An endpoint for the next attempt (as pickNow). While none can take calls it waits until
   * `deadline` (a `Date.now()` time) if some are still connecting or `waitForReady` is set, and
   * otherwise fails fast with UNAVAILABLE, as gRPC does.
   */
  async pick(deadline: number, tried: ReadonlySet<Endpoint>, signal: AbortSignal | undefined): Promise<Endpoint> {
    for (;;) {
      if (this.#closed) throw new ModelServeError(status.CANCELLED, 'the client is closed');
      if (signal?.aborted) throw cancelledByCaller();
      const chosen = this.pickNow(tried);
      if (chosen !== undefined) return chosen;
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new ModelServeError(status.DEADLINE_EXCEEDED, `the deadline passed before an endpoint could take the call: ${this.#describe()}`);
      const connecting = this.#list.some((e) => e.health === 'UNKNOWN');
      if (!connecting && this.options.waitForReady !== true && this.#list.length > 0) {
        throw new ModelServeError(status.UNAVAILABLE, `no endpoint can take calls: ${this.#describe()}`);
      }
      await this.#waitForChange(Math.min(remaining, maxWaitMs), signal);
    }
  }

  /** Records an attempt on `endpoint` that ended after `ms` with `code` (undefined: it succeeded). */
  finished(endpoint: Endpoint, ms: number, code: status | undefined): void {
    const failed = code !== undefined && endpointFailures.has(code);
    endpoint.finished(ms, failed);
    const detector = this.options.outlierDetector;
    if (detector === undefined) return;
    // Most calls succeed on an endpoint never ejected: they need no clock.
    if (code === undefined && endpoint.ejections > 0) detector.afterSuccess(endpoint, performance.now());
    if (!failed) return;
    const ejectedMs = detector.afterFailure(endpoint, this.#list, performance.now());
    if (ejectedMs > 0) setTimeout(() => this.#wake(), ejectedMs).unref();
  }

  /** What every current endpoint looks like now. */
  stats(): EndpointStats[] {
    const now = performance.now();
    return this.#list.map((e) => ({
      address: e.address,
      weight: e.weight,
      health: e.health,
      ejected: e.ejectedUntil > now,
      inflight: e.inflight,
      calls: e.calls,
      failures: e.failures,
      latencyMs: e.latencyMs,
    }));
  }

  /** Closes every endpoint; waiting picks fail with CANCELLED. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const endpoint of this.#endpoints.values()) endpoint.close();
    this.#endpoints.clear();
    this.#list = [];
    this.#wake();
  }

  #describe(): string {
    const now = performance.now();
    if (this.#list.length === 0) return `none resolved${this.#resolveError ? ` (${this.#resolveError.message})` : ''}`;
    return this.#list.map((e) => `${e.address} ${e.ejectedUntil > now ? 'EJECTED' : e.health}`).join(', ');
  }

  #wake(): void {
    const waiters = [...this.#waiters];
    this.#waiters.clear();
    for (const wake of waiters) wake();
  }

  #waitForChange(ms: number, signal: AbortSignal | undefined): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.#waiters.delete(done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#waiters.add(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }
}
