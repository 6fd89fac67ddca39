import { and, eq, inArray, isNotNull } from 'drizzle-orm';
import type { DbHandle } from '../../db/client';
import { generations, media, users } from '../../db/schema';
import { deleteUserSessions } from '../auth/auth.repo';

/** SQL for deleting an account (account-deletion.service.ts). */

export interface DeletableUser {
  id: string;
  email: string;
  status: string;
}

/** The user row, locked for the rest of the transaction, or null. */
export async function lockUserForDeletion(tx: DbHandle, userId: string): Promise<DeletableUser | null> {
  const [row] = await tx.db.select({ id: users.id, email: users.email, status: users.status }).from(users).where(eq(users.id, userId)).for('update');
  return row ?? null;
}

export type OwnedGeneration = Pick<typeof generations.$inferSelect, 'id' | 'outputUrl' | 'outputThumbnailUrl' | 'outputPreviewUrl'>;
export type OwnedMedia = Pick<typeof media.$inferSelect, 'id' | 'storageKey' | 'previewKey'>;

/** Every generation of the user, deleted ones included (their rows wait for the purge). */
export async function generationsOf(tx: DbHandle, userId: string): Promise<OwnedGeneration[]> {
  return tx.db
    .select({
      id: generations.id,
      outputUrl: generations.outputUrl,
      outputThumbnailUrl: generations.outputThumbnailUrl,
      outputPreviewUrl: generations.outputPreviewUrl,
    })
    .from(generations)
    .where(eq(generations.userId, userId));
}

export async function mediaOf(tx: DbHandle, userId: string): Promise<OwnedMedia[]> {
  return tx.db.select({ id: media.id, storageKey: media.storageKey, previewKey: media.previewKey }).from(media).where(eq(media.userId, userId));
}

export async function deleteGenerationRows(tx: DbHandle, userId: string, ids: readonly string[]): Promise<void> {
  if (ids.length) await tx.db.delete(generations).where(and(eq(generations.userId, userId), inArray(generations.id, [...ids])));
}

export async function deleteMediaRows(tx: DbHandle, userId: string, ids: readonly string[]): Promise<void> {
  if (ids.length) await tx.db.delete(media).where(and(eq(media.userId, userId), inArray(media.id, [...ids])));
}

/** The account row and, by cascade, its sign-in accounts, sessions, ledger, keys and devices (orders keep their record, unlinked). */
export async function deleteUserRow(tx: DbHandle, userId: string): Promise<void> {
  await tx.db.delete(users).where(eq(users.id, userId));
}

/** What a hold keeps stays; the account is closed: terminated, signed out, marked to finish deleting later. */
export async function closeHeldAccount(tx: DbHandle, userId: string, reason: string, now: Date): Promise<void> {
  await tx.db.update(users).set({ status: 'terminated', statusReason: reason, deletionRequestedAt: now, updatedAt: now }).where(eq(users.id, userId));
  await deleteUserSessions(tx, userId);
}

/** Accounts whose deletion waits for a legal hold to end. */
export async function accountsPendingDeletion(db: DbHandle, limit: number): Promise<string[]> {
  const rows = await db.db.select({ id: users.id }).from(users).where(isNotNull(users.deletionRequestedAt)).orderBy(users.deletionRequestedAt).limit(limit);
  return rows.map((r) => r.id);
}
