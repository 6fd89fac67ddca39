import { and, count, eq, gt, inArray, isNotNull, isNull, lte, sql, type SQL } from 'drizzle-orm';
import type { DbHandle } from '../../db/client';
import { keysetPage, type KeysetPage } from '../../db/keyset.repo';
import { rowMapper } from '../../db/rows';
import { generationCallbacks, generations } from '../../db/schema';
import type { GenerationReference } from '../../../shared/catalog/request-schema';
import type { GenerationStatus } from '../../../shared/api/generations';
import { heldGenerationSql } from '../moderation/holds.repo';

/**
 * SQL for generation tasks. Status changes go through `transition` (compare-and-set).
 *
 * Time comes from the caller (the engine's and the service's Clock, `now`), never from the
 * database's `now()`: the timestamps written here (created, updated, deadline, deleted) and every
 * comparison with them (stale tasks, deadlines, the Idempotency-Key window) run on one clock, which
 * a test can move.
 */

export type GenerationRow = typeof generations.$inferSelect;
const toRow = rowMapper(generations);

const ACTIVE: readonly GenerationStatus[] = ['queued', 'submitting', 'running', 'finalizing'];

/** A new task: its columns as submitted, and how long it may take (its deadline counts from `now` at insert). */
export type NewGeneration = Pick<
  typeof generations.$inferInsert,
  | 'id'
  | 'userId'
  | 'modelId'
  | 'mode'
  | 'prompt'
  | 'negativePrompt'
  | 'durationSeconds'
  | 'resolution'
  | 'aspectRatio'
  | 'audio'
  | 'seed'
  | 'references'
  | 'priceCredits'
  | 'idempotencyKey'
  | 'requestHash'
  | 'source'
  | 'apiKeyId'
  | 'remixedFrom'
  | 'dispatchJobId'
> & { deadlineSeconds: number };

/** Inserts a task made at `now`: created and updated then, due by `now` + its deadline seconds. */
export async function insertGeneration(tx: DbHandle, g: NewGeneration, now: Date): Promise<GenerationRow> {
  const { deadlineSeconds, ...fields } = g;
  const [row] = await tx.db
    .insert(generations)
    .values({ ...fields, createdAt: now, updatedAt: now, deadlineAt: new Date(now.getTime() + deadlineSeconds * 1000) })
    .returning();
  if (!row) throw new Error('the generation insert returned no row');
  return row;
}

export async function getGeneration(db: DbHandle, id: string): Promise<GenerationRow | null> {
  const [row] = await db.db.select().from(generations).where(eq(generations.id, id));
  return row ?? null;
}

export async function getUserGeneration(db: DbHandle, userId: string, id: string): Promise<GenerationRow | null> {
  const [row] = await db.db
    .select()
    .from(generations)
    .where(and(eq(generations.id, id), eq(generations.userId, userId), isNull(generations.deletedAt)));
  return row ?? null;
}

/** Idempotency keys are honoured for 24 hours after the submit that made the generation. */
const IDEMPOTENCY_WINDOW_MS = 24 * 3600 * 1000;
/** the creation time at or before which a generation's Idempotency-Key is no longer honoured */
const idempotencyCutoff = (now: Date) => new Date(now.getTime() - IDEMPOTENCY_WINDOW_MS);

/** The user's generation made with this Idempotency-Key within the 24 hours before `now`, if any. */
export async function findByIdempotencyKey(db: DbHandle, userId: string, key: string, now: Date): Promise<GenerationRow | null> {
  const [row] = await db.db
    .select()
    .from(generations)
    .where(and(eq(generations.userId, userId), eq(generations.idempotencyKey, key), gt(generations.createdAt, idempotencyCutoff(now))));
  return row ?? null;
}

/**
 * Forgets the user's Idempotency-Key `key` if it is older than 24 hours at `now` (the cleanup job
 * forgets them in bulk, every quarter of an hour), so that a new submit may use it again without
 * colliding with the old generation's key. Call it after `lockIdempotencyKey`.
 */
export async function forgetExpiredIdempotencyKey(tx: DbHandle, userId: string, key: string, now: Date): Promise<void> {
  await tx.db
    .update(generations)
    .set({ idempotencyKey: null })
    .where(and(eq(generations.userId, userId), eq(generations.idempotencyKey, key), lte(generations.createdAt, idempotencyCutoff(now))));
}

