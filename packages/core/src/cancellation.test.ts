import { describe, expect, it } from 'vitest';
import { Cancellation } from './cancellation.js';

/** Listeners that record their name in `calls` when called. */
function recorder<N extends string>(...names: N[]): { calls: string[]; listeners: Record<N, () => void> } {
  const calls: string[] = [];
  const listeners = Object.fromEntries(names.map((name) => [name, () => void calls.push(name)])) as Record<N, () => void>;
  return { calls, listeners };
}

describe('Cancellation', () => {
  it('calls each listener once, in order, and only listeners still attached', () => {
    const c = new Cancellation();
    const {
      calls,
      listeners: { a, b, gone },
    } = recorder('a', 'b', 'gone');
    c.addEventListener('abort', a);
    c.addEventListener('abort', gone);
    c.addEventListener('abort', b);
    c.removeEventListener('abort', gone);
    expect(c.aborted).toBe(false);
    c.cancel();
    c.cancel();
    expect(c.aborted).toBe(true);
    expect(calls).toEqual(['a', 'b']);
  });

  it('ignores listeners added after it is cancelled (callers check `aborted` first)', () => {
    const c = new Cancellation();
    c.cancel();
    let called = false;
    c.addEventListener('abort', () => (called = true));
    expect(called).toBe(false);
  });

  it('calls a lone listener, and the ones added after it in order, including after a removal', () => {
    const c = new Cancellation();
    const {
      calls,
      listeners: { a, b, d },
    } = recorder('a', 'b', 'd');
    c.addEventListener('abort', a);
    c.removeEventListener('abort', a);
    c.addEventListener('abort', b);
    c.addEventListener('abort', a);
    c.addEventListener('abort', a);
    c.addEventListener('abort', d);
    c.removeEventListener('abort', b);
    c.cancel();
    expect(calls).toEqual(['a', 'd']);
  });
});
