import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import { systemClock, type Clock } from '../../adapters/clock';
import { isObjectNotFound, objectKey, type ObjectStore } from '../../adapters/storage';
import type { Database, DbHandle } from '../../db/client';
import { webhooksFanOut } from '../../jobs/names';
import type { JobQueue } from '../../jobs/queue';
import { failureMessages } from '../generations/messages';
import { getGeneration, notifyChange, transition, type GenerationRow } from '../generations/generations.repo';
import { STORE_PREFIX } from '../media/ingest';
import { getCase } from './cases.repo';
import { anyActiveHold, moveEvidence, QUARANTINE_PREFIX, quarantinedEvidence, type QuarantinedEvidence } from './quarantine.repo';

/**
 * The quarantine area of the object store (`quarantine/<caseId>/<file>`): flagged outputs and
 * refused references, kept as a case's evidence. No user route, signed URL or file route serves
 * these keys; only the moderators' evidence route does.
 *
 * - `release(caseId)` (a moderator's allow): the case's quarantined outputs go back to their
 *   `generations/...` keys and their generations from `under_review` to `succeeded` (the
 *   notification and the `video.completed` webhook follow, as for any success).
 * - `remove(caseId)` (remove, remove with a strike): the generations become `blocked` with failure
 *   code `content_removed`, not refunded (privacy policy 9: the provider made the video, the
 *   violation is confirmed), and the quarantined files are deleted, unless an active legal hold
 *   covers the user, the case or the generation.
 * Both are idempotent: a second call finds nothing left to do.
 */

export interface Quarantine {
  release(caseId: string): Promise<void>;
  remove(caseId: string): Promise<void>;
}

export interface QuarantineDeps {
  database: Database;
  store: ObjectStore;
  queue: JobQueue;
  logger: Logger;
  clock?: Pick<Clock, 'now'>;
}

/** the evidence inputs of a generation's output files, and where each lives on the row */
export const outputFiles = [
  { input: 'output', column: 'outputUrl' },
  { input: 'thumbnail', column: 'outputThumbnailUrl' },
  { input: 'preview', column: 'outputPreviewUrl' },
] as const;

/** the store key of a `store:` location on a generation row, or null */
export function storedKey(row: Pick<GenerationRow, 'outputUrl' | 'outputThumbnailUrl' | 'outputPreviewUrl'>, column: (typeof outputFiles)[number]['column']) {
  const location = row[column];
  return location?.startsWith(STORE_PREFIX) ? location.slice(STORE_PREFIX.length) : null;
}

/** A fresh key in the case's folder, keeping the file's extension. */
export function quarantineKey(caseId: string, from: string): string {
  const ext = /\.([a-z0-9]{1,5})$/.exec(from)?.[1];
  return objectKey('quarantine', caseId.toLowerCase(), `${randomUUID()}${ext ? `.${ext}` : ''}`);
}

/** Copies one object (streamed) to another key; false when the source is gone. */
export async function copyObject(store: ObjectStore, from: string, to: string): Promise<boolean> {
  let got: { body: Readable; size: number; contentType: string };
  try {
    got = await store.get(from);
  } catch (err) {
    if (isObjectNotFound(err)) return false;
    throw err;
  }
  await store.put(to, got.body, { contentType: got.contentType, contentLength: got.size });
  return true;
}

export function createQuarantine(deps: QuarantineDeps): Quarantine {
  const { database, store, queue, logger } = deps;
  const clock = deps.clock ?? systemClock;

  /** the case's quarantined files, grouped by the generation they came from */
  function byGeneration(files: QuarantinedEvidence[]): Map<string, QuarantinedEvidence[]> {
    const out = new Map<string, QuarantinedEvidence[]>();
    for (const f of files) {
      if (!f.generationId || !outputFiles.some((o) => o.input === f.input)) continue;
      out.set(f.generationId, [...(out.get(f.generationId) ?? []), f]);
    }
    return out;
  }

  async function settleGeneration(tx: DbHandle, row: GenerationRow) {
    await notifyChange(tx, row);
    await queue.enqueue(webhooksFanOut, { generationId: row.id }, { tx });
  }

  return {
    async release(caseId) {
      const files = await quarantinedEvidence(database, caseId);
      for (const [generationId, evidence] of byGeneration(files)) {
        const g = await getGeneration(database, generationId);
        if (!g || g.status !== 'under_review') continue;
        const moves: { id: string; storageKey: string; from: string }[] = [];
        for (const e of evidence) {
          const column = outputFiles.find((o) => o.input === e.input)?.column;
          const target = column ? storedKey(g, column) : null;
          if (!target) continue;
          // a copy that finds its source gone was made by an earlier, interrupted release
          const copied = await copyObject(store, e.storageKey, target);
          if (!copied) await store.head(target);
          moves.push({ id: e.id, storageKey: target, from: e.storageKey });
        }
        const released = await database.transaction(async (tx) => {
          const row = await transition(tx, g.id, ['under_review'], 'succeeded', {}, clock.now());
          if (!row) return false;
          await moveEvidence(tx, moves);
          await settleGeneration(tx, row);
          return true;
        });
        if (released) {
          await store
            .deleteMany(moves.map((m) => m.from))
            .catch((err: unknown) => logger.warn({ err, caseId }, 'moderation: released files stay in quarantine too; remove them by hand'));
        }
      }
    },

    async remove(caseId) {
      const c = await getCase(database, caseId);
      if (!c) return;
      const files = await quarantinedEvidence(database, caseId);
      const generationIds = new Set([...(c.generationId ? [c.generationId] : []), ...byGeneration(files).keys()]);
      for (const id of generationIds) {
        await database.transaction(async (tx) => {
          const row = await transition(
            tx,
            id,
            ['under_review'],
            'blocked',
            { failureCode: 'content_removed', failureMessage: failureMessages.content_removed, refunded: false },
            clock.now(),
          );
          if (row) await settleGeneration(tx, row);
        });
      }
      if (!files.length) return;
      const subjects = [
        { kind: 'case' as const, id: caseId },
        ...(c.userId ? [{ kind: 'user' as const, id: c.userId }] : []),
        ...[...generationIds].map((id) => ({ kind: 'generation' as const, id })),
        ...(c.mediaId ? [{ kind: 'media' as const, id: c.mediaId }] : []),
      ];
      if (await anyActiveHold(database, subjects, clock.now())) {
        logger.info({ caseId }, 'moderation: removed material stays in quarantine under a legal hold');
        return;
      }
      await store.deleteMany(files.map((f) => f.storageKey));
      await moveEvidence(
        database,
        files.map((f) => ({ id: f.id, storageKey: null })),
      );
    },
  };
}

export { QUARANTINE_PREFIX };
