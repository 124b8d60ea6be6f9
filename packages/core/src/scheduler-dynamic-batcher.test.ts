import { describe, expect, it } from 'vitest';
import type { ModelInstance } from './backend.js';
import { DynamicBatcher } from './scheduler-dynamic-batcher.js';
import { ModelServeError } from './errors.js';
import { VersionStats } from './statistics.js';
import { batcher, job, releaseAll, tick } from './testing/held-instance.js';
import { ManualClock } from './testing/manual-clock.js';

describe('dynamic batcher', () => {
  it('starts a request at once on an idle instance: no idle penalty', () => {
    const { scheduler, log } = batcher();
    void scheduler.enqueue(job(1));
    expect(log).toEqual(['run 1: 1']);
  });

  it('gathers requests that queued while the instance was busy, never past max_batch_size', async () => {
    const { scheduler, held, log } = batcher({ maxBatchSize: 4 });
    const results = Array.from({ length: 10 }, (_, i) => scheduler.enqueue(job(i)));
    await releaseAll(held, results);
    expect(log).toEqual(['run 1: 0', 'run 4: 1,2,3,4', 'run 4: 5,6,7,8', 'run 1: 9']);
  });

  it('splits mixed batch sizes back exactly', async () => {
    const { scheduler, held, log } = batcher({ maxBatchSize: 8 });
    const first = scheduler.enqueue(job(9));
    const results = [scheduler.enqueue(job(1, {}, 1, 2)), scheduler.enqueue(job(2, {}, 3, 2)), scheduler.enqueue(job(3, {}, 2, 2))];
    await releaseAll(held, [first, ...results]);
    expect(log[1]).toBe('run 6: 1,1,2,2,2,2,2,2,3,3,3,3');
    const outputs = await Promise.all(results);
    expect(outputs.map((o) => [o[0]!.shape, [...(o[0]!.data as Float32Array)]])).toEqual([
      [[1, 2], [2, 2]],
      [[3, 2], [4, 4, 4, 4, 4, 4]],
      [[2, 2], [6, 6, 6, 6]],
    ]);
  });

  it('never merges requests whose other dimensions differ', async () => {
    const { scheduler, held, log } = batcher({ maxBatchSize: 8 });
    const results = [scheduler.enqueue(job(0)), scheduler.enqueue(job(1, {}, 1, 3)), scheduler.enqueue(job(2, {}, 1, 2)), scheduler.enqueue(job(3, {}, 1, 3))];
    await releaseAll(held, results);
    expect(log).toEqual(['run 1: 0', 'run 2: 1,1,1,3,3,3', 'run 1: 2,2']);
  });

  it('runs one request per run with batching off', async () => {
    const { scheduler, held, log } = batcher({ batching: false });
    const results = Array.from({ length: 3 }, (_, i) => scheduler.enqueue(job(i)));
    await releaseAll(held, results);
    expect(log).toEqual(['run 1: 0', 'run 1: 1', 'run 1: 2']);
  });

  it('runs a batch of split_batches_from samples or more as two halves back to back on its instance, answering the first half first', async () => {
    const { scheduler, held, log } = batcher({ maxBatchSize: 8, splitFrom: 4 });
    const first = scheduler.enqueue(job(0));
    const results = [1, 2, 3, 4, 5].map((id) => scheduler.enqueue(job(id)));
    held.release();
    await tick();
    // Both halves went to the instance at once; the second waits behind the first there.
    expect(log).toEqual(['run 1: 0', 'run 3: 1,2,3', 'run 2: 4,5']);
    const late = scheduler.enqueue(job(6));
    held.release();
    await tick();
    const answered = await Promise.race([Promise.all(results.slice(0, 3)).then(() => 'first half'), tick().then(() => 'nothing')]);
    expect(answered).toBe('first half');
    // The instance takes no other batch until its second half is done.
    expect(log).toHaveLength(3);
    await releaseAll(held, [first, ...results, late]);
    expect(log[3]).toBe('run 1: 6');
    expect((await Promise.all(results)).map((o) => [...(o[0]!.data as Float32Array)])).toEqual([[2], [4], [6], [8], [10]]);
  });

  it('never splits a batch below split_batches_from, or when preferred batch sizes are set', async () => {
    for (const options of [{ splitFrom: 6 }, { splitFrom: 4, preferredBatchSizes: [5] }]) {
      const { scheduler, held, log } = batcher({ maxBatchSize: 8, ...options });
      const results = [0, 1, 2, 3, 4, 5].map((id) => scheduler.enqueue(job(id)));
      await releaseAll(held, results);
      expect(log).toEqual(['run 1: 0', 'run 5: 1,2,3,4,5']);
    }
  });

  it('prefers a preferred batch size when more requests wait than it needs', async () => {
    const { scheduler, held, log } = batcher({ maxBatchSize: 8, preferredBatchSizes: [2, 4] });
    const results = Array.from({ length: 8 }, (_, i) => scheduler.enqueue(job(i)));
    await releaseAll(held, results);
    expect(log).toEqual(['run 1: 0', 'run 4: 1,2,3,4', 'run 2: 5,6', 'run 1: 7']);
  });

  it('waits up to max_queue_delay_us for a fuller batch only when asked to', async () => {
    const clock = new ManualClock();
    const { scheduler, held, log } = batcher({ maxBatchSize: 4, maxQueueDelayUs: 200_000, clock });
    const results = [scheduler.enqueue(job(1)), scheduler.enqueue(job(2))];
    await tick();
    expect(log).toEqual([]);
    results.push(scheduler.enqueue(job(3)), scheduler.enqueue(job(4)));
    expect(log).toEqual(['run 4: 1,2,3,4']);
    await releaseAll(held, results);
    // Alone on an idle instance, it waits the whole delay: not a millisecond less, not one more.
    const late = scheduler.enqueue(job(5));
    clock.advance(199);
    await tick();
    expect(log).toHaveLength(1);
    clock.advance(1);
    expect(log).toEqual(['run 4: 1,2,3,4', 'run 1: 5']);
    await releaseAll(held, [late]);
  });

  it('serves higher priority first', async () => {
    const { scheduler, held, log } = batcher({ batching: false, priorityLevels: 2, defaultPriorityLevel: 2 });
    const results = [scheduler.enqueue(job(0)), scheduler.enqueue(job(1)), scheduler.enqueue(job(2, { priority: 1 })), scheduler.enqueue(job(3, { priority: 2 }))];
    await releaseAll(held, results);
    expect(log).toEqual(['run 1: 0', 'run 1: 2', 'run 1: 1', 'run 1: 3']);
    await expect(scheduler.enqueue(job(4, { priority: 3 }))).rejects.toMatchObject({
      errorCode: 'InvalidArgument',
      details: 'm/1: priority 3 is out of range: expected 1 (highest) to 2, or 0 for the default',
    });
  });

  it('answers ResourceExhausted at once when the queue is full', async () => {
    const { scheduler, held } = batcher({ maxQueueSize: 1 });
    const running = scheduler.enqueue(job(0));
    const queued = scheduler.enqueue(job(1));
    await expect(scheduler.enqueue(job(2))).rejects.toMatchObject({ errorCode: 'ResourceExhausted', details: 'm/1: queue is full (1 requests waiting)' });
    await releaseAll(held, [running, queued]);
  });

  it('drops a cancelled request from the queue', async () => {
    const { scheduler, held, log } = batcher();
    const running = scheduler.enqueue(job(0));
    const controller = new AbortController();
    const cancelled = scheduler.enqueue(job(1, { signal: controller.signal }));
    controller.abort();
    await expect(cancelled).rejects.toMatchObject({ errorCode: 'Cancelled' });
    expect(scheduler.inflight).toBe(1);
    await releaseAll(held, [running]);
    expect(log).toEqual(['run 1: 0']);
  });

  it('drains: refuses new requests with Unavailable and waits for accepted ones', async () => {
    const { scheduler, held } = batcher();
    const running = scheduler.enqueue(job(0));
    let drained = false;
    const draining = scheduler.drain().then(() => (drained = true));
    await expect(scheduler.enqueue(job(1))).rejects.toMatchObject({ errorCode: 'Unavailable' });
    await tick();
    expect(drained).toBe(false);
    await releaseAll(held, [running]);
    await draining;
    expect(drained).toBe(true);
  });

  it('answers every request of a batch whose run throws with the error, and goes on serving', async () => {
    let calls = 0;
    const flaky: ModelInstance = {
      signature: { inputs: [], outputs: [] },
      run: async (inputs) => {
        calls++;
        if (calls === 2) throw new ModelServeError('Internal', 'backend crashed mid-batch');
        await tick();
        const x = inputs[0]!;
        return [{ name: 'y', datatype: 'FP32', shape: x.shape, data: (x.data as Float32Array).map((v) => v * 2) }];
      },
      close: async () => undefined,
    };
    const stats = new VersionStats();
    const scheduler = new DynamicBatcher([flaky], { label: 'm/1', batching: true, maxBatchSize: 4, stats });
    const first = scheduler.enqueue(job(1));
    const crashed = [scheduler.enqueue(job(2)), scheduler.enqueue(job(3))]; // queued behind the first: one batch
    await first;
    for (const r of crashed) await expect(r).rejects.toMatchObject({ errorCode: 'Internal', details: 'backend crashed mid-batch' });
    const after = await scheduler.enqueue(job(4));
    expect([...(after[0]!.data as Float32Array)]).toEqual([8]);
    expect(stats.snapshot('m', 1)).toMatchObject({ requestCount: 2, failureCount: 2 });
  });

  it('counts requests, batches, inferences and batch sizes', async () => {
    const { scheduler, held, stats } = batcher({ maxBatchSize: 4 });
    const results = Array.from({ length: 6 }, (_, i) => scheduler.enqueue(job(i)));
    await releaseAll(held, results);
    const snapshot = stats.snapshot('m', 1);
    expect(snapshot).toMatchObject({ requestCount: 6, failureCount: 0, batchCount: 3, inferenceCount: 6 });
    expect(snapshot.batchSizes.map(({ batchSize, count }) => ({ batchSize, count }))).toEqual([
      { batchSize: 1, count: 2 },
      { batchSize: 4, count: 1 },
    ]);
    expect(snapshot.queueUs.count).toBe(6);
    expect(snapshot.computeUs.count).toBe(3);
    // Totals, as Triton's statistics need them: each request is charged its batch's run time.
    const runTotal = snapshot.batchSizes.reduce((sum, b) => sum + b.computeTotalUs, 0);
    const batchOfFour = snapshot.batchSizes.find((b) => b.batchSize === 4)!.computeTotalUs;
    const singles = runTotal - batchOfFour;
    expect(snapshot.computeTotalUs).toBeCloseTo(singles + 4 * batchOfFour, 3);
    expect(snapshot.successTotalUs).toBeGreaterThanOrEqual(snapshot.computeTotalUs - 1e-6);
    expect(snapshot.lastInferenceMs).toBeGreaterThan(Date.now() - 60_000);
  });
});
