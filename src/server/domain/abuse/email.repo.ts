import { asc, eq, inArray } from 'drizzle-orm';
import type { DbHandle } from '../../db/client';
import { blockedEmailDomains } from '../../db/schema';

/** SQL of the operator's additions to the disposable-mail list (blocked_email_domains). */

export type BlockedDomainRow = typeof blockedEmailDomains.$inferSelect;

export async function listBlockedDomains(db: DbHandle): Promise<BlockedDomainRow[]> {
  return db.db.select().from(blockedEmailDomains).orderBy(asc(blockedEmailDomains.domain));
}

/** The first of these domains the operator blocked, or null. */
export async function firstBlocked(db: DbHandle, domains: readonly string[]): Promise<string | null> {
  if (!domains.length) return null;
  const [row] = await db.db
    .select({ domain: blockedEmailDomains.domain })
    .from(blockedEmailDomains)
    .where(inArray(blockedEmailDomains.domain, [...domains]))
    .limit(1);
  return row?.domain ?? null;
}

/** Adds a domain; null when it is on the list already. */
export async function insertBlockedDomain(
  db: DbHandle,
  row: { domain: string; note: string | null; addedBy: string | null; addedAt: Date },
): Promise<BlockedDomainRow | null> {
  const [inserted] = await db.db.insert(blockedEmailDomains).values(row).onConflictDoNothing().returning();
  return inserted ?? null;
}

/** Removes a domain; the removed row, or null when it was not on the list. */
export async function deleteBlockedDomain(db: DbHandle, domain: string): Promise<BlockedDomainRow | null> {
  const [row] = await db.db.delete(blockedEmailDomains).where(eq(blockedEmailDomains.domain, domain)).returning();
  return row ?? null;
}
