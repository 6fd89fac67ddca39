import { randomUUID } from 'node:crypto';
import { and, asc, desc, eq, inArray, isNotNull, isNull, or, sql, type SQL } from 'drizzle-orm';
import type { DbHandle } from '../../db/client';
import {
  generations,
  legalHolds,
  moderationCases,
  moderationEvents,
  moderationEvidence,
  ncmecReports,
  users,
  type CaseOutcome,
  type CaseStatus,
  type CaseSubject,
} from '../../db/schema';

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

// ---------------------------------------------------------------------------------------------
// decisions, the queue, the user's view (moderation.service.ts)

const isCaseId = (id: string) => /^[0-9a-f-]{36}$/i.test(id);

/** The case, locked until the transaction ends (decisions and appeals serialize on it). */
export async function lockCase(tx: DbHandle, id: string): Promise<CaseRow | null> {
  if (!isCaseId(id)) return null;
  const [row] = await tx.db.select().from(moderationCases).where(eq(moderationCases.id, id)).for('update');
  return row ?? null;
}

/** Closes a case with the outcome of a decision. */
export async function closeCase(tx: DbHandle, id: string, outcome: CaseOutcome, appealAnswered: boolean, now: Date): Promise<void> {
  await tx.db.update(moderationCases).set({ status: 'closed', outcome, appealAnswered, closedAt: now, updatedAt: now }).where(eq(moderationCases.id, id));
}

/** The user's one appeal: the case goes back to the queue (its last outcome stays until the next decision). */
export async function reopenForAppeal(tx: DbHandle, id: string, text: string, now: Date): Promise<void> {
  await tx.db
    .update(moderationCases)
    .set({ status: 'open', appealedAt: now, appealText: text, appealAnswered: false, closedAt: null, updatedAt: now })
    .where(eq(moderationCases.id, id));
}

export type QueueRow = CaseRow & { userEmail: string | null };

/** where the queue continues: after this case, in the order of its status */
export type QueueCursor = { status: 'open'; severity: number; openedAt: string; id: string } | { status: 'closed'; closedAt: string; id: string };

/**
 * One page of the queue. Open cases: most severe first, then oldest (an appealed case keeps its
 * age). Closed cases: most recently closed first.
 */
export async function listQueue(db: DbHandle, opts: { status: CaseStatus; limit: number; after?: QueueCursor | undefined }): Promise<QueueRow[]> {
  const c = moderationCases;
  const where: SQL[] = [eq(c.status, opts.status)];
  const after = opts.after;
  if (after?.status === 'open' && opts.status === 'open') {
    // severity is a `real`: compare with a `real`, or 0.9 (float8) never equals 0.9 (float4)
    where.push(
      sql`(${c.severity} < ${after.severity}::real or (${c.severity} = ${after.severity}::real and (${c.openedAt} > ${after.openedAt}::timestamptz or (${c.openedAt} = ${after.openedAt}::timestamptz and ${c.id} > ${after.id}))))`,
    );
  } else if (after?.status === 'closed' && opts.status === 'closed') {
    where.push(sql`(${c.closedAt} < ${after.closedAt}::timestamptz or (${c.closedAt} = ${after.closedAt}::timestamptz and ${c.id} < ${after.id}))`);
  }
  const order = opts.status === 'open' ? [desc(c.severity), asc(c.openedAt), asc(c.id)] : [desc(c.closedAt), desc(c.id)];
  const rows = await db.db
    .select({ c: moderationCases, userEmail: users.email })
    .from(moderationCases)
    .leftJoin(users, eq(users.id, c.userId))
    .where(and(...where))
    .orderBy(...order)
    .limit(opts.limit);
  return rows.map((r) => ({ ...r.c, userEmail: r.userEmail }));
}

export async function getQueueRow(db: DbHandle, id: string): Promise<QueueRow | null> {
  if (!isCaseId(id)) return null;
  const [row] = await db.db
    .select({ c: moderationCases, userEmail: users.email })
    .from(moderationCases)
    .leftJoin(users, eq(users.id, moderationCases.userId))
    .where(eq(moderationCases.id, id));
  return row ? { ...row.c, userEmail: row.userEmail } : null;
}

export async function evidenceOfCases(db: DbHandle, caseIds: readonly string[]): Promise<EvidenceRow[]> {
  if (!caseIds.length) return [];
  return db.db
    .select()
    .from(moderationEvidence)
    .where(inArray(moderationEvidence.caseId, [...caseIds]))
    .orderBy(moderationEvidence.createdAt, sql`${moderationEvidence.id}`);
}

export async function getEvidence(db: DbHandle, caseId: string, evidenceId: string): Promise<EvidenceRow | null> {
  if (!isCaseId(caseId) || !isCaseId(evidenceId)) return null;
  const [row] = await db.db
    .select()
    .from(moderationEvidence)
    .where(and(eq(moderationEvidence.caseId, caseId), eq(moderationEvidence.id, evidenceId)));
  return row ?? null;
}

/** The case's audit trail, oldest first, with the acting person's email. */
export async function caseEventsWithActors(db: DbHandle, caseId: string): Promise<Array<EventRow & { actorEmail: string | null }>> {
  const rows = await db.db
    .select({ e: moderationEvents, actorEmail: users.email })
    .from(moderationEvents)
    .leftJoin(users, eq(users.id, moderationEvents.actorId))
    .where(eq(moderationEvents.caseId, caseId))
    .orderBy(moderationEvents.id);
  return rows.map((r) => ({ ...r.e, actorEmail: r.actorEmail }));
}