/**
 * Serialises submits that carry the same (user, Idempotency-Key) until the calling transaction
 * ends: the second of two concurrent submits waits here, then finds the first one's row with
 * `findByIdempotencyKey` instead of holding credits again. Take it first in the transaction,
 * before any row lock, so that every submit takes its locks in the same order.
 */
export async function lockIdempotencyKey(tx: DbHandle, userId: string, key: string): Promise<void> {
  await tx.sql.query(`select pg_advisory_xact_lock(hashtextextended('generation-idempotency:' || $1 || ':' || $2, 0))`, [userId, key]);
}

export async function countInFlight(db: DbHandle, userId: string): Promise<number> {
  const [row] = await db.db
    .select({ n: count() })
    .from(generations)
    .where(and(eq(generations.userId, userId), inArray(generations.status, ACTIVE)));
  return row?.n ?? 0;
}

/** unfinished generations made with one API key */
export async function countKeyInFlight(db: DbHandle, apiKeyId: string): Promise<number> {
  const [row] = await db.db
    .select({ n: count() })
    .from(generations)
    .where(and(eq(generations.apiKeyId, apiKeyId), inArray(generations.status, ACTIVE)));
  return row?.n ?? 0;
}

export interface ListOptions {
  limit: number;
  cursor?: string;
  status?: GenerationStatus;
  model?: string;
  /** created at or after */
  from?: Date;
  /** created before */
  to?: Date;
  /** words that must all appear in the prompt (case-insensitive) */
  q?: string;
}

