import { describe, expect, it } from 'vitest';
import { createSemaphore, mediaSlots, runTool, setMediaConcurrency } from './ffmpeg';

/** A promise and the functions that settle it. */
function deferred<T = void>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

/** let every settled promise's callbacks run */
const settle = () => new Promise<void>((r) => setImmediate(r));

describe('createSemaphore', () => {
  it('runs at most N at once and starts the waiters in the order they came', async () => {
    const sem = createSemaphore(2);
    const gates = Array.from({ length: 5 }, () => deferred<number>());
    const started: number[] = [];
    let running = 0;
    let peak = 0;
    const results = gates.map((gate, i) =>
      sem.run(async () => {
        started.push(i);
        running++;
        peak = Math.max(peak, running);
        try {
          return await gate.promise;
        } finally {
          running--;
        }
      }),
    );
    for (const r of results) r.catch(() => {}); // checked below with allSettled
    await settle();
    expect(started).toEqual([0, 1]);
    expect([sem.active, sem.waiting]).toEqual([2, 3]);
    gates[1]!.resolve(1);
    await settle();
    expect(started).toEqual([0, 1, 2]);
    gates[0]!.reject(new Error('boom')); // a failure frees its slot too
    await settle();
    expect(started).toEqual([0, 1, 2, 3]);
    gates[2]!.resolve(2);
    gates[3]!.resolve(3);
    await settle();
    expect(started).toEqual([0, 1, 2, 3, 4]);
    gates[4]!.resolve(4);
    const settled = await Promise.allSettled(results);
    expect(settled.map((r) => r.status)).toEqual(['rejected', 'fulfilled', 'fulfilled', 'fulfilled', 'fulfilled']);
    expect(peak).toBe(2);
    expect([sem.active, sem.waiting]).toEqual([0, 0]);
  });

  it('a waiter whose signal aborts leaves the line without running', async () => {
    const sem = createSemaphore(1);
    const gate = deferred();
    const first = sem.run(() => gate.promise);
    const ac = new AbortController();
    let ran = false;
    const second = sem.run(async () => {
      ran = true;
    }, ac.signal);
    const third = sem.run(async () => 'third');
    await settle();
    expect(sem.waiting).toBe(2);
    ac.abort(new Error('gave up'));
    await expect(second).rejects.toThrow('gave up');
    expect(sem.waiting).toBe(1);
    gate.resolve();
    await first;
    expect(await third).toBe('third');
    expect(ran).toBe(false);
  });

  it('raising the limit starts waiters at once', async () => {
    const sem = createSemaphore(1);
    const gate = deferred();
    const runs = [0, 1, 2].map(() => sem.run(() => gate.promise));
    await settle();
    expect(sem.active).toBe(1);
    sem.limit = 3;
    expect([sem.active, sem.waiting]).toEqual([3, 0]);
    gate.resolve();
    await Promise.all(runs);
  });
});

describe('runTool waits for a media slot', () => {
  it('holds the process back until a slot is free (MEDIA_CONCURRENCY)', async () => {
    const before = mediaSlots.limit;
    setMediaConcurrency(1);
    // a child that runs until it is aborted, holding the only slot
    const hold = new AbortController();
    const holder = runTool(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { signal: hold.signal, killSignal: 'SIGKILL' });
    const waiter = runTool(process.execPath, ['-e', 'process.stdout.write("ran")']);
    try {
      await settle();
      expect([mediaSlots.active, mediaSlots.waiting]).toEqual([1, 1]);
      hold.abort();
      await expect(holder).rejects.toThrow();
      expect((await waiter).stdout).toBe('ran');
      expect([mediaSlots.active, mediaSlots.waiting]).toEqual([0, 0]);
    } finally {
      hold.abort();
      setMediaConcurrency(before);
    }
  });

  it('a caller with its own limit (slots: null) is not held back', async () => {
    const before = mediaSlots.limit;
    setMediaConcurrency(1);
    const hold = new AbortController();
    const holder = runTool(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { signal: hold.signal, killSignal: 'SIGKILL' });
    try {
      await settle();
      expect(mediaSlots.active).toBe(1);
      expect((await runTool(process.execPath, ['-e', 'process.stdout.write("free")'], { slots: null })).stdout).toBe('free');
    } finally {
      hold.abort();
      await holder.catch(() => {});
      setMediaConcurrency(before);
    }
  });
});
