/**
 * What a fake still has to do on its own: callbacks waiting on a timer and deliveries under way.
 * `settled()` resolves once none is left (the receiver has answered the last one), so a test awaits
 * a fake's late callbacks instead of sleeping for them.
 */
export function pendingWork() {
  const work = new Set<Promise<unknown>>();
  const timers = new Map<NodeJS.Timeout, () => void>();
  let closed = false;

  return {
    /** run `fn` after `ms` (not once closed); it counts as pending until its promise settles */
    later: (ms: number, fn: () => unknown): void => {
      const done = new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          timers.delete(timer);
          if (closed) return resolve();
          Promise.resolve()
            .then(fn)
            .catch(() => undefined)
            .finally(resolve);
        }, ms);
        timers.set(timer, resolve);
      });
      work.add(done);
      void done.finally(() => work.delete(done));
    },
    settled: async (): Promise<void> => {
      while (work.size) await Promise.allSettled([...work]);
    },
    /** drop what has not started */
    close: (): void => {
      closed = true;
      for (const [timer, resolve] of timers) {
        clearTimeout(timer);
        resolve();
      }
      timers.clear();
    },
  };
}
