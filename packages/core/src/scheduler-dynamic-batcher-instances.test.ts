import { describe, expect, it } from 'vitest';
import { DynamicBatcher } from './scheduler-dynamic-batcher.js';
import { heldInstance, job, releaseAll, settled } from './testing/held-instance.js';

describe('dynamic batcher: instances that can no longer run', () => {
  function twoInstances(log: string[]) {
    const a = heldInstance(log, 'a ');
    const b = heldInstance(log, 'b ');
    const scheduler = new DynamicBatcher([a.instance, b.instance], { label: 'm/1', batching: false, maxBatchSize: 4 });
    return { scheduler, a, b };
  }

  it('gives a removed idle instance no more runs; the others serve the queue', async () => {
    const log: string[] = [];
    const { scheduler, a, b } = twoInstances(log);
    scheduler.remove(b.instance, 'worker died');
    expect(scheduler.instances).toBe(1);
    const results = [0, 1, 2].map((id) => scheduler.enqueue(job(id)));
    await releaseAll(a, results);
    expect(log).toEqual(['a run 1: 0', 'a run 1: 1', 'a run 1: 2']);
  });

  it('lets a removed busy instance finish its run, then never gives it another', async () => {
    const log: string[] = [];
    const { scheduler, a, b } = twoInstances(log);
    const first = [scheduler.enqueue(job(0)), scheduler.enqueue(job(1))];
    expect(log).toEqual(['b run 1: 0', 'a run 1: 1']);
    scheduler.remove(a.instance, 'worker died');
    const queued = [scheduler.enqueue(job(2)), scheduler.enqueue(job(3))];
    a.release();
    await expect(first[1]).resolves.toHaveLength(1);
    expect(log).toHaveLength(2);
    await releaseAll(b, [first[0]!, ...queued]);
    expect(log.slice(2)).toEqual(['b run 1: 2', 'b run 1: 3']);
  });

  it('answers the queue Unavailable with the reason once no instance is left, refuses new requests, and drains', async () => {
    const log: string[] = [];
    const { scheduler, a, b } = twoInstances(log);
    const running = [scheduler.enqueue(job(0)), scheduler.enqueue(job(1))];
    const queued = scheduler.enqueue(job(2, { deadline: Date.now() + 60_000 }));
    scheduler.remove(a.instance, 'worker died');
    expect(await settled(queued)).toBe(false);
    scheduler.remove(b.instance, 'its worker exited and could not restart');
    await expect(queued).rejects.toMatchObject({ errorCode: 'Unavailable', details: 'm/1: its worker exited and could not restart' });
    await expect(scheduler.enqueue(job(3))).rejects.toMatchObject({ errorCode: 'Unavailable', details: 'm/1: its worker exited and could not restart' });
    expect(scheduler.instances).toBe(0);
    const drained = scheduler.drain();
    a.release();
    b.release();
    await Promise.all([...running, drained]);
    expect(scheduler.inflight).toBe(0);
  });
});
