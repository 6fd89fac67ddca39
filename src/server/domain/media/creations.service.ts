import type { Logger } from 'pino';
import { systemClock, type Clock } from '../../adapters/clock';
import type { ObjectStore } from '../../adapters/storage';
import type { Database } from '../../db/client';
import { AppError, notFound } from '../../errors';
import { mediaDeleteObjects } from '../../jobs/names';
import type { JobQueue } from '../../jobs/queue';
import type { GenerationList } from '../../../shared/api/generations';
import type { DeleteCreationsResult } from '../../../shared/api/media';
import { findUnfinishedAmong, listUserGenerations, markGenerationsDeleted, type GenerationRow } from '../generations/generations.repo';
import { toView } from '../generations/generations.service';
import { STORE_PREFIX } from './ingest';
import { heldGenerationsAmong } from '../moderation/holds.repo';

/**
 * My Creations: the user's generations as a library (search, filters, pages) and their deletion.
 * Deleting is immediate for the user (the row is marked, so it leaves every listing and every
 * output route in the same transaction) and for the files (deleted right after the commit, and by a
 * job that retries until the store confirms); the purge job removes the row itself later.
 * A creation under a legal hold (moderation/holds.repo.ts) is hidden the same way, but its row and
 * files stay until the hold ends; the purge then removes both.
 */

export interface CreationsQuery {
  limit: number;
  cursor?: string;
  status?: GenerationRow['status'];
  model?: string;
  from?: string;
  to?: string;
  q?: string;
}

export interface CreationsService {
  list(userId: string, query: CreationsQuery): Promise<GenerationList>;
  /** deletes the user's finished creations among `ids`; unknown (or someone else's) ids are reported, not revealed */
  delete(userId: string, ids: readonly string[]): Promise<DeleteCreationsResult>;
}

export interface CreationsDeps {
  database: Database;
  queue: JobQueue;
  store: ObjectStore;
  logger: Logger;
  /** the time deletions are recorded at, from which the purge counts (default: the system clock) */
  clock?: Pick<Clock, 'now'>;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;

/** The store keys a generation's outputs occupy (only `store:` locations are ours). */
export function storedKeysOf(row: Pick<GenerationRow, 'outputUrl' | 'outputThumbnailUrl' | 'outputPreviewUrl'>): string[] {
  return [row.outputUrl, row.outputThumbnailUrl, row.outputPreviewUrl]
    .filter((u): u is string => !!u?.startsWith(STORE_PREFIX))
    .map((u) => u.slice(STORE_PREFIX.length));
}

function parseDate(value: string, field: 'from' | 'to'): Date {
  // a bare date means the start of that day (from) or the end of it (to), in UTC
  const d = new Date(DATE_ONLY.test(value) ? `${value}T00:00:00Z` : value);
  if (Number.isNaN(d.getTime()))
    throw new AppError('invalid_request', `${field} is not a valid date.`, 400, { fields: [{ field, message: 'is not a valid date' }] });
  if (field === 'to' && DATE_ONLY.test(value)) d.setUTCDate(d.getUTCDate() + 1);
  return d;
}

export function createCreationsService({ database, queue, store, logger, clock = systemClock }: CreationsDeps): CreationsService {
  return {
    async list(userId, query) {
      const from = query.from ? parseDate(query.from, 'from') : undefined;
      const to = query.to ? parseDate(query.to, 'to') : undefined;
      if (from && to && from >= to)
        throw new AppError('invalid_request', 'from must be before to.', 400, { fields: [{ field: 'from', message: 'must be before to' }] });
      const page = await listUserGenerations(database, userId, {
        limit: query.limit,
        ...(query.cursor ? { cursor: query.cursor } : {}),
        ...(query.status ? { status: query.status } : {}),
        ...(query.model ? { model: query.model } : {}),
        ...(from ? { from } : {}),
        ...(to ? { to } : {}),
        ...(query.q ? { q: query.q } : {}),
      });
      if (!page) throw new AppError('invalid_request', 'cursor is not valid.', 400);
      return { items: page.items.map(toView), nextCursor: page.nextCursor };
    },

    async delete(userId, ids) {
      const wanted = [...new Set(ids)];
      const valid = wanted.filter((id) => UUID.test(id)).map((id) => id.toLowerCase());
      const {
        rows,
        deleted: hidden,
        busy,
      } = await database.transaction(async (tx) => {
        const busy = await findUnfinishedAmong(tx, userId, valid);
        if (busy.length) return { rows: [] as GenerationRow[], deleted: [] as GenerationRow[], busy };
        const deleted = await markGenerationsDeleted(tx, userId, valid, clock.now());
        // under a legal hold: hidden from the user like any deletion, but the row and files stay
        // (the purge skips held rows and removes them, files included, once the hold ends)
        const held = await heldGenerationsAmong(
          tx,
          deleted.map((r) => r.id),
          clock.now(),
        );
        const unheld = deleted.filter((r) => !held.has(r.id.toLowerCase()));
        const keys = unheld.flatMap(storedKeysOf);
        if (keys.length) await queue.enqueue(mediaDeleteObjects, { keys }, { tx });
        return { rows: unheld, deleted, busy: [] as string[] };
      });
      if (busy.length) {
        throw new AppError(
          'creation_in_progress',
          busy.length === 1
            ? 'This video is still being made. Cancel it or wait for it to finish, then delete it.'
            : `${busy.length} of these videos are still being made. Cancel them or wait for them to finish, then delete them.`,
          409,
          { extra: { ids: busy } },
        );
      }
      // the files go now; the job above retries if the store is unreachable
      const keys = rows.flatMap(storedKeysOf);
      if (keys.length) await store.deleteMany(keys).catch((err: unknown) => logger.warn({ err }, 'creations: deleting files failed; the job will retry'));
      const deleted = new Set(hidden.map((r) => r.id));
      return { deleted: wanted.filter((id) => deleted.has(id.toLowerCase())), notFound: wanted.filter((id) => !deleted.has(id.toLowerCase())) };
    },
  };
}

/** The single-id form of delete: 404 when it is not the user's (or is gone already). */
export async function deleteOne(service: CreationsService, userId: string, id: string): Promise<void> {
  const result = await service.delete(userId, [id]);
  if (!result.deleted.length) throw notFound('That creation');
}
