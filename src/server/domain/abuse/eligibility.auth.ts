import { APIError } from 'better-auth/api';
import type { Logger } from 'pino';
import type { Clock } from '../../adapters/clock';
import type { Config } from '../../config';
import type { Database } from '../../db/client';
import { createEligibility } from './eligibility';
import { createEmailRules, DISPOSABLE_EMAIL_MESSAGE } from './email.service';
import { createMultiAccount, MultiAccountBlocked } from './multi-account';
import { signalKey } from './signal-hash';
import { factsFromHeaders, requestSignals } from './signals';

/**
 * What Better Auth's hooks call (domain/auth/auth.ts) for issue 19: at sign-up the disposable-mail
 * rule and the multi-account gate (before the account exists), then its signals, its pending
 * free-credit decision and the multi-account review; at verification the decision; at each sign-in
 * the signals. Errors before the account exists are Better Auth's APIError (our HTTP layer turns
 * them into our error shape).
 */
export function createAccountAbuse({
  config,
  database,
  clock,
  logger,
  ipHeader,
}: {
  config: Config;
  database: Database;
  clock: Pick<Clock, 'now'>;
  logger: Logger;
  /** the header our HTTP layer puts the client address in */
  ipHeader: string;
}) {
  const key = signalKey(config.SESSION_SECRET);
  const email = createEmailRules({ database, clock });
  const eligibility = createEligibility({ config, database, clock, key });
  const multiAccount = createMultiAccount({ config, database, clock });
  const signalsOf = (headers: Headers | null | undefined, address?: string) => requestSignals(key, factsFromHeaders(headers, ipHeader, address));

  return {
    eligibility,
    async beforeSignUp(address: string, headers: Headers | null | undefined): Promise<void> {
      if (await email.isDisposable(address)) throw new APIError('BAD_REQUEST', { code: 'DISPOSABLE_EMAIL', message: DISPOSABLE_EMAIL_MESSAGE });
      try {
        await multiAccount.gate(signalsOf(headers, address));
      } catch (err) {
        if (!(err instanceof MultiAccountBlocked)) throw err;
        logger.warn({ reason: err.decision.reason, matchedUserId: err.decision.matchedUserId }, 'sign-up refused: it matches a restricted account');
        // (400, not 403: Better Auth answers a 403 from this hook as if the address were taken)
        throw new APIError('BAD_REQUEST', { code: 'SIGNUP_BLOCKED', message: err.message });
      }
    },

    async afterSignUp(user: { id: string; email: string; emailVerified: boolean }, headers: Headers | null | undefined): Promise<void> {
      const signals = signalsOf(headers, user.email);
      await eligibility.open(user.id, user.email);
      await eligibility.record(user.id, signals, 'signup');
      const flagged = await multiAccount.review(user.id, signals);
      if (flagged)
        logger.warn(
          { userId: user.id, matchedUserId: flagged.matchedUserId, confidence: flagged.confidence },
          'sign-up matches a restricted account: case opened',
        );
      if (user.emailVerified) await eligibility.decide(user.id);
    },

    /** The address is verified (`headers`: the verification link's request, whose signals count too). */
    async afterVerified(userId: string, headers: Headers | null | undefined): Promise<void> {
      if (headers) await eligibility.record(userId, signalsOf(headers), 'verification');
      await eligibility.decide(userId);
    },

    async afterSignIn(userId: string, headers: Headers | null | undefined): Promise<void> {
      if (headers) await eligibility.record(userId, signalsOf(headers), 'signin');
    },
  };
}
export type AccountAbuse = ReturnType<typeof createAccountAbuse>;
