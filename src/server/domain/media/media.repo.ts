import type { DbHandle } from '../../db/client';
import { keysetPage, type KeysetPage } from '../../db/keyset';
import type { MediaKind } from '../../../shared/api/media';

/** SQL for reference media (the `media` table). Reads for users always skip deleted rows. */

export interface MediaRow {
  id: string;
  userId: string;
  kind: MediaKind;
  source: 'upload' | 'url';
  name: string | null;
  contentType: string;
  storageKey: string;
  previewKey: string | null;
  sizeBytes: number;
  sha256: string;
  width: number | null;
  height: number | null;
  durationSeconds: number | null;
  createdAt: Date;
  deletedAt: Date | null;
}

type Raw = Record<string, unknown>;
const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));

export function mapMedia(r: Raw): MediaRow {
  return {
    id: r.id as string,
    userId: r.user_id as string,
    kind: r.kind as MediaKind,
    source: r.source as MediaRow['source'],
    name: (r.name as string | null) ?? null,
    contentType: r.content_type as string,
    storageKey: r.storage_key as string,
    previewKey: (r.preview_key as string | null) ?? null,
    sizeBytes: Number(r.size_bytes),
    sha256: r.sha256 as string,
    width: num(r.width),
    height: num(r.height),
    durationSeconds: num(r.duration_seconds),
    createdAt: new Date(r.created_at as string),
    deletedAt: r.deleted_at === null || r.deleted_at === undefined ? null : new Date(r.deleted_at as string),
  };
}

export type NewMedia = Omit<MediaRow, 'createdAt' | 'deletedAt'>;

export async function insertMedia(db: DbHandle, m: NewMedia): Promise<MediaRow> {
  const rows = await db.sql.query(
    `insert into media (id, user_id, kind, source, name, content_type, storage_key, preview_key, size_bytes, sha256, width, height, duration_seconds)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) returning *`,
    [m.id, m.userId, m.kind, m.source, m.name, m.contentType, m.storageKey, m.previewKey, m.sizeBytes, m.sha256, m.width, m.height, m.durationSeconds],
  );
  return mapMedia(rows[0]!);
}

/** A user's media that is not deleted, or null (another user's id is null too). */
export async function getUserMedia(db: DbHandle, userId: string, id: string): Promise<MediaRow | null> {
  const rows = await db.sql.query('select * from media where id = $1 and user_id = $2 and deleted_at is null', [id, userId]);
  return rows[0] ? mapMedia(rows[0]) : null;
}

/** The user's live media among `ids` (any order; missing ids are simply absent). */
export async function getUserMediaMany(db: DbHandle, userId: string, ids: readonly string[]): Promise<MediaRow[]> {
  if (ids.length === 0) return [];
  const rows = await db.sql.query('select * from media where id = any($1::text[]) and user_id = $2 and deleted_at is null', [[...ids], userId]);
  return rows.map(mapMedia);
}

/** Mark deleted; returns the row as it was deleted, or null when there was no live row of this user. */
export async function markMediaDeleted(db: DbHandle, userId: string, id: string): Promise<MediaRow | null> {
  const rows = await db.sql.query('update media set deleted_at = now() where id = $1 and user_id = $2 and deleted_at is null returning *', [id, userId]);
  return rows[0] ? mapMedia(rows[0]) : null;
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
  return keysetPage(db, { table: 'media', where, params, limit: opts.limit, cursor: opts.cursor, map: mapMedia });
}
