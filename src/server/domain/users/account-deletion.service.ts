import type { Logger } from 'pino';
import { systemClock, type Clock } from '../../adapters/clock';
import type { Database } from '../../db/client';
import { notFound } from '../../errors';
import { mediaDeleteObjects } from '../../jobs/names';
import type { JobQueue } from '../../jobs/queue';
import { storedKeysOf } from '../media/creations.service';
import { heldGenerationsAmong, heldMediaAmong, heldUsersAmong } from '../moderation/holds.repo';
import {
  accountsPendingDeletion,
  closeHeldAccount,
  deleteGenerationRows,
  deleteMediaRows,
  deleteUserRow,
  generationsOf,
  lockUserForDeletion,
  mediaOf,
} from './account-deletion.repo';

/**
 * Deleting an account at an operator's request (privacy policy 6: data reported as a child's; the
 * self-service deletion of the data-rights issue builds on this). One transaction removes the
 * account's generations and references (their files through the `media.delete-objects` job, enqueued
 * in the same transaction) and then the account itself, whose sign-in accounts, sessions, credit
 * ledger, API keys and devices go with it by cascade; orders keep their record without the link
 * (tax law). What a legal hold covers stays: a held generation or reference keeps its row and
 * files, a hold on the user keeps everything, and the account is then closed instead (terminated,
 * signed out, `deletion_requested_at` set) until `finishPending` finds its holds ended.
 */

export interface AccountDeletionResult {
  userId: string;
  /** `deleted`: nothing is left; `closed`: a legal hold keeps what is counted in `kept` */
  outcome: 'deleted' | 'closed';
  removed: { generations: number; media: number };
  kept: { generations: number; media: number };
}

export interface AccountDeletionService {
  deleteAccount(userId: string, by: { actorId: string | null; reason: string }): Promise<AccountDeletionResult>;
  /** the closed accounts whose holds have ended since: deleted now (run by the daily media purge) */
  finishPending(): Promise<number>;
}

export function createAccountDeletionService(deps: {
  database: Database;
  queue: JobQueue;
  logger: Logger;
  clock?: Pick<Clock, 'now'>;
}): AccountDeletionService {
  const { database, queue, logger } = deps;
  const clock = deps.clock ?? systemClock;

  async function deleteAccount(userId: string, by: { actorId: string | null; reason: string }): Promise<AccountDeletionResult> {
    const result = await database.transaction(async (tx): Promise<AccountDeletionResult> => {
      const user = await lockUserForDeletion(tx, userId);
      if (!user) throw notFound('That user');
      const now = clock.now();
      const gens = await generationsOf(tx, userId);
      const refs = await mediaOf(tx, userId);
      const userHeld = (await heldUsersAmong(tx, [userId], now)).has(userId);
      const heldGens = userHeld
        ? new Set(gens.map((g) => g.id))
        : await heldGenerationsAmong(
            tx,
            gens.map((g) => g.id),
            now,
          );
      const heldRefs = userHeld
        ? new Set(refs.map((m) => m.id))
        : await heldMediaAmong(
            tx,
            refs.map((m) => m.id),
            now,
          );
      const goneGens = gens.filter((g) => !heldGens.has(g.id));
      const goneRefs = refs.filter((m) => !heldRefs.has(m.id));
      await deleteGenerationRows(
        tx,
        userId,
        goneGens.map((g) => g.id),
      );
      await deleteMediaRows(
        tx,
        userId,
        goneRefs.map((m) => m.id),
      );
      const keys = [...goneGens.flatMap(storedKeysOf), ...goneRefs.flatMap((m) => [m.storageKey, ...(m.previewKey ? [m.previewKey] : [])])];
      for (let i = 0; i < keys.length; i += 1000) await queue.enqueue(mediaDeleteObjects, { keys: keys.slice(i, i + 1000) }, { tx });
      const kept = { generations: heldGens.size, media: heldRefs.size };
      const removed = { generations: goneGens.length, media: goneRefs.length };
      if (userHeld || kept.generations || kept.media) {
        await closeHeldAccount(tx, userId, 'This account was deleted. Some of its data is kept under a legal hold until the hold ends.', now);
        return { userId, outcome: 'closed', removed, kept };
      }
      await deleteUserRow(tx, userId);
      return { userId, outcome: 'deleted', removed, kept };
    });
    logger.info({ ...result, actorId: by.actorId, reason: by.reason }, 'account deleted at an operator request');
    return result;
  }

  return {
    deleteAccount,
    async finishPending() {
      let finished = 0;
      for (const id of await accountsPendingDeletion(database, 500)) {
        const r = await deleteAccount(id, { actorId: null, reason: 'legal hold ended' });
        if (r.outcome === 'deleted') finished += 1;
      }
      return finished;
    },
  };
}
