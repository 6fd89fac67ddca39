import { randomUUID } from 'node:crypto';
import { and, desc, eq, inArray, lt, or, sql } from 'drizzle-orm';
import type { DbHandle } from '../../db/client';
import { generations, media, moderationCases, ncmecReports, sessions, users, type NcmecReportStatus } from '../../db/schema';

/**
 * SQL for CyberTipline reports (`ncmec_reports`, one per case) and the facts an escalation gathers.
 *
 * A report is worked by one attempt at a time: `claimReport` moves it to `submitting` and bumps
 * `attempts`, which is the attempt's token. Every write of progress is guarded by that token, so an
 * attempt that lost its claim (a stale lease taken over after a crash) cannot write, and the
 * reporter adapter stops sending the moment a write fails.
 */

export type NcmecReportRow = typeof ncmecReports.$inferSelect;

export interface NewNcmecReport {
  caseId: string;
  environment: string;
  payload: Record<string, unknown>;
  createdBy: string | null;
}

/** Inserts the case's report; null when the case has one already (one report per case). */
export async function insertReport(db: DbHandle, report: NewNcmecReport, now: Date): Promise<NcmecReportRow | null> {
  const [row] = await db.db
    .insert(ncmecReports)
    .values({ id: randomUUID(), ...report, status: 'queued', createdAt: now, updatedAt: now })
    .onConflictDoNothing({ target: ncmecReports.caseId })
    .returning();
  return row ?? null;
}

export async function getReport(db: DbHandle, id: string): Promise<NcmecReportRow | null> {
  if (!/^[0-9a-f-]{36}$/i.test(id)) return null;
  const [row] = await db.db.select().from(ncmecReports).where(eq(ncmecReports.id, id));
  return row ?? null;
}

export async function getReportForCase(db: DbHandle, caseId: string): Promise<NcmecReportRow | null> {
  const [row] = await db.db.select().from(ncmecReports).where(eq(ncmecReports.caseId, caseId));
  return row ?? null;
}

export async function listReports(db: DbHandle, opts: { status?: NcmecReportStatus; limit: number }): Promise<NcmecReportRow[]> {
  return db.db
    .select()
    .from(ncmecReports)
    .where(opts.status ? eq(ncmecReports.status, opts.status) : undefined)
    .orderBy(desc(ncmecReports.createdAt), desc(ncmecReports.id))
    .limit(opts.limit);
}

/**
 * Takes the report for one attempt: queued or failed, or `submitting` with no progress written
 * since `staleBefore` (its attempt died). Returns the row with its new `attempts` (the token), or
 * null when another attempt holds it or it is done.
 */
export async function claimReport(db: DbHandle, id: string, now: Date, staleBefore: Date): Promise<NcmecReportRow | null> {
  const [row] = await db.db
    .update(ncmecReports)
    .set({ status: 'submitting', attempts: sql`${ncmecReports.attempts} + 1`, updatedAt: now })
    .where(
      and(
        eq(ncmecReports.id, id),
        or(inArray(ncmecReports.status, ['queued', 'failed']), and(eq(ncmecReports.status, 'submitting'), lt(ncmecReports.updatedAt, staleBefore))),
      ),
    )
    .returning();
  return row ?? null;
}

const held = (id: string, token: number) => and(eq(ncmecReports.id, id), eq(ncmecReports.status, 'submitting'), eq(ncmecReports.attempts, token));

/** Records the adapter's progress for the attempt holding `token`; false when it no longer holds the report. */
export async function saveProgress(
  db: DbHandle,
  id: string,
  token: number,
  progress: Record<string, unknown>,
  reportId: string | null,
  now: Date,
): Promise<boolean> {
  const rows = await db.db.update(ncmecReports).set({ progress, reportId, updatedAt: now }).where(held(id, token)).returning({ id: ncmecReports.id });
  return rows.length === 1;
}

