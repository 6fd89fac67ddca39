import { randomUUID } from 'node:crypto';
import { and, eq, sql } from 'drizzle-orm';
import type { DbHandle } from '../../db/client';
import { moderationCases, moderationEvents, moderationEvidence, type CaseSubject } from '../../db/schema';

/**
 * SQL for moderation cases, their events (the audit trail) and their evidence. Every function
 * takes the handle it runs on, so a case can be opened in the same transaction as the state
 * change that caused it.
 */

export type CaseRow = typeof moderationCases.$inferSelect;
export type EventRow = typeof moderationEvents.$inferSelect;
export type EvidenceRow = typeof moderationEvidence.$inferSelect;
export type NewEvent = Omit<typeof moderationEvents.$inferInsert, 'id' | 'caseId' | 'createdAt'>;
export type NewEvidence = Omit<typeof moderationEvidence.$inferInsert, 'id' | 'caseId' | 'createdAt'>;

const actionRank = { allow: 0, flag: 1, block: 2 } as const;
export type CaseAction = keyof typeof actionRank;

export interface CaseKey {
  userId: string | null;
  subject: CaseSubject;
  /** a case about a generation (its prompt, its output, a report on it) is extended, not duplicated */
  generationId?: string | null;
  mediaId?: string | null;
}

export interface CaseSignal {
  /** 0-1 */
  severity: number;
  topCategory: string | null;
  action: CaseAction;
}

/**
 * The open case about this generation or media item, extended with `signal` (severity and action
 * only ever rise), or a new one. Locks the case row for the rest of the transaction.
 */
export async function openOrExtendCase(db: DbHandle, key: CaseKey, signal: CaseSignal, now: Date): Promise<CaseRow> {
  const about = key.generationId ? eq(moderationCases.generationId, key.generationId) : key.mediaId ? eq(moderationCases.mediaId, key.mediaId) : null;
  if (about) {
    const [existing] = await db.db
      .select()
      .from(moderationCases)
      .where(and(about, eq(moderationCases.status, 'open')))
      .orderBy(moderationCases.openedAt)
      .limit(1)
      .for('update');
    if (existing) {
      const raise = signal.severity > existing.severity;
      const [row] = await db.db
        .update(moderationCases)
        .set({
          severity: raise ? signal.severity : existing.severity,
          topCategory: raise ? signal.topCategory : existing.topCategory,
          action: actionRank[signal.action] > actionRank[existing.action as CaseAction] ? signal.action : existing.action,
          updatedAt: now,
        })
        .where(eq(moderationCases.id, existing.id))
        .returning();
      if (!row) throw new Error('the case update returned no row');
      return row;
    }
  }
  const [row] = await db.db
    .insert(moderationCases)
    .values({
      id: randomUUID(),
      userId: key.userId,
      subject: key.subject,
      generationId: key.generationId ?? null,
      mediaId: key.mediaId ?? null,
      severity: signal.severity,
      topCategory: signal.topCategory,
      action: signal.action,
      openedAt: now,
      updatedAt: now,
    })
    .returning();
  if (!row) throw new Error('the case insert returned no row');
  return row;
}

export async function addEvent(db: DbHandle, caseId: string, event: NewEvent, now: Date): Promise<EventRow> {
  const [row] = await db.db
    .insert(moderationEvents)
    .values({ ...event, caseId, createdAt: now })
    .returning();
  if (!row) throw new Error('the event insert returned no row');
  return row;
}

export async function addEvidence(db: DbHandle, caseId: string, evidence: NewEvidence, now: Date): Promise<EvidenceRow> {
  const [row] = await db.db
    .insert(moderationEvidence)
    .values({ ...evidence, id: randomUUID(), caseId, createdAt: now })
    .returning();
  if (!row) throw new Error('the evidence insert returned no row');
  return row;
}

export async function getCase(db: DbHandle, id: string): Promise<CaseRow | null> {
  if (!/^[0-9a-f-]{36}$/i.test(id)) return null;
  const [row] = await db.db.select().from(moderationCases).where(eq(moderationCases.id, id));
  return row ?? null;
}

export async function caseEvents(db: DbHandle, caseId: string): Promise<EventRow[]> {
  return db.db.select().from(moderationEvents).where(eq(moderationEvents.caseId, caseId)).orderBy(moderationEvents.id);
}

export async function caseEvidence(db: DbHandle, caseId: string): Promise<EvidenceRow[]> {
  return db.db
    .select()
    .from(moderationEvidence)
    .where(eq(moderationEvidence.caseId, caseId))
    .orderBy(moderationEvidence.createdAt, sql`${moderationEvidence.id}`);
}
