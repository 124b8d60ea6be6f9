import { describe, expect, it } from 'vitest';
import { formBatch, halves, holdMs, preferredPrefix, type Batchable, type BatchRules } from './scheduler-batch.js';

interface Request extends Batchable {
  id: string;
}

/** Requests named by id, of `size` samples and key `key`, queued at time 0. */
const req = (id: string, size = 1, key = 'a'): Request => ({ id, size, key, enqueuedAt: 0 });
const ids = (batch: Request[] | undefined) => batch?.map((r) => r.id);

const rules = (overrides: Partial<BatchRules> = {}): BatchRules => ({
  batching: true,
  maxBatchSize: 4,
  maxQueueDelayUs: 0,
  preferredBatchSizes: [],
  splitFrom: 0,
  ...overrides,
});

describe('batch formation', () => {
  it('takes the head alone when batching is off or the model is not batched', () => {
    const queue = [req('h'), req('b'), req('c')];
    expect(ids(formBatch(queue[0]!, [queue], rules({ batching: false }), 0).batch)).toEqual(['h']);
    expect(ids(formBatch(queue[0]!, [queue], rules({ maxBatchSize: 0 }), 0).batch)).toEqual(['h']);
  });

  it('gathers requests of the head’s key in queue order, highest level first, never past max_batch_size', () => {
    const high = [req('h1', 1), req('other', 1, 'b'), req('h2', 2)];
    const low = [req('l1', 2), req('l2', 1)];
    // 1 + 2 = 3; l1 (2 more) would pass 4; l2 fits.
    expect(ids(formBatch(high[0]!, [high, low], rules(), 0).batch)).toEqual(['h1', 'h2', 'l2']);
  });

  it('stops looking once the batch is full', () => {
    const queue = [req('a', 2), req('b', 2), req('c', 1)];
    expect(ids(formBatch(queue[0]!, [queue], rules(), 0).batch)).toEqual(['a', 'b']);
  });

  it('cuts to the longest prefix whose size is a preferred batch size', () => {
    const queue = ['a', 'b', 'c', 'd', 'e'].map((id) => req(id));
    expect(ids(formBatch(queue[0]!, [queue], rules({ maxBatchSize: 8, preferredBatchSizes: [2, 4] }), 0).batch)).toEqual(['a', 'b', 'c', 'd']);
    expect(ids(preferredPrefix(queue.slice(0, 3), [2, 4]))).toEqual(['a', 'b']);
    expect(preferredPrefix(queue.slice(0, 3), [5])).toBeUndefined();
    expect(preferredPrefix(queue, [])).toBeUndefined();
  });

  it('holds the head back for max_queue_delay_us while the batch has room, and never past it', () => {
    const queue = [req('a'), req('b')];
    const delay = rules({ maxQueueDelayUs: 200_000 });
    expect(formBatch(queue[0]!, [queue], delay, 0)).toEqual({ waitMs: 200 });
    expect(formBatch(queue[0]!, [queue], delay, 150.5)).toEqual({ waitMs: 50 });
    expect(ids(formBatch(queue[0]!, [queue], delay, 200).batch)).toEqual(['a', 'b']);
    // A full batch, or a preferred size reached, runs at once.
    const full = ['a', 'b', 'c', 'd'].map((id) => req(id));
    expect(ids(formBatch(full[0]!, [full], delay, 0).batch)).toHaveLength(4);
    expect(ids(formBatch(queue[0]!, [queue], { ...delay, preferredBatchSizes: [2] }, 0).batch)).toEqual(['a', 'b']);
    expect(holdMs(req('a'), 1, rules(), 0)).toBe(0);
  });

  it('splits a batch of split_batches_from samples or more where half its samples are', () => {
    const five = ['a', 'b', 'c', 'd', 'e'].map((id) => req(id));
    expect(halves(five, rules({ splitFrom: 4 }))?.map(ids)).toEqual([['a', 'b', 'c'], ['d', 'e']]);
    const uneven = [req('big', 6), req('x'), req('y')];
    expect(halves(uneven, rules({ splitFrom: 4 }))?.map(ids)).toEqual([['big'], ['x', 'y']]);
  });

  it('never splits below split_batches_from, a single request, with preferred sizes, or with batching off', () => {
    const five = ['a', 'b', 'c', 'd', 'e'].map((id) => req(id));
    expect(halves(five, rules({ splitFrom: 6 }))).toBeUndefined();
    expect(halves(five, rules({ splitFrom: 0 }))).toBeUndefined();
    expect(halves([req('one', 8)], rules({ splitFrom: 4 }))).toBeUndefined();
    expect(halves(five, rules({ splitFrom: 4, preferredBatchSizes: [5] }))).toBeUndefined();
    expect(halves(five, rules({ splitFrom: 4, batching: false }))).toBeUndefined();
  });
});
