import type { Clock } from '../../adapters/clock';
import type { BotChallenge, ChallengeFailure } from '../../adapters/challenge';
import { AppError } from '../../errors';
import type { RateLimiter } from '../../lib/rate-limit';
import { botChallengeSolution, type BotChallengePurpose, type BotChallengeResponse } from '../../../shared/api/bot-challenge';

/** Failed sign-ins (and refused challenge solutions) are counted per address over this window. */
export const FAILURE_WINDOW_SECONDS = 3600;
const failureKey = (ip: string) => `bot-failures:${ip}`;

export interface BotChallengeService {
  readonly kind: BotChallenge['kind'];
  /** GET /api/bot-challenge: whether `purpose` needs a solution from this address now, and the challenge. */
  forPage(purpose: BotChallengePurpose, ip: string): Promise<BotChallengeResponse>;
  /**
   * Before Better Auth runs: throws 4xx `bot_challenge_required` when a needed solution is missing,
   * `bot_challenge_failed` when it is wrong (each refusal counts as a failure of the address), 503
   * `bot_challenge_unavailable` when Turnstile cannot be asked.
   */
  check(purpose: BotChallengePurpose, ip: string, header: unknown): Promise<void>;
  /** A failed email sign-in from `ip`: after BOT_CHALLENGE_AFTER_FAILURES of them, sign-in is challenged. */
  recordFailure(ip: string): Promise<void>;
}

export interface BotChallengeServiceDeps {
  challenge: BotChallenge;
  /** the shared rate-limit store counts failures, so every web process sees the same number */
  rateLimiter: RateLimiter;
  clock: Pick<Clock, 'now'>;
  /** read on each request (a live setting) */
  settings: { BOT_CHALLENGE_AFTER_FAILURES: number };
}

const refusals: Record<ChallengeFailure, string> = {
  malformed: 'The bot check answer is not valid. Reload the page and try again.',
  invalid: 'The bot check failed. Reload the page and try again.',
  expired: 'The bot check expired. Reload the page and try again.',
  replayed: 'This bot check was already used. Reload the page and try again.',
  unavailable: 'The bot check could not be verified right now. Try again in a minute.',
};

/**
 * When a bot challenge is asked (issue 19): always on sign-up and password-reset requests; on email
 * sign-in only once the address has BOT_CHALLENGE_AFTER_FAILURES failures in the last hour. The
 * difficulty (ALTCHA's cost) doubles with each failure past that threshold, capped by the adapter
 * (4 times: ~1.4 s on this machine's Chromium, a few seconds on a phone). Google sign-in is never challenged.
 */
export function createBotChallengeService(deps: BotChallengeServiceDeps): BotChallengeService {
  const { challenge, rateLimiter, clock, settings } = deps;

  const failures = (ip: string) => (challenge.kind === 'off' ? Promise.resolve(0) : rateLimiter.peek(failureKey(ip)));

  async function needed(purpose: BotChallengePurpose, ip: string): Promise<{ required: boolean; failures: number }> {
    if (challenge.kind === 'off') return { required: false, failures: 0 };
    const count = await failures(ip);
    const required = purpose !== 'signin' || count >= settings.BOT_CHALLENGE_AFTER_FAILURES;
    return { required, failures: count };
  }

  const difficultyFor = (count: number) => 2 ** Math.min(10, Math.max(0, count - settings.BOT_CHALLENGE_AFTER_FAILURES));

  async function recordFailure(ip: string): Promise<void> {
    if (challenge.kind === 'off') return;
    await rateLimiter.hit(failureKey(ip), Number.MAX_SAFE_INTEGER, FAILURE_WINDOW_SECONDS);
  }

  return {
    kind: challenge.kind,
    async forPage(purpose, ip) {
      const { required, failures: count } = await needed(purpose, ip);
      if (!required) return { required: false, kind: 'none' };
      const issued = await challenge.issue({ purpose, difficulty: difficultyFor(count), now: clock.now() });
      if (issued.kind === 'altcha') return { required: true, kind: 'altcha', challenge: issued.challenge };
      if (issued.kind === 'turnstile') return { required: true, kind: 'turnstile', siteKey: issued.siteKey };
      return { required: false, kind: 'none' };
    },
    async check(purpose, ip, header) {
      const { required } = await needed(purpose, ip);
      if (!required) return;
      if (header === undefined || header === '') {
        throw new AppError('bot_challenge_required', 'A bot check is needed first: reload the page and try again.', 400);
      }
      const parsed = botChallengeSolution.safeParse(header);
      if (!parsed.success) {
        await recordFailure(ip);
        throw new AppError('bot_challenge_failed', refusals.malformed, 400);
      }
      const verdict = await challenge.verify(parsed.data, { purpose, ip, now: clock.now() });
      if (verdict.ok) return;
      if (verdict.reason === 'unavailable') throw new AppError('bot_challenge_unavailable', refusals.unavailable, 503);
      await recordFailure(ip);
      throw new AppError('bot_challenge_failed', refusals[verdict.reason], 400);
    },
    recordFailure,
  };
}
