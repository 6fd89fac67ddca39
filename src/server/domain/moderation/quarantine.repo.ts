import { and, eq, inArray, like } from 'drizzle-orm';
import type { DbHandle } from '../../db/client';
import { moderationEvidence } from '../../db/schema';
import type { HoldSubject } from '../../db/schema';

/** SQL for the quarantine area: which evidence files a case has in it, and whether a legal hold covers them. */

export const QUARANTINE_PREFIX = 'quarantine/';

export type QuarantinedEvidence = typeof moderationEvidence.$inferSelect & { storageKey: string };

/** The case's evidence files still in the quarantine area. */
export async function quarantinedEvidence(db: DbHandle, caseId: string): Promise<QuarantinedEvidence[]> {
  const rows = await db.db
    .select()
    .from(moderationEvidence)
    .where(and(eq(moderationEvidence.caseId, caseId), like(moderationEvidence.storageKey, `${QUARANTINE_PREFIX}%`)));
  return rows.filter((r): r is QuarantinedEvidence => r.storageKey !== null);
}

/** Where evidence files are now: back at the creation's keys (released), or nowhere (deleted: null). */
export async function moveEvidence(db: DbHandle, moves: readonly { id: string; storageKey: string | null }[]): Promise<void> {
  for (const m of moves) await db.db.update(moderationEvidence).set({ storageKey: m.storageKey }).where(eq(moderationEvidence.id, m.id));
}

/** Of these quarantine keys, the ones a moderation_evidence row names (the media purge keeps them). */
export async function evidenceKeysAmong(db: DbHandle, keys: readonly string[]): Promise<Set<string>> {
  if (!keys.length) return new Set();
  const rows = await db.db
    .select({ key: moderationEvidence.storageKey })
    .from(moderationEvidence)
    .where(inArray(moderationEvidence.storageKey, [...keys]));
  return new Set(rows.flatMap((r) => (r.key ? [r.key] : [])));
}

/** Whether an active legal hold (not released, not expired at `now`) covers any of these subjects. */
export async function anyActiveHold(db: DbHandle, subjects: readonly { kind: HoldSubject; id: string }[], now: Date): Promise<boolean> {
  if (!subjects.length) return false;
  const clauses = subjects.map((_, i) => `(subject_kind = $${i * 2 + 2} and subject_id = $${i * 2 + 3})`).join(' or ');
  const rows = await db.sql.query<{ n: string }>(
    `select count(*) as n from legal_holds where released_at is null and (expires_at is null or expires_at > $1::timestamptz) and (${clauses})`,
    [now.toISOString(), ...subjects.flatMap((s) => [s.kind, s.id])],
  );
  return Number(rows[0]?.n ?? 0) > 0;
}
