import { lt } from 'drizzle-orm';
import type { DbHandle } from '../../db/client';
import { botChallengeUses } from '../../db/schema';

/**
 * Records that a bot challenge (an ALTCHA challenge id, or the hash of a Turnstile token) has been
 * redeemed. True the first time; false when it was already redeemed (a replay). One insert: two
 * requests racing with the same solution get one true between them.
 */
export async function claimChallengeUse(db: DbHandle, id: string, expiresAt: Date): Promise<boolean> {
  const rows = await db.db.insert(botChallengeUses).values({ id, expiresAt }).onConflictDoNothing().returning({ id: botChallengeUses.id });
  return rows.length === 1;
}

/** Redeemed challenges whose expiry has passed at `now` (the maintenance.cleanup job); returns how many. */
export async function deleteExpiredChallengeUses(db: DbHandle, now: Date): Promise<number> {
  const rows = await db.db.delete(botChallengeUses).where(lt(botChallengeUses.expiresAt, now)).returning({ id: botChallengeUses.id });
  return rows.length;
}
