import { and, eq, inArray, isNull, sql } from 'drizzle-orm';
import type { DbHandle } from '../../db/client';
import { keysetPage, type KeysetPage } from '../../db/keyset.repo';
import { rowMapper } from '../../db/rows';
import { media } from '../../db/schema';
import type { MediaKind } from '../../../shared/api/media';
import { heldMediaSql } from '../moderation/holds.repo';

/** SQL for reference media (the `media` table). Reads for users always skip deleted rows. */

export type MediaRow = typeof media.$inferSelect;
export type NewMedia = Omit<MediaRow, 'createdAt' | 'deletedAt'>;
const toRow = rowMapper(media);

const live = (userId: string) => and(eq(media.userId, userId), isNull(media.deletedAt));

export async function insertMedia(db: DbHandle, m: NewMedia): Promise<MediaRow> {
  const [row] = await db.db.insert(media).values(m).returning();
  if (!row) throw new Error('the media insert returned no row');
  return row;
}

/** A user's media that is not deleted, or null (another user's id is null too). */
export async function getUserMedia(db: DbHandle, userId: string, id: string): Promise<MediaRow | null> {
  const [row] = await db.db
    .select()
    .from(media)
    .where(and(eq(media.id, id), live(userId)));
  return row ?? null;
}

/** The user's live media among `ids` (any order; missing ids are simply absent). */
export async function getUserMediaMany(db: DbHandle, userId: string, ids: readonly string[]): Promise<MediaRow[]> {
  if (ids.length === 0) return [];
  return db.db
    .select()
    .from(media)
    .where(and(inArray(media.id, [...ids]), live(userId)));
}

/** Mark deleted; returns the row as it was deleted, or null when there was no live row of this user. */
export async function markMediaDeleted(db: DbHandle, userId: string, id: string): Promise<MediaRow | null> {
  const [row] = await db.db
    .update(media)
    .set({ deletedAt: sql`now()` })
    .where(and(eq(media.id, id), live(userId)))
    .returning();
  return row ?? null;
}

/** Mark one record deleted whoever owns it (an import the system itself turned down). */
export async function markMediaDeletedById(db: DbHandle, id: string): Promise<void> {
  await db.db
    .update(media)
    .set({ deletedAt: sql`now()` })
    .where(eq(media.id, id));
}

export interface MediaListOptions {
  limit: number;
  cursor?: string | undefined;
  kind?: MediaKind | undefined;
}

/** The user's live media, newest first; keyset pagination on (created_at, id). A malformed cursor yields null. */
export async function listUserMedia(db: DbHandle, userId: string, opts: MediaListOptions): Promise<KeysetPage<MediaRow> | null> {
  const params: unknown[] = [userId];
  const where = ['user_id = $1', 'deleted_at is null'];
  if (opts.kind) {
    params.push(opts.kind);
    where.push(`kind = $${params.length}`);
  }
  return keysetPage(db, { table: 'media', where, params, limit: opts.limit, cursor: opts.cursor, map: toRow });
}

/** Removes up to `limit` records deleted more than `days` ago; returns the storage keys they had. */
export async function purgeDeletedMedia(db: DbHandle, days: number, limit: number, now: Date): Promise<Pick<MediaRow, 'storageKey' | 'previewKey'>[]> {
  const rows = await db.sql.query(
    `delete from media where id in (
       select m.id from media m where m.deleted_at is not null and m.deleted_at < $3::timestamptz - make_interval(days => $1)
         and not ${heldMediaSql('m', '$3::timestamptz')} limit $2)
     returning storage_key, preview_key`,
    [days, limit, now.toISOString()],
  );
  return rows.map(toRow);
}

/** Of `ids` (lower case), the live records. Lower case. */
export async function liveMediaAmong(db: DbHandle, ids: readonly string[]): Promise<Set<string>> {
  const rows = await db.sql.query<{ id: string }>(`select lower(id) as id from media where lower(id) = any($1::text[]) and deleted_at is null`, [[...ids]]);
  return new Set(rows.map((r) => r.id));
}
