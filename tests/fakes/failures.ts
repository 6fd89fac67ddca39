/**
 * Failure injection shared by the fake upstream servers (KIE, FAL). A failure applies to one
 * submit: either the next submits (`fake.inject(failure, times)`), or any submit whose prompt
 * contains the marker `[fake:<kind>]` (e.g. `[fake:policy-after-accept]`, `[fake:delay=2000]`), so
 * a developer using `npm run dev:fakes` can trigger them from the studio.
 */
export type FakeFailure =
  /** answer the submit after `ms` (the task is created normally) */
  | { kind: 'delay'; ms: number }
  /** submit answers this 5xx; no task is created */
  | { kind: 'http-error'; status: 500 | 502 | 503 | 504 }
  /** submit answers 429 with Retry-After; no task is created */
  | { kind: 'rate-limit'; retryAfterSeconds?: number }
  /** submit reads the body and never answers (the client times out); no task is created */
  | { kind: 'timeout' }
  /** submit creates the task, then never answers: the caller cannot know it was accepted */
  | { kind: 'accept-then-timeout' }
  /** submit is rejected as invalid input (422 / validation detail) */
  | { kind: 'invalid-input' }
  /** submit is rejected for a bad key (401) whatever key was sent */
  | { kind: 'auth' }
  /** accepted, then ends as a content-policy rejection */
  | { kind: 'policy-after-accept' }
  /** accepted, then the generation fails for internal reasons */
  | { kind: 'fail' }
  /** accepted, then the upstream forgets the task (status lookups answer "not found / expired") */
  | { kind: 'expired' }
  /** accepted, stays in progress forever */
  | { kind: 'never-finish' }
  /** accepted, the status endpoint answers a state no documentation lists */
  | { kind: 'unknown-status' }
  /** the final callback/webhook is delivered twice */
  | { kind: 'duplicate-callbacks' }
  /** callbacks arrive out of order: the final one first, then a stale in-progress one */
  | { kind: 'out-of-order-callbacks' }
  /** callbacks carry a wrong signature */
  | { kind: 'bad-signature' };

export type FakeFailureKind = FakeFailure['kind'];

export const fakeFailureKinds: readonly FakeFailureKind[] = [
  'delay',
  'http-error',
  'rate-limit',
  'timeout',
  'accept-then-timeout',
  'invalid-input',
  'auth',
  'policy-after-accept',
  'fail',
  'expired',
  'never-finish',
  'unknown-status',
  'duplicate-callbacks',
  'out-of-order-callbacks',
  'bad-signature',
];

/** Parse `[fake:kind]`, `[fake:delay=1500]`, `[fake:http-error=502]`, `[fake:rate-limit=3]` from a prompt. */
export function failureFromPrompt(prompt: unknown): FakeFailure | undefined {
  if (typeof prompt !== 'string') return undefined;
  const m = /\[fake:([a-z-]+)(?:=(\d+))?\]/.exec(prompt);
  if (!m) return undefined;
  const kind = m[1] as FakeFailureKind;
  const n = m[2] === undefined ? undefined : Number(m[2]);
  switch (kind) {
    case 'delay':
      return { kind, ms: n ?? 1000 };
    case 'http-error':
      return { kind, status: n === 500 || n === 502 || n === 504 ? n : 503 };
    case 'rate-limit':
      return { kind, retryAfterSeconds: n };
    default:
      return fakeFailureKinds.includes(kind) ? { kind } : undefined;
  }
}

/** A queue of injected failures, consumed one per submit. */
export class FailureQueue {
  private readonly queue: FakeFailure[] = [];

  push(failure: FakeFailure, times = 1): void {
    for (let i = 0; i < times; i++) this.queue.push(failure);
  }

  clear(): void {
    this.queue.length = 0;
  }

  /** The failure for this submit: the prompt marker wins, else the next queued one. */
  take(prompt: unknown): FakeFailure | undefined {
    return failureFromPrompt(prompt) ?? this.queue.shift();
  }
}
