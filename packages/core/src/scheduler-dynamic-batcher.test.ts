import { describe, expect, it } from 'vitest';
import type { ModelInstance } from './backend.js';
import { DynamicBatcher, type DynamicBatcherOptions } from './scheduler-dynamic-batcher.js';
import { ModelServeError } from './errors.js';
import { VersionStats } from './statistics.js';
import type { NamedTensor } from './tensor.js';
import { gate } from './testing/fake-backend.js';
import { ManualClock } from './testing/manual-clock.js';

/**
 * An instance whose runs wait until the test releases them, one at a time. Each run is logged as
 * the request ids it served (the first value of each request's rows) and its batch size. The
 * model doubles its input, so results show whether rows went back to the right requests.
 */
function heldInstance(log: string[], tag = ''): { instance: ModelInstance; release(): void } {
  const gates: Array<() => void> = [];
  const instance: ModelInstance = {
    signature: { inputs: [], outputs: [] },
    run: async (inputs) => {
      const x = inputs[0]!;
      log.push(`${tag}run ${x.shape[0]}: ${[...(x.data as Float32Array)].join(',')}`);
      const g = gate();
      gates.push(g.open);
      await g.promise;
      return [{ name: 'y', datatype: 'FP32', shape: x.shape, data: (x.data as Float32Array).map((v) => v * 2) }];
    },
    close: async () => undefined,
  };
  return { instance, release: () => gates.shift()?.() };
}

/** A request of `rows` rows of width `width`, every value `id`. */
const job = (id: number, extra: object = {}, rows = 1, width = 1) => ({
  inputs: [{ name: 'x', datatype: 'FP32', shape: [rows, width], data: new Float32Array(rows * width).fill(id) } as NamedTensor],
  outputs: [] as string[],
  ...extra,
});

const tick = () => new Promise((r) => setImmediate(r));

