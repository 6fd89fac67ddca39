import { describe, expect, it } from 'vitest';
import { FakeClock, systemClock } from './clock';

describe('FakeClock', () => {
  it('stands still until moved, from the instant it was given', async () => {
    const clock = new FakeClock(new Date('2030-01-01T00:00:00Z'));
    expect(clock.now().toISOString()).toBe('2030-01-01T00:00:00.000Z');
    await clock.advance(1500);
    expect(clock.nowMs()).toBe(Date.parse('2030-01-01T00:00:01.500Z'));
    await clock.set(new Date('2030-01-02T00:00:00Z'));
    expect(clock.now().toISOString()).toBe('2030-01-02T00:00:00.000Z');
    // backward is allowed
    await clock.set(0);
    expect(clock.nowMs()).toBe(0);
  });

  it('set jumps: what is due fires once, at the new time, and a loop that sleeps again counts from there', async () => {
    const clock = new FakeClock(0);
    const fired: string[] = [];
    clock.setTimer(5000, () => fired.push(`b@${clock.nowMs()}`));
    clock.setTimer(1000, () => {
      fired.push(`a@${clock.nowMs()}`);
      clock.setTimer(1000, () => fired.push(`again@${clock.nowMs()}`));
    });
    clock.setTimer(90_000, () => fired.push('later'));
    await clock.set(30_000);
    expect(fired).toEqual(['a@30000', 'b@30000']);
    expect(clock.pending).toBe(2);
    await clock.set(0); // backward fires nothing
    expect(fired).toHaveLength(2);
  });

  it('starts at the real current time by default', () => {
    expect(Math.abs(new FakeClock().nowMs() - Date.now())).toBeLessThan(1000);
  });

  it('fires due timers in order, each at its own instant, and not the ones still ahead', async () => {
    const clock = new FakeClock(0);
    const fired: string[] = [];
    clock.setTimer(300, () => fired.push(`c@${clock.nowMs()}`));
    clock.setTimer(100, () => fired.push(`a@${clock.nowMs()}`));
    clock.setTimer(100, () => fired.push(`b@${clock.nowMs()}`));
    const cancel = clock.setTimer(200, () => fired.push('canceled'));
    cancel();
    await clock.advance(299);
    expect(fired).toEqual(['a@100', 'b@100']);
    expect(clock.pending).toBe(1);
    await clock.advance(1);
    expect(fired).toEqual(['a@100', 'b@100', 'c@300']);
    expect(clock.pending).toBe(0);
  });

  it('wakes a loop of sleepers once per period within one advance, running its work in between', async () => {
    const clock = new FakeClock(0);
    const woke: number[] = [];
    const stop = new AbortController();
    const loop = (async () => {
      for (;;) {
        await clock.sleep(1000, stop.signal);
        if (stop.signal.aborted) return;
        woke.push(clock.nowMs());
        await Promise.resolve(); // some asynchronous work before the next sleep
      }
    })();
    await clock.advance(3500);
    expect(woke).toEqual([1000, 2000, 3000]);
    stop.abort();
    await loop;
    expect(clock.pending).toBe(0);
  });

  it('sleep resolves early when its signal aborts, and at once when it already has', async () => {
    const clock = new FakeClock(0);
    const stop = new AbortController();
    const sleeping = clock.sleep(60_000, stop.signal);
    expect(clock.pending).toBe(1);
    stop.abort();
    await sleeping;
    expect(clock.pending).toBe(0);
    expect(clock.nowMs()).toBe(0);
    await clock.sleep(60_000, stop.signal);
  });

  it('waitForSleepers resolves when background work has gone back to sleep', async () => {
    const clock = new FakeClock(0);
    let rounds = 0;
    void (async () => {
      for (;;) {
        await clock.sleep(1000);
        await new Promise((r) => setTimeout(r, 20)); // real I/O after the wake-up
        rounds++;
      }
    })();
    await clock.waitForSleepers(1);
    await clock.advance(1000);
    expect(rounds).toBe(0);
    await clock.waitForSleepers(1);
    expect(rounds).toBe(1);
    await expect(clock.waitForSleepers(2, 50)).rejects.toThrow(/1 of 2 sleepers/);
  });
});

describe('systemClock', () => {
  it('reads the real time and sleeps on real timers', async () => {
    expect(Math.abs(systemClock.nowMs() - Date.now())).toBeLessThan(50);
    const started = Date.now();
    await systemClock.sleep(20);
    expect(Date.now() - started).toBeGreaterThanOrEqual(15);
    const stop = new AbortController();
    const long = systemClock.sleep(60_000, stop.signal);
    stop.abort();
    await long;
  });
});
