import { randomUUID } from 'node:crypto';
import { and, eq, sql } from 'drizzle-orm';
import type { DbHandle } from '../../db/client';
import { moderationCases, moderationEvents, moderationStrikes } from '../../db/schema';

/**
 * Strikes: at most one per case (a `remove_strike` decision). The strikes a user collected since
 * their account was last reinstated (an `allow` that lifted a suspension, recorded as a decision
 * event with `details.reinstated`) count towards MODERATION_STRIKES_TO_SUSPEND.
 */

/** Adds the case's strike; false when the case already has one. */
export async function addStrike(tx: DbHandle, strike: { userId: string; caseId: string; createdBy: string | null }, now: Date): Promise<boolean> {
  const rows = await tx.db
    .insert(moderationStrikes)
    .values({ id: randomUUID(), ...strike, createdAt: now })
    .onConflictDoNothing({ target: moderationStrikes.caseId })
    .returning({ id: moderationStrikes.id });
  return rows.length > 0;
}

/** Takes back the case's strike (an appeal was upheld). */
export async function removeStrike(tx: DbHandle, caseId: string): Promise<boolean> {
  const rows = await tx.db.delete(moderationStrikes).where(eq(moderationStrikes.caseId, caseId)).returning({ id: moderationStrikes.id });
  return rows.length > 0;
}

/** When the user's account was last reinstated by a moderator, or null. */
export async function lastReinstatedAt(db: DbHandle, userId: string): Promise<Date | null> {
  const [row] = await db.db
    .select({ at: sql<string | null>`max(${moderationEvents.createdAt})` })
    .from(moderationEvents)
    .innerJoin(moderationCases, eq(moderationCases.id, moderationEvents.caseId))
    .where(and(eq(moderationCases.userId, userId), eq(moderationEvents.kind, 'decision'), sql`(${moderationEvents.details} ->> 'reinstated') = 'true'`));
  return row?.at ? new Date(row.at) : null;
}

/** The strikes that count: those since the last reinstatement. */
export async function countActiveStrikes(db: DbHandle, userId: string): Promise<number> {
  const since = await lastReinstatedAt(db, userId);
  const [row] = await db.db
    .select({ n: sql<number>`count(*)::int` })
    .from(moderationStrikes)
    .where(and(eq(moderationStrikes.userId, userId), since ? sql`${moderationStrikes.createdAt} > ${since.toISOString()}::timestamptz` : undefined));
  return row?.n ?? 0;
}
