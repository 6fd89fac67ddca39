/**
 * The time port. Everything that decides an expiry, a window, a back-off or a schedule asks a
 * `Clock` instead of `Date.now()`, `setTimeout` or SQL `now()` (repositories take the clock's time
 * as a `$n::timestamptz` parameter), so tests can move time instead of waiting for it.
 *
 * - `systemClock`: the real time and real timers (production).
 * - `FakeClock`: time stands still until a test moves it: `advance(ms)` walks forward, firing each
 *   timer and sleeper at the instant it falls due (seconds of a schedule); `set(date)` jumps (hours
 *   or days past an expiry, without waking a one-second loop once per second). It starts at the
 *   real current time by default, because the timestamps the database writes itself (`created_at
 *   default now()`) are real time: the two agree until the test moves the clock.
 */
export interface Clock {
  now(): Date;
  /** milliseconds since the epoch */
  nowMs(): number;
  /** Resolves after `ms`, or as soon as `signal` aborts (it never rejects: loops check why they woke). */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /** Calls `fn` once after `ms`; returns a function that cancels it. */
  setTimer(ms: number, fn: () => void): () => void;
}

export const systemClock: Clock = {
  now: () => new Date(),
  nowMs: () => Date.now(),
  sleep: (ms, signal) => sleepOn(systemClock, ms, signal),
  setTimer(ms, fn) {
    const timer = setTimeout(fn, Math.max(0, ms));
    return () => clearTimeout(timer);
  },
};

/** `sleep` for any clock, built on its `setTimer`. */
function sleepOn(clock: Pick<Clock, 'setTimer'>, ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      cancel();
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const cancel = clock.setTimer(ms, done);
    signal?.addEventListener('abort', done, { once: true });
  });
}

interface FakeTimer {
  dueMs: number;
  /** creation order: timers due at the same instant fire in the order they were set */
  seq: number;
  fn: () => void;
}

/** Lets every promise callback queued so far (and the ones they queue) run. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A clock that moves only when told to (tests). */
export class FakeClock implements Clock {
  private current: number;
  private seq = 0;
  private readonly timers = new Set<FakeTimer>();
  private readonly waiters = new Set<{ count: number; resolve: () => void }>();

  constructor(start: Date | number = Date.now()) {
    this.current = typeof start === 'number' ? start : start.getTime();
  }

  now(): Date {
    return new Date(this.current);
  }

  nowMs(): number {
    return this.current;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return sleepOn(this, ms, signal);
  }

  setTimer(ms: number, fn: () => void): () => void {
    const timer: FakeTimer = { dueMs: this.current + Math.max(0, ms), seq: this.seq++, fn };
    this.timers.add(timer);
    for (const w of [...this.waiters]) {
      if (this.timers.size >= w.count) {
        this.waiters.delete(w);
        w.resolve();
      }
    }
    return () => void this.timers.delete(timer);
  }

  /** timers and sleepers waiting on this clock */
  get pending(): number {
    return this.timers.size;
  }

  /**
   * Move time forward by `ms`, firing every timer that falls due on the way, earliest first, each
   * at its own instant, and letting promise callbacks run after each (so a sleeper that wakes and
   * sleeps again within the span wakes again when due).
   */
  async advance(ms: number): Promise<void> {
    if (!(ms >= 0)) throw new Error('FakeClock.advance: ms must be zero or more');
    const target = this.current + ms;
    for (let next = this.nextDue(target); next; next = this.nextDue(target)) {
      this.timers.delete(next);
      this.current = next.dueMs;
      next.fn();
      await settle();
    }
    this.current = target;
    await settle();
  }

  /**
   * Jump to `date` (either way), as when a machine wakes from sleep: the timers then due fire once,
   * earliest first, all at the new time; a timer they set counts from the new time. Unlike
   * `advance`, a loop that sleeps a second at a time wakes once, not once per second of the jump.
   */
  async set(date: Date | number): Promise<void> {
    this.current = typeof date === 'number' ? date : date.getTime();
    const due = [...this.timers].filter((t) => t.dueMs <= this.current).sort((a, b) => a.dueMs - b.dueMs || a.seq - b.seq);
    for (const t of due) {
      if (!this.timers.delete(t)) continue; // canceled by an earlier one
      t.fn();
      await settle();
    }
    await settle();
  }

  /**
   * Resolves once at least `count` timers or sleepers are waiting on this clock: for background
   * loops that do real work (database, HTTP) after a wake-up and then sleep again, "everything is
   * asleep" means the work of this instant is done.
   */
  waitForSleepers(count: number, timeoutMs = 30_000): Promise<void> {
    if (this.timers.size >= count) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter = {
        count,
        resolve: () => {
          clearTimeout(timeout);
          resolve();
        },
      };
      const timeout = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`FakeClock: ${this.timers.size} of ${count} sleepers after ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }

  private nextDue(target: number): FakeTimer | undefined {
    let first: FakeTimer | undefined;
    for (const t of this.timers) {
      if (t.dueMs > target) continue;
      if (!first || t.dueMs < first.dueMs || (t.dueMs === first.dueMs && t.seq < first.seq)) first = t;
    }
    return first;
  }
}
