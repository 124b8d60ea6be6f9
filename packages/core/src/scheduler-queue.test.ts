import { describe, expect, it } from 'vitest';
import { ModelServeError } from './errors.js';
import { farDeadlineMs, RequestQueue, type RequestQueueOptions } from './scheduler-queue.js';
import type { InferenceJob } from './scheduler.js';
import { ManualClock } from './testing/manual-clock.js';

const job = (extra: Partial<InferenceJob> = {}): InferenceJob => ({ inputs: [], outputs: [], ...extra });

/** A queue on a manual clock; every answer it gives is recorded under the request's name. */
function queue(overrides: Partial<RequestQueueOptions> = {}) {
  const clock = new ManualClock();
  const answers: string[] = [];
  let dropped = 0;
  const q = new RequestQueue({
    label: 'm/1',
    maxQueueSize: 8,
    priorityLevels: 2,
    defaultPriorityLevel: 2,
    shedByDeadline: true,
    samplesPerRun: 1,
    clock,
    onDropped: () => dropped++,
    ...overrides,
  });
  const add = (name: string, extra: Partial<InferenceJob> = {}, size = 1) => {
    const j = job(extra);
    const level = q.admit(j, size, true, 1);
    const request = q.push(j, '', size, level, () => answers.push(`${name}: ok`), (e) => answers.push(`${name}: ${(e as ModelServeError).errorCode}: ${(e as ModelServeError).details}`));
    q.watch(request);
    return request;
  };
  return { q, clock, answers, add, dropped: () => dropped };
}

