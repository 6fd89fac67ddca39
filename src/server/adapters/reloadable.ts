/**
 * One instance of an adapter (a provider, the payment registry, a mailer) and the calls it is
 * serving. The reloadable wrappers (providers/reloadable.ts, payments/reloadable.ts,
 * mail/reloadable.ts) start every call on the current lease; after a settings change they install a
 * new one and retire the old, which closes once the calls it had started are done (or after
 * `maxWaitMs`, so one hung call cannot keep an old connection pool forever).
 */
export class Lease<T> {
  private inFlight = 0;
  private retired: Promise<void> | null = null;
  private drained: (() => void) | null = null;

  constructor(
    readonly value: T,
    private readonly closeValue: (value: T) => Promise<void>,
  ) {}

  /** Runs one call on this instance, counted until it settles. */
  async run<R>(fn: (value: T) => Promise<R>): Promise<R> {
    this.inFlight++;
    try {
      return await fn(this.value);
    } finally {
      this.inFlight--;
      if (this.inFlight === 0) this.drained?.();
    }
  }

  /** Closes the instance once no call runs on it any more (at most after `maxWaitMs`). Idempotent. */
  retire(maxWaitMs = 60_000): Promise<void> {
    this.retired ??= (async () => {
      if (this.inFlight > 0) {
        let timer: NodeJS.Timeout | undefined;
        await new Promise<void>((resolve) => {
          this.drained = resolve;
          timer = setTimeout(resolve, maxWaitMs);
          timer.unref();
        });
        clearTimeout(timer);
      }
      await this.closeValue(this.value);
    })();
    return this.retired;
  }
}

/** The old leases being retired, so that closing the wrapper waits for them too. */
export class Retiring {
  private readonly pending = new Set<Promise<void>>();

  add<T>(lease: Lease<T>, onError: (err: unknown) => void): void {
    const p = lease.retire().catch(onError);
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  async settled(): Promise<void> {
    await Promise.all([...this.pending]);
  }
}
