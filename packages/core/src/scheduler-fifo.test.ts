import { describe, expect, it } from 'vitest';
import type { ModelInstance } from './backend.js';
import { FifoScheduler } from './scheduler-fifo.js';
import type { NamedTensor } from './tensor.js';
import { gate } from './testing/fake-backend.js';

/** An instance whose runs wait for the test to release them, one gate per run. */
function heldInstance(log: string[]): { instance: ModelInstance; release(): void } {
  const gates: Array<() => void> = [];
  const instance: ModelInstance = {
    signature: { inputs: [], outputs: [] },
    run: async (inputs) => {
      const g = gate();
      gates.push(g.open);
      log.push(`start ${inputs[0]?.name}`);
      await g.promise;
      return inputs;
    },
    close: async () => undefined,
  };
  return { instance, release: () => gates.shift()?.() };
}

const job = (name: string, extra: object = {}) => ({
  inputs: [{ name, datatype: 'FP32', shape: [1], data: new Float32Array(1) } as NamedTensor],
  outputs: [],
  ...extra,
});

const tick = () => new Promise((r) => setImmediate(r));

describe('FIFO scheduler', () => {
  it('starts a job at once on an idle instance and answers it', async () => {
    const log: string[] = [];
    const held = heldInstance(log);
    const scheduler = new FifoScheduler([held.instance], { label: 'm/1' });
    const result = scheduler.enqueue(job('a'));
    expect(log).toEqual(['start a']);
    held.release();
    await expect(result).resolves.toHaveLength(1);
  });

  it('runs queued jobs in arrival order when the instance frees', async () => {
    const log: string[] = [];
    const held = heldInstance(log);
    const scheduler = new FifoScheduler([held.instance], { label: 'm/1' });
    const results = ['a', 'b', 'c'].map((n) => scheduler.enqueue(job(n)));
    expect(scheduler.inflight).toBe(3);
    for (let i = 0; i < 3; i++) {
      await tick();
      held.release();
    }
    await Promise.all(results);
    expect(log).toEqual(['start a', 'start b', 'start c']);
  });

  it('answers ResourceExhausted at once when the queue is full', async () => {
    const held = heldInstance([]);
    const scheduler = new FifoScheduler([held.instance], { label: 'm/1', maxQueueSize: 1 });
    const running = scheduler.enqueue(job('a'));
    const queued = scheduler.enqueue(job('b'));
    await expect(scheduler.enqueue(job('c'))).rejects.toMatchObject({ code: 'ResourceExhausted', message: 'm/1: queue is full (1 requests waiting)' });
    held.release();
    await running;
    await tick();
    held.release();
    await queued;
  });

  it('answers DeadlineExceeded for a job whose deadline passes while queued, and never runs it', async () => {
    const log: string[] = [];
    const held = heldInstance(log);
    const scheduler = new FifoScheduler([held.instance], { label: 'm/1' });
    const running = scheduler.enqueue(job('a'));
    const late = scheduler.enqueue(job('b', { deadline: Date.now() + 20 }));
    await expect(late).rejects.toMatchObject({ code: 'DeadlineExceeded' });
    held.release();
    await running;
    expect(log).toEqual(['start a']);
    expect(scheduler.inflight).toBe(0);
  });

  it('drops a cancelled job from the queue', async () => {
    const log: string[] = [];
    const held = heldInstance(log);
    const scheduler = new FifoScheduler([held.instance], { label: 'm/1' });
    const running = scheduler.enqueue(job('a'));
    const controller = new AbortController();
    const cancelled = scheduler.enqueue(job('b', { signal: controller.signal }));
    controller.abort();
    await expect(cancelled).rejects.toMatchObject({ code: 'Cancelled' });
    expect(scheduler.inflight).toBe(1);
    held.release();
    await running;
    expect(log).toEqual(['start a']);
  });

  it('drains: refuses new jobs with Unavailable and waits for accepted ones', async () => {
    const held = heldInstance([]);
    const scheduler = new FifoScheduler([held.instance], { label: 'm/1' });
    const running = scheduler.enqueue(job('a'));
    let drained = false;
    const draining = scheduler.drain().then(() => {
      drained = true;
    });
    await expect(scheduler.enqueue(job('b'))).rejects.toMatchObject({ code: 'Unavailable' });
    await tick();
    expect(drained).toBe(false);
    held.release();
    await running;
    await draining;
    expect(drained).toBe(true);
  });
});
