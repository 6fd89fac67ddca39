import type { VideoProvider } from './provider';

/**
 * Per-provider back-pressure: at most `maxConcurrent` calls in flight (submit, poll, cancel) and
 * at most `submitsPerMinute` task creations per rolling minute. Calls over the limit wait their
 * turn in FIFO order instead of hitting the upstream (queue, don't hammer). Limits are per process;
 * with several workers, divide the upstream's allowance between them.
 */
export interface ProviderLimits {
  maxConcurrent: number;
  submitsPerMinute: number;
}

export class Semaphore {
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  constructor(private readonly max: number) {}

  get inFlight() {
    return this.active;
  }
  get queued() {
    return this.waiting.length;
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.max) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.active++;
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }
}

/** Sliding one-minute window of start times; `take()` resolves when a start is allowed. */
export class MinuteWindow {
  private readonly starts: number[] = [];
  private chain: Promise<void> = Promise.resolve();
  constructor(
    private readonly perMinute: number,
    private readonly now: () => number = Date.now,
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
  ) {}

  take(): Promise<void> {
    const turn = this.chain.then(async () => {
      for (;;) {
        const t = this.now();
        while ((this.starts[0] ?? Infinity) <= t - 60_000) this.starts.shift();
        if (this.starts.length < this.perMinute) {
          this.starts.push(t);
          return;
        }
        await this.sleep((this.starts[0] ?? t) + 60_000 - t + 1);
      }
    });
    this.chain = turn.catch(() => undefined);
    return turn;
  }
}

export interface LimitedProvider extends VideoProvider {
  readonly stats: () => { inFlight: number; queued: number };
}

export function withLimits(provider: VideoProvider, limits: ProviderLimits): LimitedProvider {
  const gate = new Semaphore(limits.maxConcurrent);
  const window = new MinuteWindow(limits.submitsPerMinute);
  return {
    get id() {
      return provider.id;
    },
    get available() {
      return provider.available;
    },
    get unavailableReason() {
      return provider.unavailableReason;
    },
    get supportsCallbacks() {
      return provider.supportsCallbacks;
    },
    get supportsCancel() {
      return provider.supportsCancel;
    },
    get idempotentSubmit() {
      return provider.idempotentSubmit;
    },
    submit: async (request, key) => {
      await window.take();
      return gate.run(() => provider.submit(request, key));
    },
    poll: (id) => gate.run(() => provider.poll(id)),
    cancel: (id) => gate.run(() => provider.cancel(id)),
    verifyCallback: (raw, headers) => provider.verifyCallback(raw, headers),
    callbackKey: (id) => provider.callbackKey(id),
    upstreamIdFor: (key, model) => provider.upstreamIdFor(key, model),
    close: () => provider.close(),
    stats: () => ({ inFlight: gate.inFlight, queued: gate.queued }),
  };
}
