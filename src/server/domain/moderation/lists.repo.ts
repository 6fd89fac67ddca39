import { randomUUID } from 'node:crypto';
import { asc, eq } from 'drizzle-orm';
import type { DbHandle } from '../../db/client';
import { moderationHashes, moderationHashLists, moderationTermEdits } from '../../db/schema';

/**
 * SQL for the operator's moderation lists: imported hash lists (moderation_hash_lists and their
 * moderation_hashes) and the edits to the built-in term lists (moderation_term_edits).
 */

export type HashListRow = typeof moderationHashLists.$inferSelect;
export type TermEditRow = typeof moderationTermEdits.$inferSelect;
export interface HashEntry {
  kind: 'sha256' | 'pdq';
  hash: string;
  label?: string | undefined;
}

/** rows per insert statement when a list is imported (3 parameters a row, well under the 65 535 limit) */
const INSERT_BATCH = 5000;

export async function listHashLists(db: DbHandle): Promise<(HashListRow & { sha256: number; pdq: number })[]> {
  const lists = await db.db.select().from(moderationHashLists).orderBy(asc(moderationHashLists.name));
  const counts = await db.sql.query<{ list_id: string; kind: string; n: string }>(
    'select list_id, kind, count(*) as n from moderation_hashes group by list_id, kind',
  );
  const count = (id: string, kind: string) => Number(counts.find((c) => c.list_id === id && c.kind === kind)?.n ?? 0);
  return lists.map((l) => ({ ...l, sha256: count(l.id, 'sha256'), pdq: count(l.id, 'pdq') }));
}

export async function getHashList(db: DbHandle, id: string): Promise<HashListRow | null> {
  const [row] = await db.db.select().from(moderationHashLists).where(eq(moderationHashLists.id, id));
  return row ?? null;
}

/** Adds the list, or replaces the list of that name whole (its entries and settings). Run in a transaction. */
export async function replaceHashList(
  db: DbHandle,
  list: { name: string; category: string; pdqThreshold: number; createdBy: string | null; entries: readonly HashEntry[] },
  now: Date,
): Promise<HashListRow> {
  const [existing] = await db.db.select().from(moderationHashLists).where(eq(moderationHashLists.name, list.name)).for('update');
  let row: HashListRow | undefined;
  if (existing) {
    await db.db.delete(moderationHashes).where(eq(moderationHashes.listId, existing.id));
    [row] = await db.db
      .update(moderationHashLists)
      .set({ category: list.category, pdqThreshold: list.pdqThreshold, entryCount: list.entries.length, updatedAt: now })
      .where(eq(moderationHashLists.id, existing.id))
      .returning();
  } else {
    [row] = await db.db
      .insert(moderationHashLists)
      .values({
        id: randomUUID(),
        name: list.name,
        category: list.category,
        pdqThreshold: list.pdqThreshold,
        entryCount: list.entries.length,
        createdBy: list.createdBy,
        createdAt: now,
        updatedAt: now,
      })
      .returning();
  }
  if (!row) throw new Error('the hash list write returned no row');
  const listId = row.id;
  for (let i = 0; i < list.entries.length; i += INSERT_BATCH) {
    const batch = list.entries.slice(i, i + INSERT_BATCH);
    await db.db
      .insert(moderationHashes)
      .values(batch.map((e) => ({ listId, kind: e.kind, hash: e.hash, label: e.label ?? null })))
      .onConflictDoNothing();
  }
  return row;
}

export async function deleteHashList(db: DbHandle, id: string): Promise<HashListRow | null> {
  const [row] = await db.db.delete(moderationHashLists).where(eq(moderationHashLists.id, id)).returning();
  return row ?? null;
}

/** Every list with its entries, for the matcher. */
export async function loadHashLists(db: DbHandle): Promise<{ list: HashListRow; entries: HashEntry[] }[]> {
  const lists = await db.db.select().from(moderationHashLists);
  const hashes = await db.db.select().from(moderationHashes);
  const byList = new Map<string, HashEntry[]>(lists.map((l) => [l.id, []]));
  for (const h of hashes) byList.get(h.listId)?.push({ kind: h.kind as HashEntry['kind'], hash: h.hash, ...(h.label ? { label: h.label } : {}) });
  return lists.map((list) => ({ list, entries: byList.get(list.id) ?? [] }));
}

export async function listTermEdits(db: DbHandle): Promise<TermEditRow[]> {
  return db.db.select().from(moderationTermEdits).orderBy(asc(moderationTermEdits.createdAt), asc(moderationTermEdits.id));
}

/** The edit, or null when the same edit exists already. */
export async function insertTermEdit(
  db: DbHandle,
  edit: { op: 'add' | 'remove'; list: string; language: string; term: string; createdBy: string | null },
  now: Date,
): Promise<TermEditRow | null> {
  const [row] = await db.db
    .insert(moderationTermEdits)
    .values({ id: randomUUID(), ...edit, createdAt: now })
    .onConflictDoNothing()
    .returning();
  return row ?? null;
}

export async function deleteTermEdit(db: DbHandle, id: string): Promise<TermEditRow | null> {
  const [row] = await db.db.delete(moderationTermEdits).where(eq(moderationTermEdits.id, id)).returning();
  return row ?? null;
}

/**
 * A fingerprint of both lists' state: it changes with every import, replacement, removal and term
 * edit, so every process notices another's edit on its next screening and reloads.
 */
export async function listsVersion(db: DbHandle): Promise<string> {
  const [row] = await db.sql.query<{ v: string }>(
    `select (select count(*) || ':' || coalesce(max(updated_at)::text, '') || ':' || coalesce(sum(entry_count), 0) from moderation_hash_lists)
       || '|' || (select count(*) || ':' || coalesce(max(created_at)::text, '') || ':' || coalesce(max(id), '') from moderation_term_edits) as v`,
  );
  return row?.v ?? '';
}
