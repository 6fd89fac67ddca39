import type { DbHandle } from '../../db/client';
import { AppError } from '../../errors';
import { hasPendingDeletion } from './account-deletion.repo';

/** New videos (web, API, OpenAI-compatible API) are refused while the account waits for, or undergoes, its deletion. */
export async function refuseIfDeletionPending(db: DbHandle, userId: string): Promise<void> {
  if (await hasPendingDeletion(db, userId)) {
    throw new AppError(
      'account_deletion_scheduled',
      'Your account is scheduled for deletion, so no new videos can be made. Cancel the deletion on your account page to keep using it.',
      409,
    );
  }
}
