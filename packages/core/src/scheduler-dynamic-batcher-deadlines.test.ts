import { describe, expect, it } from 'vitest';
import type { DynamicBatcherOptions } from './scheduler-dynamic-batcher.js';
import { batcher, job, releaseAll, settled } from './testing/held-instance.js';
import { ManualClock } from './testing/manual-clock.js';

/** A batcher (batching on, max_batch_size 4, see batcher()) on a manual clock. */
function onClock(overrides: Partial<DynamicBatcherOptions> = {}) {
  const clock = new ManualClock();
  return { ...batcher({ clock, ...overrides }), clock };
}

/** Checks that `late`, queued with a deadline `ms` ahead, still waits 1 ms before it and is answered DeadlineExceeded at it. */
async function expectExpiresWhileQueued(clock: ManualClock, late: Promise<unknown>, ms: number): Promise<void> {
  clock.advance(ms - 1);
  expect(await settled(late)).toBe(false);
  clock.advance(1);
  await expect(late).rejects.toMatchObject({ errorCode: 'DeadlineExceeded', details: 'm/1: deadline passed while queued' });
}

/** Deadlines in virtual time: each answer is checked at its exact moment, on any machine. */
describe('dynamic batcher deadlines', () => {
  /** A request queued `ms` before its deadline behind a run that does not end expires at the deadline, never runs, and leaves no timer. */
  async function expiresBehindHeldRun(overrides: Partial<DynamicBatcherOptions>, ms: number) {
    const { scheduler, held, log, clock } = onClock(overrides);
    const running = scheduler.enqueue(job(0));
    const late = scheduler.enqueue(job(1, { deadline: clock.now() + ms }));
    await expectExpiresWhileQueued(clock, late, ms);
    await releaseAll(held, [running]);
    expect(log).toEqual(['run 1: 0']);
    expect(scheduler.inflight).toBe(0);
    expect(clock.pending).toBe(0);
  }

  it('answers DeadlineExceeded for a request whose deadline passes while queued, and never runs it', async () => {
    await expiresBehindHeldRun({}, 20);
  });

  it('answers DeadlineExceeded at the deadline for a request queued with a deadline too far off for a timer of its own', async () => {
    await expiresBehindHeldRun({ shedByDeadline: false }, 1300);
  });

  describe('shedding by deadline', () => {
    /** A batcher (batching off: one request per run) on a manual clock, whose first run took 40 ms. */
    async function timed(overrides: Partial<DynamicBatcherOptions> = {}) {
      const b = onClock({ batching: false, ...overrides });
      const first = b.scheduler.enqueue(job(0));
      b.clock.advance(40);
      b.held.release();
      await first;
      return b;
    }

    it('refuses at once, with ResourceExhausted, a request that the work queued ahead would make miss its deadline', async () => {
      const { scheduler, held, clock } = await timed();
      const accepted = [scheduler.enqueue(job(1)), scheduler.enqueue(job(2, { deadline: clock.now() + 10_000 })), scheduler.enqueue(job(3))];
      // Two queued ahead, then its own run, after the run in progress: 4 × 40 ms, against 100 ms.
      // The clock stands still: the answer cannot have waited for anything.
      const refused = scheduler.enqueue(job(4, { deadline: clock.now() + 100 }));
      await expect(refused).rejects.toMatchObject({
        errorCode: 'ResourceExhausted',
        details: 'm/1: overloaded: the 2 requests queued ahead would finish it in about 160 ms, its deadline is in 100 ms',
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
      await expectExpiresWhileQueued(clock, late, 100);
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
      await expect(queued).rejects.toMatchObject({ errorCode: 'DeadlineExceeded', details: 'm/1: deadline would pass before a run could finish (runs take about 40 ms)' });
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
      await expect(queued).rejects.toMatchObject({ errorCode: 'DeadlineExceeded', details: 'm/1: deadline would pass before a run could finish (runs take about 44 ms)' });
      await running;
      expect(log).toEqual(['run 1: 0', 'run 1: 1']);
      expect(scheduler.inflight).toBe(0);
    });
  });
});
