/**
 * How one call becomes attempts: retries on other endpoints while the failure is UNAVAILABLE, the
 * deadline has not passed and the shared retry budget allows; or hedged attempts, another one
 * every `delayMs` until one answers. The endpoints and the attempt itself come from outside, so
 * this file is pure logic over promises.
 */
import { status } from '@grpc/grpc-js';
import { cancelledByCaller, ModelServeError } from './errors.js';
import { RetryBudget, type RetryBudgetOptions } from './retry-budget.js';

/** Retries of calls that failed with UNAVAILABLE (a broken connection, a draining replica, a loading model). */
export interface RetryOptions {
  /** Attempts per call, the first included. Default 3. */
  maxAttempts?: number;
  /** The token bucket shared by every call of the client. Default: 100 tokens, 0.1 back per success. */
  budget?: RetryBudgetOptions;
}

/** Hedged unary calls: another attempt on another endpoint when the first has not answered in time. */
export interface HedgingOptions {
  /** Wait before each extra attempt, ms. */
  delayMs: number;
  /** Attempts at most, the first included. Default 2. */
  maxAttempts?: number;
}

/** Where attempts go: an endpoint not yet `tried` if possible, waiting (until `deadline`) for one. */
export interface AttemptTarget<E> {
  pick(deadline: number, tried: ReadonlySet<E>, signal: AbortSignal | undefined): Promise<E>;
}

/** One attempt on an endpoint; it must reject with a ModelServeError or what ModelServeError.from reads. */
export type Attempt<E, T> = (endpoint: E, signal: AbortSignal | undefined) => Promise<T>;

/** An attempt's answer and the address of the endpoint that gave it. */
export interface Answered<T> {
  value: T;
  endpoint: string;
}

/** Retry counters of `ModelServeClient.stats()`. */
export interface RetryStats {
  /** Retries sent, and retries the budget refused. */
  retries: number;
  retriesRefused: number;
  /** Tokens left in the retry budget. */
  retryTokens: number;
}

/** The retry and hedging policy of one client, and its retry budget. */
export class CallStrategy<E extends { readonly address: string }> {
  readonly #budget: RetryBudget | undefined;
  readonly #maxAttempts: number;
  readonly #hedging: HedgingOptions | undefined;

  constructor(
    private readonly target: AttemptTarget<E>,
    options: { retry?: RetryOptions | false | undefined; hedging?: HedgingOptions | undefined } = {},
  ) {
    const retry = options.retry === false ? undefined : (options.retry ?? {});
    this.#budget = retry === undefined ? undefined : new RetryBudget(retry.budget);
    this.#maxAttempts = retry === undefined ? 1 : Math.max(1, retry.maxAttempts ?? 3);
    this.#hedging = options.hedging;
  }

  /** Unary calls are hedged. */
  get hedges(): boolean {
    return this.#hedging !== undefined;
  }

  /** Feeds the retry budget with an attempt's outcome: a success refills it, UNAVAILABLE drains it. */
  observe(code: status | undefined): void {
    if (code === undefined) this.#budget?.success();
    else if (code === status.UNAVAILABLE) this.#budget?.failure();
  }

  /** Whether failed attempt number `attempt` may be retried now; a yes is counted against the budget. */
  mayRetry(error: ModelServeError, attempt: number, deadline: number, signal: AbortSignal | undefined): boolean {
    if (error.code !== status.UNAVAILABLE || this.#budget === undefined) return false;
    if (attempt >= this.#maxAttempts || Date.now() >= deadline || signal?.aborted === true) return false;
    return this.#budget.tryRetry();
  }

  /** Runs a call: hedged if the client hedges, else with retries. */
  run<T>(deadline: number, signal: AbortSignal | undefined, attempt: Attempt<E, T>): Promise<Answered<T>> {
    return this.#hedging === undefined ? this.withRetries(deadline, signal, attempt) : this.hedged(deadline, signal, attempt);
  }

  /**
   * Attempts on successive endpoints while the failure may be retried. `tried` and `firstAttempt`
   * continue a call whose first attempts were made elsewhere.
   */
  async withRetries<T>(deadline: number, signal: AbortSignal | undefined, attempt: Attempt<E, T>, tried = new Set<E>(), firstAttempt = 1): Promise<Answered<T>> {
    for (let n = firstAttempt; ; n++) {
      const endpoint = await this.target.pick(deadline, tried, signal);
      tried.add(endpoint);
      try {
        return { value: await attempt(endpoint, signal), endpoint: endpoint.address };
      } catch (e) {
        const error = ModelServeError.from(e, { endpoint: endpoint.address });
        if (signal?.aborted) throw cancelledByCaller();
        if (!this.mayRetry(error, n, deadline, signal)) throw error;
      }
    }
  }

  /** Hedged attempts: another one every `delayMs` until one answers; the first answer wins, the rest are cancelled. */
  hedged<T>(deadline: number, signal: AbortSignal | undefined, attempt: Attempt<E, T>): Promise<Answered<T>> {
    const hedging = this.#hedging ?? { delayMs: 0, maxAttempts: 1 };
    const maxAttempts = Math.max(1, hedging.maxAttempts ?? 2);
    const cancelAll = new AbortController();
    const onAbort = (): void => cancelAll.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    const tried = new Set<E>();
    return new Promise((resolve, reject) => {
      let running = 0;
      let started = 0;
      let done = false;
      let lastError: ModelServeError | undefined;
      let timer: NodeJS.Timeout | undefined;
      const finish = (outcome: Answered<T> | ModelServeError): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        cancelAll.abort();
        if (outcome instanceof ModelServeError) reject(outcome);
        else resolve(outcome);
      };
      const launch = async (): Promise<void> => {
        started++;
        running++;
        if (started < maxAttempts) timer = setTimeout(() => void launch(), hedging.delayMs);
        try {
          const endpoint = await this.target.pick(deadline, tried, cancelAll.signal);
          tried.add(endpoint);
          const value = await attempt(endpoint, cancelAll.signal);
          finish({ value, endpoint: endpoint.address });
        } catch (e) {
          lastError = ModelServeError.from(e);
          if (signal?.aborted) finish(cancelledByCaller());
        } finally {
          running--;
          if (running === 0 && started >= maxAttempts) finish(lastError ?? new ModelServeError(status.UNAVAILABLE, 'every hedged attempt failed'));
        }
      };
      void launch();
    });
  }

  /** The budget's counters. */
  stats(): RetryStats {
    return { retries: this.#budget?.retries ?? 0, retriesRefused: this.#budget?.refused ?? 0, retryTokens: this.#budget?.available ?? 0 };
  }
}
