/**
 * gRPC's retry throttling (gRFC A6): a token bucket that every failed attempt drains by 1 and
 * every success refills by `tokenRatio`; retries are allowed only while more than half the tokens
 * remain. During an outage retries stop after about `maxTokens / 2` failures, so they cannot
 * multiply the load on replicas that are left; when calls succeed again the budget refills.
 */
export interface RetryBudgetOptions {
  /** Bucket size. Default 100. */
  maxTokens?: number;
  /** Tokens a success puts back. Default 0.1. */
  tokenRatio?: number;
}

export class RetryBudget {
  private tokens: number;
  private readonly max: number;
  private readonly ratio: number;
  /** Retries granted so far. */
  retries = 0;
  /** Retries refused because the budget was spent. */
  refused = 0;

  constructor(options: RetryBudgetOptions = {}) {
    this.max = options.maxTokens ?? 100;
    this.ratio = options.tokenRatio ?? 0.1;
    this.tokens = this.max;
  }

  /** Tokens left. */
  get available(): number {
    return this.tokens;
  }

  success(): void {
    this.tokens = Math.min(this.max, this.tokens + this.ratio);
  }

  failure(): void {
    this.tokens = Math.max(0, this.tokens - 1);
  }

  /** Whether a retry may go now; counts it if so. */
  tryRetry(): boolean {
    if (this.tokens > this.max / 2) {
      this.retries++;
      return true;
    }
    this.refused++;
    return false;
  }
}
