import type { Logger } from 'pino';
import { systemClock, type Clock } from '../../adapters/clock';
import type { ObjectStore } from '../../adapters/storage';
import type { Database } from '../../db/client';
import { generationsOwningFiles, purgeDeletedGenerations } from '../generations/generations.repo';
import { liveMediaAmong, purgeDeletedMedia } from './media.repo';
import { storedKeysOf } from './creations.service';
import { heldGenerationsAmong, heldMediaAmong, heldUsersAmong } from '../moderation/holds.repo';

/**
 * Removing deleted media for good (privacy policy 3: deleted creations leave active storage at
 * once and are purged within a reasonable window).
 *
 * - `deleteObjects` (job media.delete-objects): the files of something a user just deleted.
 * - `purgeDeleted` (job media.purge, daily): rows deleted more than `purgeDays` ago are removed
 *   (their files once more, in case an earlier delete was lost), and every stored object under
 *   `generations/` or `uploads/` that no live record refers to, and that is older than
 *   `orphanGraceHours` (so files being written right now are left alone), is deleted: files of
 *   deleted accounts, of tasks that failed after their output was stored, or of an upload whose
 *   record was never written.
 * - Legal holds (moderation/holds.repo.ts) come first: a held row is not purged (the user's delete
 *   only hid it), and the sweep keeps the files of held rows and of held users.
 * Both windows end by `deps.clock` (default: the system clock).
 */

export interface PurgeResult {
  generations: number;
  media: number;
  orphans: number;
}

export async function deleteObjects(store: ObjectStore, keys: readonly string[]): Promise<void> {
  if (keys.length) await store.deleteMany(keys);
}

const BATCH = 500;

export async function purgeDeleted(
  deps: { database: Database; store: ObjectStore; logger: Logger; clock?: Pick<Clock, 'now'> },
  opts: { purgeDays: number; orphanGraceHours?: number },
): Promise<PurgeResult> {
  const { database, store, logger } = deps;
  const now = (deps.clock ?? systemClock).now();
  const result: PurgeResult = { generations: 0, media: 0, orphans: 0 };

  // 1. deleted generations past the window
  for (;;) {
    const rows = await purgeDeletedGenerations(database, opts.purgeDays, BATCH, now);
    if (!rows.length) break;
    await store.deleteMany(rows.flatMap(storedKeysOf));
    result.generations += rows.length;
    if (rows.length < BATCH) break;
  }

  // 2. deleted references past the window
  for (;;) {
    const rows = await purgeDeletedMedia(database, opts.purgeDays, BATCH, now);
    if (!rows.length) break;
    await store.deleteMany(rows.flatMap((r) => [r.storageKey, ...(r.previewKey ? [r.previewKey] : [])]));
    result.media += rows.length;
    if (rows.length < BATCH) break;
  }

  // 3. objects nothing refers to
  const graceMs = (opts.orphanGraceHours ?? 24) * 3600_000;
  const cutoff = now.getTime() - graceMs;
  const sweep = async (prefix: 'generations/' | 'uploads/') => {
    let cursor: string | undefined;
    do {
      const page = await store.list(prefix, { limit: 1000, ...(cursor ? { cursor } : {}) });
      cursor = page.cursor;
      const old = page.items.filter((o) => o.lastModified.getTime() < cutoff);
      if (!old.length) continue;
      // generations/<user>/<task>/<file>, uploads/<user>/<media>/<file>
      const idOf = (key: string) => key.split('/')[2] ?? '';
      const ids = [...new Set(old.map((o) => idOf(o.key)))];
      // a finalizing task may be storing its files right now; a succeeded one owns them
      const keep = prefix === 'generations/' ? await generationsOwningFiles(database, ids) : await liveMediaAmong(database, ids);
      // under a legal hold: the row's files, and every file of a held user (even without a row)
      const held = prefix === 'generations/' ? await heldGenerationsAmong(database, ids, now) : await heldMediaAmong(database, ids, now);
      const heldUsers = await heldUsersAmong(database, [...new Set(old.map((o) => o.key.split('/')[1] ?? ''))], now);
      const orphans = old
        .filter((o) => !keep.has(idOf(o.key)) && !held.has(idOf(o.key)) && !heldUsers.has((o.key.split('/')[1] ?? '').toLowerCase()))
        .map((o) => o.key);
      if (orphans.length) {
        await store.deleteMany(orphans);
        result.orphans += orphans.length;
      }
    } while (cursor);
  };
  await sweep('generations/');
  await sweep('uploads/');
  if (result.generations || result.media || result.orphans) logger.info(result, 'media purge: removed deleted records and unreferenced files');
  return result;
}