/** The attempt holding `token` ends: submitted, back to queued (to retry), or failed. */
export async function endAttempt(
  db: DbHandle,
  id: string,
  token: number,
  end: { status: 'submitted' | 'queued' | 'failed'; lastError: string | null; progress?: Record<string, unknown> | null; reportId?: string | null },
  now: Date,
): Promise<NcmecReportRow | null> {
  const [row] = await db.db
    .update(ncmecReports)
    .set({
      status: end.status,
      lastError: end.lastError,
      updatedAt: now,
      ...(end.status === 'submitted' ? { finishedAt: now } : {}),
      ...(end.progress !== undefined ? { progress: end.progress } : {}),
      ...(end.reportId !== undefined ? { reportId: end.reportId } : {}),
    })
    .where(held(id, token))
    .returning();
  return row ?? null;
}

/** A report that cannot be sent now (no credentials): stays queued, with why. */
export async function noteUnsent(db: DbHandle, id: string, lastError: string, now: Date): Promise<NcmecReportRow | null> {
  const [row] = await db.db
    .update(ncmecReports)
    .set({ lastError, updatedAt: now })
    .where(and(eq(ncmecReports.id, id), inArray(ncmecReports.status, ['queued', 'failed'])))
    .returning();
  return row ?? null;
}

/** An operator's retry: a failed report is queued again (a queued one stays queued). */
export async function requeueReport(db: DbHandle, id: string, now: Date): Promise<NcmecReportRow | null> {
  const [row] = await db.db
    .update(ncmecReports)
    .set({ status: 'queued', updatedAt: now })
    .where(and(eq(ncmecReports.id, id), inArray(ncmecReports.status, ['queued', 'failed'])))
    .returning();
  return row ?? null;
}

// --- what an escalation gathers -------------------------------------------------------------------

/** The case, locked for the rest of the transaction. */
export async function lockCase(tx: DbHandle, caseId: string): Promise<typeof moderationCases.$inferSelect | null> {
  if (!/^[0-9a-f-]{36}$/i.test(caseId)) return null;
  const [row] = await tx.db.select().from(moderationCases).where(eq(moderationCases.id, caseId)).for('update');
  return row ?? null;
}

export async function reportedUser(
  db: DbHandle,
  userId: string,
): Promise<Pick<typeof users.$inferSelect, 'id' | 'email' | 'emailVerified' | 'name' | 'status' | 'createdAt'> | null> {
  const [row] = await db.db
    .select({ id: users.id, email: users.email, emailVerified: users.emailVerified, name: users.name, status: users.status, createdAt: users.createdAt })
    .from(users)
    .where(eq(users.id, userId));
  return row ?? null;
}

/** The addresses the user signed in from, with when (their sessions, before termination ends them). */
export async function signInAddresses(db: DbHandle, userId: string): Promise<{ ip: string; at: Date }[]> {
  const rows = await db.db
    .select({ ip: sessions.ipAddress, at: sessions.createdAt })
    .from(sessions)
    .where(and(eq(sessions.userId, userId), sql`${sessions.ipAddress} is not null`))
    .orderBy(sessions.createdAt)
    .limit(50);
  return rows.filter((r): r is { ip: string; at: Date } => !!r.ip);
}

export async function generationFacts(db: DbHandle, id: string) {
  const [row] = await db.db
    .select({
      id: generations.id,
      userId: generations.userId,
      status: generations.status,
      createdAt: generations.createdAt,
      outputUrl: generations.outputUrl,
      outputThumbnailUrl: generations.outputThumbnailUrl,
      outputPreviewUrl: generations.outputPreviewUrl,
    })
    .from(generations)
    .where(eq(generations.id, id));
  return row ?? null;
}

export async function mediaFacts(db: DbHandle, id: string) {
  const [row] = await db.db
    .select({
      id: media.id,
      userId: media.userId,
      name: media.name,
      contentType: media.contentType,
      storageKey: media.storageKey,
      sha256: media.sha256,
      createdAt: media.createdAt,
    })
    .from(media)
    .where(eq(media.id, id));
  return row ?? null;
}
