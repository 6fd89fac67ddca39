import { eq } from 'drizzle-orm';
import type { DbHandle } from '../../db/client';
import { sessions } from '../../db/schema';

/** SQL for the console's re-authentication (issue 18). */

export async function markReauthenticated(db: DbHandle, sessionId: string, at: Date): Promise<void> {
  await db.db.update(sessions).set({ reauthenticatedAt: at }).where(eq(sessions.id, sessionId));
}

export async function reauthenticatedAt(db: DbHandle, sessionId: string): Promise<Date | null> {
  const [row] = await db.db.select({ at: sessions.reauthenticatedAt }).from(sessions).where(eq(sessions.id, sessionId));
  return row?.at ?? null;
}
