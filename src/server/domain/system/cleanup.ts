import type { Database } from '../../db/client';
import type { JobHandler } from '../../jobs/define';
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
export async function cleanupExpired(database: Pick<Database, 'sql'>): Promise<CleanupResult> {
  const sessions = await database.sql.query('delete from sessions where expires_at < now() returning 1');
  const verifications = await database.sql.query('delete from verifications where expires_at < now() returning 1');
  const buckets = await database.sql.query(`delete from rate_limit_buckets where reset_at < now() - interval '1 hour' returning 1`);
  const keys = await expireIdempotencyKeys(database);
  return { sessions: sessions.length, verifications: verifications.length, rateLimitBuckets: buckets.length, idempotencyKeys: keys };
}

export function createCleanupHandler(database: Database, log: (result: CleanupResult) => void): JobHandler<Record<string, never>> {
  return async () => log(await cleanupExpired(database));
}
