import { randomUUID } from 'node:crypto';
import { and, desc, eq, gt, isNull, lt, or, sql, type SQL } from 'drizzle-orm';
import type { AnyPgColumn } from 'drizzle-orm/pg-core';
import type { DbHandle } from '../../db/client';
import { legalHolds, type HoldSubject } from '../../db/schema';

/**
 * SQL for legal holds (issue 16). A hold is *active* at `now` when it is not released and has no
 * expiry or one after `now` (the clock's time, passed as a parameter, never SQL `now()`).
 *
 * What a hold covers:
 * - `user`: the account and everything of it (generations, media, their files).
 * - `generation` / `media`: that row and its files.
 * - `case`: the case, its evidence (quarantined files), and the generation and media the case or
 *   its evidence names.
 *
 * Deletion paths ask here before removing rows or files: the purge queries embed
 * `heldGenerationSql` / `heldMediaSql`, the orphan sweep and the delete routes ask
 * `heldGenerationsAmong` / `heldMediaAmong` / `heldUsersAmong`.
 */

export type HoldRow = typeof legalHolds.$inferSelect;

/** `h` active at the timestamptz expression `now` (SQL text, e.g. `$3::timestamptz`). */
const activeSql = (h: string, now: string) => `${h}.released_at is null and (${h}.expires_at is null or ${h}.expires_at > ${now})`;

/**
 * SQL text (a boolean expression) that is true when the generation row aliased `g` is held at `now`
 * (a timestamptz SQL expression such as `$3::timestamptz`), directly, through its user or through a
 * case about it.
 */
export function heldGenerationSql(g: string, now: string): string {
  return `exists (select 1 from legal_holds lh where ${activeSql('lh', now)} and (
    (lh.subject_kind = 'generation' and lh.subject_id = ${g}.id)
    or (lh.subject_kind = 'user' and lh.subject_id = ${g}.user_id)
    or (lh.subject_kind = 'case' and lh.subject_id in (
      select mc.id from moderation_cases mc where mc.generation_id = ${g}.id
      union select me.case_id from moderation_evidence me where me.generation_id = ${g}.id))))`;
}

/** As `heldGenerationSql`, for the media row aliased `m`. */
export function heldMediaSql(m: string, now: string): string {
  return `exists (select 1 from legal_holds lh where ${activeSql('lh', now)} and (
    (lh.subject_kind = 'media' and lh.subject_id = ${m}.id)
    or (lh.subject_kind = 'user' and lh.subject_id = ${m}.user_id)
    or (lh.subject_kind = 'case' and lh.subject_id in (
      select mc.id from moderation_cases mc where mc.media_id = ${m}.id
      union select me.case_id from moderation_evidence me where me.media_id = ${m}.id))))`;
}

/** As `heldGenerationSql`, for a user id expression (`api_request_log.user_id`). */
export function heldUserSql(userId: string, now: string): string {
  return `exists (select 1 from legal_holds lh where ${activeSql('lh', now)} and lh.subject_kind = 'user' and lh.subject_id = ${userId})`;
}

/** Drizzle form of `heldUserSql` for a user id column (query-builder deletes such as the API log retention). */
export function heldUserCondition(userId: AnyPgColumn, now: Date): SQL {
  return sql`exists (select 1 from legal_holds lh where lh.subject_kind = 'user' and lh.subject_id = ${userId}
    and lh.released_at is null and (lh.expires_at is null or lh.expires_at > ${now.toISOString()}::timestamptz))`;
}

/** Of `ids` (generation ids, any case), the held ones, lower case. */
export async function heldGenerationsAmong(db: DbHandle, ids: readonly string[], now: Date): Promise<Set<string>> {
  if (!ids.length) return new Set();
  const rows = await db.sql.query<{ id: string }>(
    `select lower(g.id) as id from generations g where lower(g.id) = any($1::text[]) and ${heldGenerationSql('g', '$2::timestamptz')}`,
    [ids.map((i) => i.toLowerCase()), now.toISOString()],
  );
  return new Set(rows.map((r) => r.id));
}

/** Of `ids` (media ids, any case), the held ones, lower case. */
export async function heldMediaAmong(db: DbHandle, ids: readonly string[], now: Date): Promise<Set<string>> {
  if (!ids.length) return new Set();
  const rows = await db.sql.query<{ id: string }>(
    `select lower(m.id) as id from media m where lower(m.id) = any($1::text[]) and ${heldMediaSql('m', '$2::timestamptz')}`,
    [ids.map((i) => i.toLowerCase()), now.toISOString()],
  );
  return new Set(rows.map((r) => r.id));
}

/** Of `ids` (user ids, any case), the held ones, lower case (their files stay even without rows). */
export async function heldUsersAmong(db: DbHandle, ids: readonly string[], now: Date): Promise<Set<string>> {
  if (!ids.length) return new Set();
  const rows = await db.sql.query<{ id: string }>(
    `select distinct lower(lh.subject_id) as id from legal_holds lh
      where lh.subject_kind = 'user' and lower(lh.subject_id) = any($1::text[]) and ${activeSql('lh', '$2::timestamptz')}`,
    [ids.map((i) => i.toLowerCase()), now.toISOString()],
  );
  return new Set(rows.map((r) => r.id));
}

