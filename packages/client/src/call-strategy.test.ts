import { status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { CallStrategy, type AttemptTarget } from './call-strategy.js';
import { ModelServeError } from './errors.js';

interface Fake {
  address: string;
}
const a: Fake = { address: 'a' };
const b: Fake = { address: 'b' };
const c: Fake = { address: 'c' };

/** Picks the first endpoint not tried yet, else the first one; records every pick. */
function target(endpoints: Fake[] = [a, b, c]): AttemptTarget<Fake> & { picked: string[] } {
  const picked: string[] = [];
  return {
    picked,
    pick: async (_deadline, tried) => {
      const chosen = endpoints.find((e) => !tried.has(e)) ?? endpoints[0]!;
      picked.push(chosen.address);
      return chosen;
    },
  };
}

const unavailable = (where: string) => new ModelServeError(status.UNAVAILABLE, 'connection refused', { endpoint: where });
const later = () => Date.now() + 60_000;
const failure = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => e);

describe('CallStrategy: retries', () => {
  it('retries an UNAVAILABLE attempt on another endpoint and answers from there', async () => {
    const strategy = new CallStrategy(target());
    const answered = await strategy.withRetries(later(), undefined, async (e) => {
      if (e === a) throw unavailable('a');
      return `answer from ${e.address}`;
    });
    expect(answered).toEqual({ value: 'answer from b', endpoint: 'b' });
    expect(strategy.stats().retries).toBe(1);
  });

  it('does not retry any other failure', async () => {
    const t = target();
    const strategy = new CallStrategy(t);
    const refused = new ModelServeError(status.INVALID_ARGUMENT, 'bad shape', { endpoint: 'a' });
    expect(await failure(strategy.withRetries(later(), undefined, async () => Promise.reject(refused)))).toBe(refused);
    expect(t.picked).toEqual(['a']);
  });

  it('makes maxAttempts attempts at most, then fails with the last error', async () => {
    const t = target();
    const strategy = new CallStrategy(t, { retry: { maxAttempts: 2 } });
    const error = await failure(strategy.withRetries(later(), undefined, async (e) => Promise.reject(unavailable(e.address))));
    expect(t.picked).toEqual(['a', 'b']);
    expect(error).toMatchObject({ code: status.UNAVAILABLE, endpoint: 'b' });
  });

  it('continues a call whose first attempts were made elsewhere, counting them', async () => {
    const t = target();
    const strategy = new CallStrategy(t, { retry: { maxAttempts: 3 } });
    await failure(strategy.withRetries(later(), undefined, async (e) => Promise.reject(unavailable(e.address)), new Set([a]), 2));
    expect(t.picked).toEqual(['b', 'c']);
  });

  it('retries nothing when retries are off, or once the deadline has passed', async () => {
    const off = new CallStrategy(target(), { retry: false });
    expect(off.mayRetry(unavailable('a'), 1, later(), undefined)).toBe(false);
    const on = new CallStrategy(target());
    expect(on.mayRetry(unavailable('a'), 1, Date.now() - 1, undefined)).toBe(false);
    expect(on.mayRetry(unavailable('a'), 1, later(), undefined)).toBe(true);
  });

  it('stops retrying once failures have drained half the budget, and starts again as successes refill it', () => {
    const strategy = new CallStrategy(target(), { retry: { maxAttempts: 5, budget: { maxTokens: 4, tokenRatio: 1 } } });
    const verdicts: boolean[] = [];
    for (let i = 0; i < 3; i++) {
      strategy.observe(status.UNAVAILABLE); // 4 → 3, 2, 1: retries only while more than 2 remain
      verdicts.push(strategy.mayRetry(unavailable('a'), 1, later(), undefined));
    }
    strategy.observe(status.INVALID_ARGUMENT); // not a sign of an outage: the budget keeps its tokens
    strategy.observe(undefined);
    strategy.observe(undefined);
    verdicts.push(strategy.mayRetry(unavailable('a'), 1, later(), undefined));
    expect(verdicts).toEqual([true, false, false, true]);
    expect(strategy.stats()).toEqual({ retries: 2, retriesRefused: 2, retryTokens: 3 });
  });

  it('answers CANCELLED when the caller aborts during an attempt, and does not retry', async () => {
    const t = target();
    const controller = new AbortController();
    const strategy = new CallStrategy(t);
    const error = await failure(
      strategy.withRetries(later(), controller.signal, async (e, signal) => {
        controller.abort();
        expect(signal?.aborted).toBe(true);
        throw unavailable(e.address);
      }),
    );
    expect(error).toMatchObject({ code: status.CANCELLED });
    expect(t.picked).toEqual(['a']);
  });
});

describe('CallStrategy: hedging', () => {
  it('sends another attempt elsewhere when the first has not answered, takes the first answer, and cancels the rest', async () => {
    const t = target();
    const strategy = new CallStrategy(t, { hedging: { delayMs: 1, maxAttempts: 2 } });
    let firstCancelled = false;
    const answered = await strategy.run(later(), undefined, (e, signal) => {
      if (e === b) return Promise.resolve('hedge');
      // The first attempt answers only by being cancelled, which the winner does.
      return new Promise((_, reject) =>
        signal!.addEventListener('abort', () => {
          firstCancelled = true;
          reject(new ModelServeError(status.CANCELLED, 'cancelled', { endpoint: 'a' }));
        }),
      );
    });
    expect(answered).toEqual({ value: 'hedge', endpoint: 'b' });
    expect(firstCancelled).toBe(true);
    expect(t.picked).toEqual(['a', 'b']);
  });

  it('sends no hedge when the first attempt answers before the delay', async () => {
    const t = target();
    const strategy = new CallStrategy(t, { hedging: { delayMs: 60_000, maxAttempts: 3 } });
    expect(await strategy.run(later(), undefined, async (e) => e.address)).toEqual({ value: 'a', endpoint: 'a' });
    expect(t.picked).toEqual(['a']);
  });

  it('fails with the last error once every hedged attempt has failed', async () => {
    const t = target();
    const strategy = new CallStrategy(t, { hedging: { delayMs: 1, maxAttempts: 3 } });
    const error = await failure(strategy.run(later(), undefined, async (e) => Promise.reject(unavailable(e.address))));
    expect(t.picked).toEqual(['a', 'b', 'c']);
    expect(error).toMatchObject({ code: status.UNAVAILABLE });
  });

  it('answers CANCELLED when the caller aborts, cancelling every attempt', async () => {
    const controller = new AbortController();
    const strategy = new CallStrategy(target(), { hedging: { delayMs: 60_000 } });
    const attemptSignals: AbortSignal[] = [];
    let started!: () => void;
    const attemptStarted = new Promise<void>((resolve) => (started = resolve));
    const call = strategy.run(later(), controller.signal, (_e, signal) => {
      attemptSignals.push(signal!);
      started();
      return new Promise((_, reject) => signal!.addEventListener('abort', () => reject(new ModelServeError(status.CANCELLED, 'cancelled'))));
    });
    await attemptStarted;
    controller.abort();
    expect(await failure(call)).toMatchObject({ code: status.CANCELLED, details: 'cancelled by the caller' });
    expect(attemptSignals.map((s) => s.aborted)).toEqual([true]);
  });
});
