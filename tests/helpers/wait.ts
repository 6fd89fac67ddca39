import type { TestApp } from './app';

export interface UntilOptions {
  /** re-check as soon as this app's workers finish a job or it announces a generation change */
  app?: TestApp | undefined;
  timeoutMs?: number;
  /** re-check at the latest after this long, for changes nothing announces (a row written after a response) */
  recheckMs?: number;
  /** what is awaited, for the error (a function: asked when the time is up) */
  what?: string | (() => string);
}

/**
 * Resolves with the first truthy answer of `check`. It checks at once, then again whenever something
 * that may change the answer happens (see `app`), and at the latest every `recheckMs`; it fails after
 * `timeoutMs`. Tests await what they expect with it instead of sleeping for a guessed time.
 */
type Falsy = false | null | undefined | 0 | '';

export async function until<T>(check: () => T | Falsy | Promise<T | Falsy>, opts: UntilOptions = {}): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const deadline = Date.now() + timeoutMs;
  let changes = 0;
  let wake = () => {};
  const stop = opts.app
    ? await watch(opts.app, () => {
        changes++;
        wake();
      })
    : async () => {};
  try {
    for (;;) {
      const before = changes;
      const answer = await check();
      if (answer) return answer;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`still waiting for ${describe(opts.what)} after ${timeoutMs} ms`);
      if (changes !== before) continue; // something happened while checking: look again at once
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, opts.recheckMs ?? 50));
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = () => {};
    }
  } finally {
    await stop();
  }
}

const describe = (what: UntilOptions['what']) => (typeof what === 'function' ? what() : (what ?? 'a condition'));

/** Calls `onChange` after each job the app's workers finish and each generation change it announces. */
async function watch(app: TestApp, onChange: () => void): Promise<() => Promise<void>> {
  const offJobs = app.platform.ctx.queue.onJobSettled(onChange);
  const unlisten = await app.db.listen('generation_events', onChange);
  return async () => {
    offJobs();
    await unlisten().catch(() => {});
  };
}

/**
 * Resolves once the app's queue holds no job of these kinds waiting, retrying or running: whatever
 * was sent has run. This is the point after which a job's late effect (a second mail, a repeated
 * delivery) can no longer appear, so tests await it instead of "giving it time".
 */
export async function jobsDone(app: TestApp, names: string[], opts: Omit<UntilOptions, 'app'> = {}): Promise<void> {
  const boss = app.platform.ctx.queue.boss;
  const left = async () => (await Promise.all(names.map((name) => boss.getQueueSize(name, { before: 'completed' })))).reduce((a, b) => a + b, 0);
  await until(async () => (await left()) === 0, { app, what: `the jobs ${names.join(', ')} to finish`, recheckMs: 250, ...opts });
}
