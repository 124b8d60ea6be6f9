import { describe, expect, it } from 'vitest';
import { RetryBudget } from './retry-budget.js';

describe('RetryBudget (gRPC retry throttling)', () => {
  it('allows retries while more than half the tokens remain, and refills on success', () => {
    const budget = new RetryBudget({ maxTokens: 10, tokenRatio: 0.5 });
    const granted: boolean[] = [];
    for (let i = 0; i < 8; i++) {
      budget.failure();
      granted.push(budget.tryRetry());
    }
    // 10 → 9, 8, 7, 6 allowed (> 5); at 5 and below refused.
    expect(granted).toEqual([true, true, true, true, false, false, false, false]);
    expect({ retries: budget.retries, refused: budget.refused }).toEqual({ retries: 4, refused: 4 });
    for (let i = 0; i < 8; i++) budget.success(); // 2 → 6
    expect(budget.available).toBe(6);
    expect(budget.tryRetry()).toBe(true);
    for (let i = 0; i < 100; i++) budget.success();
    expect(budget.available).toBe(10);
  });
});
