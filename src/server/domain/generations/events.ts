import type { Logger } from 'pino';
import type { Database } from '../../db/client';
import type { GenerationView } from '../../../shared/api/generations';
import { getGeneration, type GenerationRow } from './generations.repo';

/**
 * Live updates for Server-Sent Events: every task change is a NOTIFY on `generation_events`
 * (sent in the same transaction, so only committed changes are announced, from any process);
 * each web process LISTENs once and forwards the fresh task view to that user's open streams.
 */
export type GenerationListener = (view: GenerationView) => void;

export interface GenerationEvents {
  subscribe(userId: string, listener: GenerationListener): Promise<() => void>;
  close(): Promise<void>;
}

export function createGenerationEvents(database: Database, toView: (row: GenerationRow) => GenerationView, logger: Logger): GenerationEvents {
  const byUser = new Map<string, Set<GenerationListener>>();
  let unlisten: Promise<() => Promise<void>> | null = null;

  const onPayload = (payload: string) => {
    let msg: { id?: string; userId?: string };
    try {
      msg = JSON.parse(payload) as typeof msg;
    } catch {
      return;
    }
    const listeners = msg.userId ? byUser.get(msg.userId) : undefined;
    if (!listeners?.size || !msg.id) return;
    getGeneration(database, msg.id).then(
      (row) => {
        if (!row || row.userId !== msg.userId || row.deletedAt) return;
        const view = toView(row);
        for (const l of listeners) l(view);
      },
      (err: unknown) => logger.warn({ err }, 'generation events: could not load a task'),
    );
  };

  return {
    async subscribe(userId, listener) {
      unlisten ??= database.listen('generation_events', onPayload);
      await unlisten;
      const set = byUser.get(userId) ?? new Set();
      set.add(listener);
      byUser.set(userId, set);
      return () => {
        set.delete(listener);
        if (set.size === 0) byUser.delete(userId);
      };
    },
    async close() {
      byUser.clear();
      const stop = await unlisten?.catch(() => null);
      unlisten = null;
      await stop?.();
    },
  };
}
