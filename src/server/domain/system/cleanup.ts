import type { Clock } from '../../adapters/clock';
import type { Database, DbHandle } from '../../db/client';
import type { JobHandler } from '../../jobs/define';
import { deleteExpiredBuckets } from '../../lib/rate-limit.repo';
import { deleteExpiredChallengeUses } from '../abuse/challenge.repo';
import { deleteExpiredSessions, deleteExpiredVerifications } from '../auth/auth.repo';
import { expireIdempotencyKeys } from '../generations/generations.repo';

export interface CleanupResult {
  sessions: number;
  verifications: number;
  rateLimitBuckets: number;
  idempotencyKeys: number;
  /** redeemed bot challenges past their expiry (a replay is refused by the expiry itself from then on) */
  challengeUses: number;
}

/**
 * Deletes what has expired at `now`: rate-limit windows; and forgets generation Idempotency-Keys
 * after 24 hours. Sessions and one-time tokens (verification, reset, OAuth state) are Better Auth's:
 * it writes their expiry with its own time, so they are deleted by the database's time (ADR 14).
 */
export async function cleanupExpired(database: DbHandle, now: Date): Promise<CleanupResult> {
  const sessions = await deleteExpiredSessions(database);
  const verifications = await deleteExpiredVerifications(database);
  const buckets = await deleteExpiredBuckets(database, now);
  const keys = await expireIdempotencyKeys(database, now);
  const challengeUses = await deleteExpiredChallengeUses(database, now);
  return { sessions, verifications, rateLimitBuckets: buckets, idempotencyKeys: keys, challengeUses };
}

export function createCleanupHandler(database: Database, clock: Pick<Clock, 'now'>, log: (result: CleanupResult) => void): JobHandler<Record<string, never>> {
  return async () => log(await cleanupExpired(database, clock.now()));
}