/** `%`, `_` and `\` are literal in a search */
const likePattern = (word: string) => `%${word.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/**
 * The user's generations that are not deleted, newest first; keyset pagination on (created_at, id).
 * A malformed cursor yields null.
 */
export async function listUserGenerations(db: DbHandle, userId: string, opts: ListOptions): Promise<KeysetPage<GenerationRow> | null> {
  const params: unknown[] = [userId];
  const where = ['user_id = $1', 'deleted_at is null'];
  if (opts.status) {
    params.push(opts.status);
    where.push(`status = $${params.length}`);
  }
  if (opts.model) {
    params.push(opts.model);
    where.push(`model_id = $${params.length}`);
  }
  if (opts.from) {
    params.push(opts.from.toISOString());
    where.push(`created_at >= $${params.length}::timestamptz`);
  }
  if (opts.to) {
    params.push(opts.to.toISOString());
    where.push(`created_at < $${params.length}::timestamptz`);
  }
  for (const word of (opts.q ?? '').split(/\s+/).filter(Boolean).slice(0, 10)) {
    params.push(likePattern(word));
    where.push(`prompt ilike $${params.length}`);
  }
  return keysetPage(db, { table: 'generations', where, params, limit: opts.limit, cursor: opts.cursor, map: toRow });
}

/**
 * The user's generations that are not deleted, ordered by (created_at, id) either way, starting
 * after the generation `after` (an id, as OpenAI-style lists page). Null when `after` is not one of
 * the user's generations.
 */
export async function listUserGenerationsAfter(
  db: DbHandle,
  userId: string,
  opts: { limit: number; after?: string; order: 'asc' | 'desc' },
): Promise<{ items: GenerationRow[]; hasMore: boolean } | null> {
  const params: unknown[] = [userId];
  const where = ['user_id = $1', 'deleted_at is null'];
  if (opts.after !== undefined) {
    // the anchor may itself be deleted since: its position still counts
    const [anchor] = await db.sql.query('select id from generations where id = $1 and user_id = $2', [opts.after, userId]);
    if (!anchor) return null;
    params.push(opts.after);
    where.push(`(created_at, id) ${opts.order === 'asc' ? '>' : '<'} (select created_at, id from generations where id = $${params.length})`);
  }
  params.push(opts.limit + 1);
  const dir = opts.order === 'asc' ? 'asc' : 'desc';
  const rows = await db.sql.query(
    `select * from generations where ${where.join(' and ')} order by created_at ${dir}, id ${dir} limit $${params.length}`,
    params,
  );
  return { items: rows.slice(0, opts.limit).map(toRow), hasMore: rows.length > opts.limit };
}

/** Columns a transition may set besides the status. */
const settable = [
  'progress',
  'failureCode',
  'failureMessage',
  'failureDetail',
  'refunded',
  'provider',
  'upstreamModel',
  'upstreamId',
  'callbackKey',
  'outcomeUnknownSince',
  'routeAttempts',
  'dispatchAttempts',
  'dispatchJobId',
  'nextPollAt',
  'pollCount',
  'outputUrl',
  'outputThumbnailUrl',
  'outputContentType',
  'outputPreviewUrl',
  'outputDurationSeconds',
  'outputWidth',
  'outputHeight',
  'outputCodec',
  'outputSizeBytes',
  'outputSha256',
  'startedAt',
  'finishedAt',
] as const satisfies readonly (keyof GenerationRow)[];
type SettableColumn = (typeof settable)[number];
const isSettable = new Set<string>(settable);

/** What a transition sets: a value, or one of the database-side expressions below. */
export type TransitionSet = { [K in SettableColumn]?: GenerationRow[K] | SQL };

/** one more dispatch attempt */
export const nextDispatchAttempt = (): SQL => sql`${generations.dispatchAttempts} + 1`;
/** progress never goes back */
export const progressAtLeast = (progress: number): SQL => sql`greatest(${generations.progress}, ${progress})`;

/**
 * Compare-and-set: move the task to `to` (or keep its status when `to` is undefined) only if it
 * is currently in one of `from`, marking it updated at `now`. Returns the updated row, or null when
 * another actor got there first.
 */
export async function transition(
  db: DbHandle,
  id: string,
  from: readonly GenerationStatus[],
  to: GenerationStatus | undefined,
  set: TransitionSet,
  now: Date,
): Promise<GenerationRow | null> {
  for (const column of Object.keys(set)) if (!isSettable.has(column)) throw new Error(`not a settable column: ${column}`);
  const [row] = await db.db
    .update(generations)
    .set({ ...set, ...(to ? { status: to } : {}), updatedAt: now })
    .where(and(eq(generations.id, id), inArray(generations.status, [...from])))
    .returning();
  return row ?? null;
}

/** Tell every process that a task changed (the SSE hub listens); delivered on commit. */
export async function notifyChange(db: DbHandle, row: Pick<GenerationRow, 'id' | 'userId'>): Promise<void> {
  await db.sql.query(`select pg_notify('generation_events', $1)`, [JSON.stringify({ id: row.id, userId: row.userId })]);
}

/**
 * Claim up to `limit` running tasks whose next check is due, leasing them for `leaseSeconds` so
 * that other workers skip them (SKIP LOCKED) while this one polls.
 */
export async function claimDuePolls(db: DbHandle, limit: number, leaseSeconds: number, now: Date): Promise<GenerationRow[]> {
  const rows = await db.sql.query(
    `update generations set next_poll_at = $3::timestamptz + make_interval(secs => $2), poll_count = poll_count + 1
      where id in (select id from generations
                    where status = 'running' and upstream_id is not null and next_poll_at <= $3::timestamptz
                    order by next_poll_at limit $1 for update skip locked)
      returning *`,
    [limit, leaseSeconds, now.toISOString()],
  );
  return rows.map(toRow);
}

/** Check a running task at the next poll round: its provider has just announced that it ended. */
export async function pollSoon(db: DbHandle, provider: string, upstreamId: string, now: Date): Promise<void> {
  await db.db
    .update(generations)
    .set({ nextPollAt: now })
    .where(and(eq(generations.provider, provider), eq(generations.upstreamId, upstreamId), eq(generations.status, 'running')));
}

/** The next check of a running task, `seconds` after `now` (after a poll). */
export async function schedulePoll(db: DbHandle, id: string, seconds: number, now: Date): Promise<void> {
  await db.db
    .update(generations)
    .set({ nextPollAt: new Date(now.getTime() + seconds * 1000) })
    .where(and(eq(generations.id, id), eq(generations.status, 'running')));
}

/**
 * Tasks that need the sweeper's attention (see GenerationEngine.sweep) at `now`: past their
 * deadline, queued for longer than `queuedSeconds`, or stuck submitting or finalizing.
 */
export async function findStale(
  db: DbHandle,
  opts: { now: Date; queuedSeconds: number; submittingSeconds: number; finalizingSeconds: number; limit: number },
): Promise<GenerationRow[]> {
  const rows = await db.sql.query(
    `select * from generations
      where (status in ('queued', 'submitting', 'running', 'finalizing') and deadline_at <= $5::timestamptz)
         or (status = 'queued' and updated_at < $5::timestamptz - make_interval(secs => $1))
         or (status = 'submitting' and updated_at < $5::timestamptz - make_interval(secs => $2))
         or (status = 'finalizing' and updated_at < $5::timestamptz - make_interval(secs => $3))
      order by updated_at limit $4`,
    [opts.queuedSeconds, opts.submittingSeconds, opts.finalizingSeconds, opts.limit, opts.now.toISOString()],
  );
  return rows.map(toRow);
}

/**
 * Queued tasks untouched for `idleSeconds` but not yet stale (`staleSeconds`; those `findStale`
 * returns), before their deadline, at `now`, oldest first: the sweep asks the queue whether each
 * one's dispatch job still waits.
 */
export async function findIdleQueued(db: DbHandle, opts: { now: Date; idleSeconds: number; staleSeconds: number; limit: number }): Promise<GenerationRow[]> {
  const rows = await db.sql.query(
    `select * from generations
      where status = 'queued' and deadline_at > $4::timestamptz
        and updated_at < $4::timestamptz - make_interval(secs => $1) and updated_at >= $4::timestamptz - make_interval(secs => $2)
      order by updated_at limit $3`,
    [opts.idleSeconds, opts.staleSeconds, opts.limit, opts.now.toISOString()],
  );
  return rows.map(toRow);
}

/**
 * A provider callback about a task, as received, and what was done with it (`applied`, `adopted`,
 * `ignored`: nothing to change, `error`), for the console's generation page.
 */
export async function recordCallback(db: DbHandle, c: Omit<typeof generationCallbacks.$inferInsert, 'id'>): Promise<void> {
  await db.db.insert(generationCallbacks).values(c);
}

export async function findByCallbackKey(db: DbHandle, provider: string, key: string): Promise<GenerationRow | null> {
  const [row] = await db.db
    .select()
    .from(generations)
    .where(and(eq(generations.provider, provider), eq(generations.callbackKey, key)));
  return row ?? null;
}

/** The task's references once URL references were imported into the user's library (at `now`). */
export async function setReferences(db: DbHandle, id: string, references: GenerationReference[], now: Date): Promise<void> {
  await db.db.update(generations).set({ references, updatedAt: now }).where(eq(generations.id, id));
}

/** Of the user's live generations among `ids`, the ones still being made. */
export async function findUnfinishedAmong(tx: DbHandle, userId: string, ids: readonly string[]): Promise<string[]> {
  const rows = await tx.db
    .select({ id: generations.id })
    .from(generations)
    .where(and(eq(generations.userId, userId), inArray(generations.id, [...ids]), isNull(generations.deletedAt), inArray(generations.status, ACTIVE)));
  return rows.map((r) => r.id);
}

/** Marks the user's live generations among `ids` deleted at `now`; returns them as they were deleted. */
export async function markGenerationsDeleted(tx: DbHandle, userId: string, ids: readonly string[], now: Date): Promise<GenerationRow[]> {
  return tx.db
    .update(generations)
    .set({ deletedAt: now, updatedAt: now })
    .where(and(eq(generations.userId, userId), inArray(generations.id, [...ids]), isNull(generations.deletedAt)))
    .returning();
}

/** Removes up to `limit` generations deleted more than `days` ago and not under a legal hold; returns the removed rows. */
export async function purgeDeletedGenerations(db: DbHandle, days: number, limit: number, now: Date): Promise<GenerationRow[]> {
  const rows = await db.sql.query(
    `delete from generations where id in (
       select g.id from generations g where g.deleted_at is not null and g.deleted_at < $3::timestamptz - make_interval(days => $1)
         and not ${heldGenerationSql('g', '$3::timestamptz')} limit $2)
     returning *`,
    [days, limit, now.toISOString()],
  );
  return rows.map(toRow);
}

/**
 * Of `ids` (lower case), the generations that own stored files: live, and finalizing (storing its
 * files right now) or succeeded. Lower case.
 */
export async function generationsOwningFiles(db: DbHandle, ids: readonly string[]): Promise<Set<string>> {
  const rows = await db.sql.query<{ id: string }>(
    `select lower(id) as id from generations where lower(id) = any($1::text[]) and deleted_at is null and status in ('finalizing', 'succeeded')`,
    [[...ids]],
  );
  return new Set(rows.map((r) => r.id));
}

/** Forget idempotency keys 24 hours after their submit, at `now` (the cleanup job). */
export async function expireIdempotencyKeys(db: DbHandle, now: Date): Promise<number> {
  const rows = await db.db
    .update(generations)
    .set({ idempotencyKey: null })
    .where(and(isNotNull(generations.idempotencyKey), lte(generations.createdAt, idempotencyCutoff(now))))
    .returning({ id: generations.id });
  return rows.length;
}