/**
 * Whether anything held covers `subject` at `now`: a direct hold, or (generation, media) one on its
 * user or a case about it, or (case) one on the case's user, generation or media. Quarantine removal
 * asks this before deleting a case's files.
 */
export async function subjectHeld(db: DbHandle, subject: { kind: HoldSubject; id: string }, now: Date): Promise<boolean> {
  const t = now.toISOString();
  const direct = `select 1 from legal_holds lh where lh.subject_kind = $1 and lh.subject_id = $2 and ${activeSql('lh', '$3::timestamptz')}`;
  let q: string;
  switch (subject.kind) {
    case 'user':
      q = direct;
      break;
    case 'generation':
      q = `${direct} union all select 1 from generations g where g.id = $2 and ${heldGenerationSql('g', '$3::timestamptz')}`;
      break;
    case 'media':
      q = `${direct} union all select 1 from media m where m.id = $2 and ${heldMediaSql('m', '$3::timestamptz')}`;
      break;
    case 'case':
      q = `${direct} union all select 1 from moderation_cases c join legal_holds lh on ${activeSql('lh', '$3::timestamptz')} and (
             (lh.subject_kind = 'user' and lh.subject_id = c.user_id)
             or (lh.subject_kind = 'generation' and lh.subject_id = c.generation_id)
             or (lh.subject_kind = 'media' and lh.subject_id = c.media_id))
           where c.id = $2`;
      break;
  }
  const rows = await db.sql.query(`select exists (${q}) as held`, [subject.kind, subject.id, t]);
  return (rows[0] as { held?: boolean } | undefined)?.held === true;
}

export interface NewHold {
  subjectKind: HoldSubject;
  subjectId: string;
  reason: string;
  caseId?: string | null;
  placedBy: string | null;
  expiresAt?: Date | null;
}

export async function insertHold(db: DbHandle, hold: NewHold, now: Date): Promise<HoldRow> {
  const [row] = await db.db
    .insert(legalHolds)
    .values({
      id: randomUUID(),
      subjectKind: hold.subjectKind,
      subjectId: hold.subjectId,
      reason: hold.reason,
      caseId: hold.caseId ?? null,
      placedBy: hold.placedBy,
      placedAt: now,
      expiresAt: hold.expiresAt ?? null,
    })
    .returning();
  if (!row) throw new Error('the hold insert returned no row');
  return row;
}

export async function getHold(db: DbHandle, id: string): Promise<HoldRow | null> {
  if (!/^[0-9a-f-]{36}$/i.test(id)) return null;
  const [row] = await db.db.select().from(legalHolds).where(eq(legalHolds.id, id));
  return row ?? null;
}

/** Releases an unreleased hold (compare-and-set); null when it is released already or unknown. */
export async function releaseHold(db: DbHandle, id: string, by: string | null, reason: string, now: Date): Promise<HoldRow | null> {
  if (!/^[0-9a-f-]{36}$/i.test(id)) return null;
  const [row] = await db.db
    .update(legalHolds)
    .set({ releasedAt: now, releasedBy: by, releaseReason: reason })
    .where(and(eq(legalHolds.id, id), isNull(legalHolds.releasedAt)))
    .returning();
  return row ?? null;
}

export interface HoldFilter {
  /** true: active at `now`; false: released or expired; undefined: all */
  active?: boolean;
  subjectKind?: HoldSubject;
  subjectId?: string;
  caseId?: string;
  limit: number;
  /** the id of the last hold of the previous page (newest first) */
  before?: { placedAt: Date; id: string };
}

/** Holds, newest first. */
export async function listHolds(db: DbHandle, filter: HoldFilter, now: Date): Promise<HoldRow[]> {
  const where: (SQL | undefined)[] = [];
  const activeNow = and(isNull(legalHolds.releasedAt), or(isNull(legalHolds.expiresAt), gt(legalHolds.expiresAt, now)));
  if (filter.active === true) where.push(activeNow);
  if (filter.active === false) where.push(sql`not (${activeNow})`);
  if (filter.subjectKind) where.push(eq(legalHolds.subjectKind, filter.subjectKind));
  if (filter.subjectId) where.push(eq(legalHolds.subjectId, filter.subjectId));
  if (filter.caseId) where.push(eq(legalHolds.caseId, filter.caseId));
  if (filter.before)
    where.push(or(lt(legalHolds.placedAt, filter.before.placedAt), and(eq(legalHolds.placedAt, filter.before.placedAt), lt(legalHolds.id, filter.before.id))));
  return db.db
    .select()
    .from(legalHolds)
    .where(and(...where))
    .orderBy(desc(legalHolds.placedAt), desc(legalHolds.id))
    .limit(filter.limit);
}

/** Whether the row named exists (a hold must name something real). */
export async function holdSubjectExists(db: DbHandle, kind: HoldSubject, id: string): Promise<boolean> {
  const table = { user: 'users', generation: 'generations', media: 'media', case: 'moderation_cases' }[kind];
  const rows = await db.sql.query(`select exists (select 1 from ${table} where id = $1) as found`, [id]);
  return (rows[0] as { found?: boolean } | undefined)?.found === true;
}
