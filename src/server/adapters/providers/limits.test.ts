import { describe, expect, it } from 'vitest';
import { MinuteWindow, Semaphore } from './limits';

describe('per-provider back-pressure', () => {
  it('never runs more than the cap at once and serves waiters in order', async () => {
    const gate = new Semaphore(2);
    let running = 0;
    let peak = 0;
    const order: number[] = [];
    const job = (i: number) =>
      gate.run(async () => {
        running++;
        peak = Math.max(peak, running);
        await new Promise((r) => setTimeout(r, 20));
        order.push(i);
        running--;
        return i;
      });
    const results = await Promise.all([0, 1, 2, 3, 4, 5].map(job));
    expect(results).toEqual([0, 1, 2, 3, 4, 5]);
    expect(peak).toBe(2);
    expect(order).toEqual([0, 1, 2, 3, 4, 5]);
    expect([gate.inFlight, gate.queued]).toEqual([0, 0]);
  });

  it('frees the slot when a call fails', async () => {
    const gate = new Semaphore(1);
    await expect(gate.run(async () => Promise.reject(new Error('upstream down')))).rejects.toThrow('upstream down');
    await expect(gate.run(async () => 'next')).resolves.toBe('next');
  });

  it('lets at most N submits start per rolling minute and makes the rest wait', async () => {
    let now = 0;
    const sleeps: number[] = [];
    const window = new MinuteWindow(
      3,
      () => now,
      async (ms) => {
        sleeps.push(ms);
        now += ms;
      },
    );
    const started: number[] = [];
    await Promise.all(
      [0, 1, 2, 3, 4].map(async () => {
        await window.take();
        started.push(now);
      }),
    );
    // three at t=0, the next two once the first starts leave the window
    expect(started).toEqual([0, 0, 0, 60_001, 60_001]);
    expect(sleeps).toEqual([60_001]);
  });
});
