import type { Database, DbHandle } from '../../db/client';
import type { JobHandler } from '../../jobs/define';
import { deleteExpiredBuckets } from '../../lib/rate-limit.repo';
import { deleteExpiredSessions, deleteExpiredVerifications } from '../auth/auth.repo';
import { expireIdempotencyKeys } from '../generations/generations.repo';

export interface CleanupResult {
  sessions: number;
  verifications: number;
  rateLimitBuckets: number;
  idempotencyKeys: number;
}

/**
 * Deletes what has expired: sessions, one-time tokens (verification, reset, OAuth state), rate-limit
 * windows; and forgets generation Idempotency-Keys after 24 hours.
 */
export async function cleanupExpired(database: DbHandle): Promise<CleanupResult> {
  const sessions = await deleteExpiredSessions(database);
  const verifications = await deleteExpiredVerifications(database);
  const buckets = await deleteExpiredBuckets(database, new Date());
  const keys = await expireIdempotencyKeys(database);
  return { sessions, verifications, rateLimitBuckets: buckets, idempotencyKeys: keys };
}

export function createCleanupHandler(database: Database, log: (result: CleanupResult) => void): JobHandler<Record<string, never>> {
  return async () => log(await cleanupExpired(database));
}