/** Whether `promise` has settled, once the callbacks already due have run. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  promise.then(
    () => (done = true),
    () => (done = true),
  );
  await tick();
  return done;
}

function batcher(overrides: Partial<DynamicBatcherOptions> = {}, log: string[] = []) {
  const held = heldInstance(log);
  const stats = new VersionStats();
  const scheduler = new DynamicBatcher([held.instance], { label: 'm/1', batching: true, maxBatchSize: 4, stats, ...overrides });
  return { scheduler, held, log, stats };
}

/** Releases held runs one by one until every promise settles. */
async function releaseAll(held: { release(): void }, results: Array<Promise<unknown>>): Promise<void> {
  let settled = false;
  void Promise.allSettled(results).then(() => (settled = true));
  while (!settled) {
    held.release();
    await tick();
  }
}

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
      code: 'InvalidArgument',
      message: 'm/1: priority 3 is out of range: expected 1 (highest) to 2, or 0 for the default',
    });
  });

  it('answers ResourceExhausted at once when the queue is full', async () => {
    const { scheduler, held } = batcher({ maxQueueSize: 1 });
    const running = scheduler.enqueue(job(0));
    const queued = scheduler.enqueue(job(1));
    await expect(scheduler.enqueue(job(2))).rejects.toMatchObject({ code: 'ResourceExhausted', message: 'm/1: queue is full (1 requests waiting)' });
    await releaseAll(held, [running, queued]);
  });

  it('answers DeadlineExceeded for a request whose deadline passes while queued, and never runs it', async () => {
    const clock = new ManualClock();
    const { scheduler, held, log } = batcher({ clock });
    const running = scheduler.enqueue(job(0));
    const late = scheduler.enqueue(job(1, { deadline: clock.now() + 20 }));
    clock.advance(19);
    expect(await settled(late)).toBe(false);
    clock.advance(1);
    await expect(late).rejects.toMatchObject({ code: 'DeadlineExceeded', message: 'm/1: deadline passed while queued' });
    await releaseAll(held, [running]);
    expect(log).toEqual(['run 1: 0']);
    expect(scheduler.inflight).toBe(0);
  });

  it('answers DeadlineExceeded at the deadline for a request queued with a deadline too far off for a timer of its own', async () => {
    const clock = new ManualClock();
    const { scheduler, held, log } = batcher({ shedByDeadline: false, clock });
    const running = scheduler.enqueue(job(0));
    const late = scheduler.enqueue(job(1, { deadline: clock.now() + 1300 }));
    clock.advance(1299);
    expect(await settled(late)).toBe(false);
    clock.advance(1);
    await expect(late).rejects.toMatchObject({ code: 'DeadlineExceeded', message: 'm/1: deadline passed while queued' });
    await releaseAll(held, [running]);
    expect(log).toEqual(['run 1: 0']);
    expect(scheduler.inflight).toBe(0);
    expect(clock.pending).toBe(0);
  });

  describe('shedding by deadline', () => {
    /** A batcher (batching off: one request per run) on a manual clock, whose first run took 40 ms. */
    async function timed(overrides: Partial<DynamicBatcherOptions> = {}) {
      const clock = new ManualClock();
      const b = batcher({ batching: false, clock, ...overrides });
      const first = b.scheduler.enqueue(job(0));
      clock.advance(40);
      b.held.release();
      await first;
      return { ...b, clock };
    }

    it('refuses at once, with ResourceExhausted, a request that the work queued ahead would make miss its deadline', async () => {
      const { scheduler, held, clock } = await timed();
      const accepted = [scheduler.enqueue(job(1)), scheduler.enqueue(job(2, { deadline: clock.now() + 10_000 })), scheduler.enqueue(job(3))];
      // Two queued ahead, then its own run, after the run in progress: 4 × 40 ms, against 100 ms.
      // The clock stands still: the answer cannot have waited for anything.
      const refused = scheduler.enqueue(job(4, { deadline: clock.now() + 100 }));
      await expect(refused).rejects.toMatchObject({
        code: 'ResourceExhausted',
        message: 'm/1: overloaded: the 2 requests queued ahead would finish it in about 160 ms, its deadline is in 100 ms',
      });
      // A deadline the forecast meets is accepted.
      accepted.push(scheduler.enqueue(job(5, { deadline: clock.now() + 200 })));
      expect(await settled(accepted.at(-1)!)).toBe(false);
      await releaseAll(held, accepted);
      await expect(accepted.at(-1)).resolves.toHaveLength(1);
    });

    it('accepts it when shedding is off (it then waits, and expires at its deadline)', async () => {
      const { scheduler, held, clock } = await timed({ shedByDeadline: false });
      const accepted = [scheduler.enqueue(job(1)), scheduler.enqueue(job(2)), scheduler.enqueue(job(3))];
      const late = scheduler.enqueue(job(4, { deadline: clock.now() + 100 }));
      clock.advance(99);
      expect(await settled(late)).toBe(false);
      clock.advance(1);
      await expect(late).rejects.toMatchObject({ code: 'DeadlineExceeded', message: 'm/1: deadline passed while queued' });
      await releaseAll(held, accepted);
    });

    it('answers DeadlineExceeded as soon as a queued request can no longer finish in time, one run before its deadline', async () => {
      const { scheduler, held, clock, log } = await timed();
      const running = scheduler.enqueue(job(1));
      // Accepted (its own run after the one in progress: 80 ms, against 150 ms); the run in progress never ends.
      const deadline = clock.now() + 150;
      const queued = scheduler.enqueue(job(2, { deadline }));
      clock.advance(109);
      expect(await settled(queued)).toBe(false);
      clock.advance(1);
      await expect(queued).rejects.toMatchObject({ code: 'DeadlineExceeded', message: 'm/1: deadline would pass before a run could finish (runs take about 40 ms)' });
      expect(deadline - clock.now()).toBe(40);
      await releaseAll(held, [running]);
      expect(log).toEqual(['run 1: 0', 'run 1: 1']);
    });

    it('never starts a request that the latest run time says can no longer finish, even before its timer', async () => {
      const { scheduler, held, clock, log } = await timed();
      const running = scheduler.enqueue(job(1));
      // Accepted: 2 × 40 ms against 100 ms; its timer is due at 60 ms, one 40 ms run before its deadline.
      const queued = scheduler.enqueue(job(2, { deadline: clock.now() + 100 }));
      clock.advance(59);
      // The run in progress ends after 59 ms: runs now take about 44 ms, and 41 ms are left.
      held.release();
      await expect(queued).rejects.toMatchObject({ code: 'DeadlineExceeded', message: 'm/1: deadline would pass before a run could finish (runs take about 44 ms)' });
      await running;
      expect(log).toEqual(['run 1: 0', 'run 1: 1']);
      expect(scheduler.inflight).toBe(0);
    });
  });

  it('drops a cancelled request from the queue', async () => {
    const { scheduler, held, log } = batcher();
    const running = scheduler.enqueue(job(0));
    const controller = new AbortController();
    const cancelled = scheduler.enqueue(job(1, { signal: controller.signal }));
    controller.abort();
    await expect(cancelled).rejects.toMatchObject({ code: 'Cancelled' });
    expect(scheduler.inflight).toBe(1);
    await releaseAll(held, [running]);
    expect(log).toEqual(['run 1: 0']);
  });

  it('drains: refuses new requests with Unavailable and waits for accepted ones', async () => {
    const { scheduler, held } = batcher();
    const running = scheduler.enqueue(job(0));
    let drained = false;
    const draining = scheduler.drain().then(() => (drained = true));
    await expect(scheduler.enqueue(job(1))).rejects.toMatchObject({ code: 'Unavailable' });
    await tick();
    expect(drained).toBe(false);
    await releaseAll(held, [running]);
    await draining;
    expect(drained).toBe(true);
  });

  describe('instances that can no longer run', () => {
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
      await expect(queued).rejects.toMatchObject({ code: 'Unavailable', message: 'm/1: its worker exited and could not restart' });
      await expect(scheduler.enqueue(job(3))).rejects.toMatchObject({ code: 'Unavailable', message: 'm/1: its worker exited and could not restart' });
      expect(scheduler.instances).toBe(0);
      const drained = scheduler.drain();
      a.release();
      b.release();
      await Promise.all([...running, drained]);
      expect(scheduler.inflight).toBe(0);
    });
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
    for (const r of crashed) await expect(r).rejects.toMatchObject({ code: 'Internal', message: 'backend crashed mid-batch' });
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