/** moderators' decisions (not the automatic suspension at the strike threshold) */
const moderatorDecision = and(eq(moderationEvents.kind, 'decision'), sql`${moderationEvents.action} <> 'auto_suspend'`);

/** The reason of the last decision taken on each case (what the user is told). */
export async function lastDecisionNotes(db: DbHandle, caseIds: readonly string[]): Promise<Map<string, string | null>> {
  if (!caseIds.length) return new Map();
  const rows = await db.db
    .selectDistinctOn([moderationEvents.caseId], { caseId: moderationEvents.caseId, note: moderationEvents.note })
    .from(moderationEvents)
    .where(and(inArray(moderationEvents.caseId, [...caseIds]), moderatorDecision))
    .orderBy(moderationEvents.caseId, desc(moderationEvents.id));
  return new Map(rows.map((r) => [r.caseId, r.note]));
}

/**
 * The cases a user is shown (GET /api/me/cases): a removal or suspension of their material or
 * account, an output of theirs held for review, and anything they appealed. Not: reports about
 * them, flagged prompts that went ahead, CyberTipline reports.
 */
const shownToUser = (userId: string) =>
  and(
    eq(moderationCases.userId, userId),
    or(isNull(moderationCases.outcome), sql`${moderationCases.outcome} <> 'csam_reported'`),
    or(
      inArray(moderationCases.outcome, ['removed', 'removed_strike', 'suspended']),
      isNotNull(moderationCases.appealedAt),
      and(
        eq(moderationCases.status, 'open'),
        eq(moderationCases.subject, 'output'),
        isNull(moderationCases.outcome),
        sql`exists (select 1 from ${generations} where ${generations.id} = ${moderationCases.generationId} and ${generations.status} = 'under_review')`,
      ),
    ),
  );

export async function listUserCases(db: DbHandle, userId: string, limit: number): Promise<CaseRow[]> {
  return db.db.select().from(moderationCases).where(shownToUser(userId)).orderBy(desc(moderationCases.openedAt), desc(moderationCases.id)).limit(limit);
}

/** The user's case if they are shown it, locked for the appeal; null for anyone else's. */
export async function lockUserCase(tx: DbHandle, userId: string, id: string): Promise<CaseRow | null> {
  if (!isCaseId(id)) return null;
  const [row] = await tx.db
    .select()
    .from(moderationCases)
    .where(and(eq(moderationCases.id, id), shownToUser(userId)))
    .for('update');
  return row ?? null;
}

/** When the user's current suspension began, as far as moderation knows (a suspend or auto_suspend decision). */
export async function suspensionStartedAt(db: DbHandle, userId: string): Promise<Date | null> {
  const [row] = await db.db
    .select({ at: sql<string | null>`max(${moderationEvents.createdAt})` })
    .from(moderationEvents)
    .innerJoin(moderationCases, eq(moderationCases.id, moderationEvents.caseId))
    .where(and(eq(moderationCases.userId, userId), eq(moderationEvents.kind, 'decision'), inArray(moderationEvents.action, ['suspend', 'auto_suspend'])));
  return row?.at ? new Date(row.at) : null;
}

/** The user's account cases (suspension appeals), newest first. */
export async function accountCases(tx: DbHandle, userId: string): Promise<CaseRow[]> {
  return tx.db
    .select()
    .from(moderationCases)
    .where(and(eq(moderationCases.userId, userId), eq(moderationCases.subject, 'account')))
    .orderBy(desc(moderationCases.openedAt), desc(moderationCases.id));
}

/** The generation a case is about: its owner and status (a quarantined output is `under_review`). */
export async function generationState(db: DbHandle, id: string): Promise<{ userId: string; status: string } | null> {
  const [row] = await db.db.select({ userId: generations.userId, status: generations.status }).from(generations).where(eq(generations.id, id));
  return row ?? null;
}

export type HoldSummary = { id: string; reason: string; placedAt: Date; expiresAt: Date | null };

/** Legal holds in force on the case or on what it is about (its user, generation, media item). */
export async function activeHoldsFor(db: DbHandle, c: Pick<CaseRow, 'id' | 'userId' | 'generationId' | 'mediaId'>, now: Date): Promise<HoldSummary[]> {
  const h = legalHolds;
  const covers = [eq(h.caseId, c.id), and(eq(h.subjectKind, 'case'), eq(h.subjectId, c.id))];
  if (c.userId) covers.push(and(eq(h.subjectKind, 'user'), eq(h.subjectId, c.userId)));
  if (c.generationId) covers.push(and(eq(h.subjectKind, 'generation'), eq(h.subjectId, c.generationId)));
  if (c.mediaId) covers.push(and(eq(h.subjectKind, 'media'), eq(h.subjectId, c.mediaId)));
  return db.db
    .select({ id: h.id, reason: h.reason, placedAt: h.placedAt, expiresAt: h.expiresAt })
    .from(h)
    .where(and(isNull(h.releasedAt), or(isNull(h.expiresAt), sql`${h.expiresAt} > ${now.toISOString()}::timestamptz`), or(...covers)))
    .orderBy(h.placedAt);
}

export async function ncmecReportOf(db: DbHandle, caseId: string): Promise<{ status: string; reportId: string | null; lastError: string | null } | null> {
  const [row] = await db.db
    .select({ status: ncmecReports.status, reportId: ncmecReports.reportId, lastError: ncmecReports.lastError })
    .from(ncmecReports)
    .where(eq(ncmecReports.caseId, caseId));
  return row ?? null;
}
