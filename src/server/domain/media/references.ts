import { systemClock, type Clock } from '../../adapters/clock';
import type { ProviderReference } from '../../adapters/providers/provider';
import type { ObjectStore } from '../../adapters/storage';
import type { Database } from '../../db/client';
import type { GenerationReference } from '../../../shared/catalog/request-schema';
import { setReferences, type GenerationRow } from '../generations/generations.repo';
import { getUserMediaMany, type MediaRow } from './media.repo';

/**
 * What a provider gets for a task's references: short-lived signed URLs of files in our store.
 *
 * A reference given by URL is first fetched into the user's library (SSRF-safe, size- and
 * time-limited, type decided by content) and the task remembers the media id, so a retried
 * dispatch does not fetch it again; providers never see the user's URL, and nothing they fetch can
 * lead into our network.
 */
export interface ReferenceResolver {
  resolve(task: GenerationRow): Promise<ProviderReference[]>;
}

/** signed reference URLs last this long: providers may queue a task for a while before fetching */
export const REFERENCE_URL_SECONDS = 6 * 3600;

export class ReferenceUnavailable extends Error {}

/** "an image", "a video file", "an audio file" */
export const describeKind = (kind: 'image' | 'video' | 'audio') => ({ image: 'an image', video: 'a video file', audio: 'an audio file' })[kind];

export function createReferenceResolver(deps: {
  database: Database;
  store: ObjectStore;
  /** fetch a URL into the user's library (no per-user rate limit: the submit was already admitted) */
  importUrl: (userId: string, url: string) => Promise<MediaRow>;
  /** the time the task's imported references are recorded at (default: the system clock) */
  clock?: Pick<Clock, 'now'>;
}): ReferenceResolver {
  const { database, store } = deps;
  return {
    async resolve(task) {
      if (!task.references.length) return [];
      let refs: GenerationReference[] = task.references;
      // 1. URL references become media of the user's (once: the ids are written back to the task)
      if (refs.some((r) => !r.mediaId)) {
        const imported: GenerationReference[] = [];
        for (const [i, ref] of refs.entries()) {
          if (ref.mediaId || !ref.url) {
            imported.push(ref);
            continue;
          }
          let row: MediaRow;
          try {
            row = await deps.importUrl(task.userId, ref.url);
          } catch (err) {
            throw new ReferenceUnavailable(`reference ${i + 1} (${ref.url.slice(0, 200)}) could not be used: ${(err as Error).message}`);
          }
          if (row.kind !== ref.kind) throw new ReferenceUnavailable(`reference ${i + 1} is ${describeKind(row.kind)}, not ${describeKind(ref.kind)}`);
          imported.push({
            ...ref,
            mediaId: row.id,
            mimeType: row.contentType,
            sizeBytes: row.sizeBytes,
            ...(row.durationSeconds !== null ? { durationSeconds: row.durationSeconds } : {}),
          });
        }
        await setReferences(database, task.id, imported, (deps.clock ?? systemClock).now());
        refs = imported;
      }
      // 2. every reference is now a file of ours: sign a URL for each
      const ids = refs.flatMap((r) => (r.mediaId ? [r.mediaId] : []));
      const rows = new Map((await getUserMediaMany(database, task.userId, ids)).map((r) => [r.id, r]));
      const out: ProviderReference[] = [];
      for (const [i, ref] of refs.entries()) {
        // (a reference with neither a file nor a URL cannot come through the request schema)
        if (!ref.mediaId) throw new ReferenceUnavailable(`reference ${i + 1} names no file`);
        const row = rows.get(ref.mediaId);
        if (!row) throw new ReferenceUnavailable(`reference ${i + 1} was deleted before the video was made`);
        const url = await store.signedUrl(row.storageKey, { expiresInSeconds: REFERENCE_URL_SECONDS, contentType: row.contentType });
        out.push({ kind: ref.kind, role: ref.role, url, mimeType: row.contentType });
      }
      return out;
    },
  };
}