describe('request queue', () => {
  it('puts the highest priority first, oldest first within a level; 0 or none is the default level', () => {
    const { q, add } = queue();
    add('a');
    add('b', { priority: 0 });
    add('c', { priority: 1 });
    add('d', { priority: 2 });
    expect(q.byLevel.map((level) => level.length)).toEqual([1, 3, 0]);
    const order: string[] = [];
    for (let head = q.head(); head !== undefined; head = q.head()) {
      order.push(head.job.priority === 1 ? 'c' : `level ${head.level}`);
      q.take([head]);
    }
    expect(order).toEqual(['c', 'level 2', 'level 2', 'level 2']);
    expect(q.length).toBe(0);
  });

  it('queues background work (batch jobs) below every level, whatever its priority, and behind requests that come later', () => {
    const { q, add } = queue();
    add('job', { background: true, priority: 1 });
    add('online', { priority: 2 });
    expect(q.byLevel.map((level) => level.length)).toEqual([0, 1, 1]);
    const order: string[] = [];
    for (let head = q.head(); head !== undefined; head = q.head()) {
      order.push(head.job.background === true ? 'job' : 'online');
      q.take([head]);
    }
    expect(order).toEqual(['online', 'job']);
    // The level below the others is for background work only.
    expect(() => q.admit(job({ priority: 3 }), 1, true, 1)).toThrow(expect.objectContaining({ errorCode: 'InvalidArgument' }));
  });

  it('refuses a priority out of range with InvalidArgument, and any request once full with ResourceExhausted', () => {
    const { q, add } = queue({ maxQueueSize: 2 });
    expect(() => q.admit(job({ priority: 3 }), 1, true, 1)).toThrow(/^INVALID_ARGUMENT: m\/1: priority 3 is out of range: expected 1 \(highest\) to 2, or 0 for the default$/);
    expect(() => q.admit(job({ priority: 1.5 }), 1, true, 1)).toThrow(expect.objectContaining({ errorCode: 'InvalidArgument' }));
    add('a');
    add('b');
    expect(() => q.admit(job(), 1, true, 1)).toThrow(expect.objectContaining({ errorCode: 'ResourceExhausted', details: 'm/1: queue is full (2 requests waiting)' }));
  });

  it('refuses a request the samples queued ahead would make miss its deadline, forecast from recent runs over the instances', () => {
    const { q, clock, add } = queue({ samplesPerRun: 2 });
    q.observeRun(40);
    add('a', {}, 2);
    add('b', {}, 1);
    // 3 ahead + 1 = 4 samples: 2 runs, over 1 instance, after the one in progress: 3 × 40 ms.
    const deadline = clock.now() + 119;
    expect(() => q.admit(job({ deadline }), 1, true, 1)).toThrow(
      expect.objectContaining({ errorCode: 'ResourceExhausted', details: 'm/1: overloaded: the 2 requests queued ahead would finish it in about 120 ms, its deadline is in 119 ms' }),
    );
    expect(q.admit(job({ deadline: deadline + 1 }), 1, true, 1)).toBe(2);
    // Over two instances: 1 + ceil(2 / 2) runs.
    expect(q.admit(job({ deadline: clock.now() + 80 }), 1, true, 2)).toBe(2);
    // An idle instance, no run measured yet, or shedding off: never refused for its deadline.
    expect(q.admit(job({ deadline: clock.now() + 1 }), 1, false, 1)).toBe(2);
    expect(queue().q.admit(job({ deadline: 1 }), 1, true, 1)).toBe(2);
    const off = queue({ shedByDeadline: false });
    off.q.observeRun(40);
    expect(off.q.admit(job({ deadline: off.clock.now() + 1 }), 1, true, 1)).toBe(2);
  });

  it('answers DeadlineExceeded at the deadline, not a millisecond before, and the request leaves the queue', () => {
    const { q, clock, answers, add, dropped } = queue();
    add('a', { deadline: clock.now() + 20 });
    clock.advance(19);
    expect(answers).toEqual([]);
    clock.advance(1);
    expect(answers).toEqual(['a: DeadlineExceeded: m/1: deadline passed while queued']);
    expect(q.length).toBe(0);
    expect(dropped()).toBe(1);
    expect(clock.pending).toBe(0);
  });

  it('answers one run before the deadline while shedding, saying so; before any run is measured, at the deadline', () => {
    const shed = queue();
    shed.q.observeRun(40);
    const deadline = shed.clock.now() + 150;
    shed.add('a', { deadline });
    shed.clock.advance(109);
    expect(shed.answers).toEqual([]);
    shed.clock.advance(1);
    expect(shed.answers).toEqual(['a: DeadlineExceeded: m/1: deadline would pass before a run could finish (runs take about 40 ms)']);
    expect(deadline - shed.clock.now()).toBe(40);
    const unmeasured = queue();
    unmeasured.add('b', { deadline: unmeasured.clock.now() + 150 });
    unmeasured.clock.advance(149);
    expect(unmeasured.answers).toEqual([]);
    unmeasured.clock.advance(1);
    expect(unmeasured.answers).toEqual(['b: DeadlineExceeded: m/1: deadline passed while queued']);
  });

  it('gives a far deadline no timer of its own: a sweep arms one as it nears, and the answer still comes at the deadline', () => {
    const { clock, answers, add } = queue({ shedByDeadline: false });
    add('far', { deadline: clock.now() + 1300 });
    add('farther', { deadline: clock.now() + 5000 });
    add('near', { deadline: clock.now() + 300 });
    // One timer for the near request, one sweep for both far ones.
    expect(clock.pending).toBe(2);
    clock.advance(1299);
    expect(answers).toEqual(['near: DeadlineExceeded: m/1: deadline passed while queued']);
    clock.advance(1);
    expect(answers.at(-1)).toBe('far: DeadlineExceeded: m/1: deadline passed while queued');
    clock.advance(3699);
    expect(answers).toHaveLength(2);
    clock.advance(1);
    expect(answers.at(-1)).toBe('farther: DeadlineExceeded: m/1: deadline passed while queued');
    // No far request left: the sweep stops.
    expect(clock.pending).toBe(0);
    expect(farDeadlineMs).toBe(1000);
  });

  it('drops a cancelled request at once, and forgets the listener of one that leaves', () => {
    const { q, answers, add, clock } = queue();
    const cancelled = new AbortController();
    const taken = new AbortController();
    add('cancelled', { signal: cancelled.signal, deadline: clock.now() + 100 });
    const request = add('taken', { signal: taken.signal, deadline: clock.now() + 100 });
    cancelled.abort();
    expect(answers).toEqual(['cancelled: Cancelled: m/1: request cancelled']);
    q.take([request]);
    expect(request.waiting).toBe(false);
    taken.abort();
    clock.advance(200);
    expect(answers).toHaveLength(1);
    expect(clock.pending).toBe(0);
  });

  it('takes a batch from anywhere in the queue, leaving the rest in order', () => {
    const { q, add } = queue();
    const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((name) => add(name, name === 'c' ? { priority: 1 } : {}));
    q.take([c!, b!]);
    expect(q.byLevel).toEqual([[], [a, d], []]);
    q.take([a!]);
    expect(q.head()).toBe(d);
  });

  it('answers every waiting request with one error and empties itself', () => {
    const { q, answers, add, clock, dropped } = queue();
    add('a', { deadline: clock.now() + 100 });
    add('b', { priority: 1 });
    q.dropAll(new ModelServeError('Unavailable', 'm/1: gone'));
    expect(answers).toEqual(['b: Unavailable: m/1: gone', 'a: Unavailable: m/1: gone']);
    expect(q.length).toBe(0);
    expect(dropped()).toBe(1);
    expect(clock.pending).toBe(0);
  });
});
