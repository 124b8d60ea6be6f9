import { describe, expect, it } from 'vitest';
import { Cancellation } from './cancellation.js';

describe('Cancellation', () => {
  it('calls each listener once, in order, and only listeners still attached', () => {
    const c = new Cancellation();
    const calls: string[] = [];
    const a = () => calls.push('a');
    const b = () => calls.push('b');
    const gone = () => calls.push('gone');
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
    const calls: string[] = [];
    const a = () => calls.push('a');
    const b = () => calls.push('b');
    const d = () => calls.push('d');
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
