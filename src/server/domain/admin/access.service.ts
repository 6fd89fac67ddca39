import { REAUTH_MINUTES } from '../../../shared/api/admin';
import type { Clock } from '../../adapters/clock';
import type { Database } from '../../db/client';
import { AppError } from '../../errors';
import type { RateLimiter } from '../../lib/rate-limit';
import { verifyPassword } from '../users/password';
import { findPasswordHash } from '../users/users.repo';
import { markReauthenticated, reauthenticatedAt } from './access.repo';

/**
 * Re-authentication for the console's sensitive actions (refunds, role changes, settings,
 * deletions): a sign-in, or the password entered again, within the last REAUTH_MINUTES.
 */
export interface ConsoleAccessService {
  /** Checks the password and marks the session; returns until when it counts. */
  reauthenticate(userId: string, sessionId: string, password: string): Promise<Date>;
  /** Throws 403 `reauth_required` unless the session signed in or re-entered the password within REAUTH_MINUTES. */
  requireRecent(session: { sessionId: string; createdAt: Date }): Promise<void>;
}

const ATTEMPTS = 5;
const WINDOW_SECONDS = 15 * 60;

export function createConsoleAccessService({
  database,
  clock,
  rateLimiter,
}: {
  database: Database;
  clock: Pick<Clock, 'now'>;
  rateLimiter: RateLimiter;
}): ConsoleAccessService {
  const windowMs = REAUTH_MINUTES * 60_000;
  return {
    async reauthenticate(userId, sessionId, password) {
      const hash = await findPasswordHash(database, userId);
      if (!hash) {
        throw new AppError(
          'reauth_required',
          `This account has no password: sign out and sign in again with Google, then repeat the action within ${REAUTH_MINUTES} minutes.`,
          403,
        );
      }
      const limit = await rateLimiter.hit(`console-reauth:user:${userId}`, ATTEMPTS, WINDOW_SECONDS);
      if (!limit.allowed) {
        const minutes = Math.ceil(limit.retryAfterSeconds / 60);
        throw new AppError('rate_limited', `Too many attempts. Please wait ${minutes} minute${minutes === 1 ? '' : 's'} and try again.`, 429);
      }
      if (!(await verifyPassword(password, hash))) throw new AppError('invalid_password', 'The password is not correct.', 400);
      const now = clock.now();
      await markReauthenticated(database, sessionId, now);
      return new Date(now.getTime() + windowMs);
    },
    async requireRecent(session) {
      const now = clock.now().getTime();
      if (now - session.createdAt.getTime() <= windowMs) return;
      const at = await reauthenticatedAt(database, session.sessionId);
      if (at && now - at.getTime() <= windowMs) return;
      throw new AppError('reauth_required', `Confirm it is you: enter your password again (it counts for ${REAUTH_MINUTES} minutes).`, 403);
    },
  };
}
