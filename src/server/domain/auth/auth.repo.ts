import { and, desc, eq, isNotNull, isNull, lt, ne, or, sql } from 'drizzle-orm';
import type { AnyPgColumn } from 'drizzle-orm/pg-core';
import type { DbHandle } from '../../db/client';
import { accounts, sessions, verifications } from '../../db/schema';

export type OAuthTokenRow = Pick<typeof accounts.$inferSelect, 'id' | 'accessToken' | 'refreshToken' | 'idToken'>;

/** A token not in Better Auth's encrypted form (a `$ba$` envelope or even-length hex): see oauth-tokens.ts. */
const plaintext = (col: AnyPgColumn) => sql`(${col} is not null and not (${col} like '$ba$%' or (length(${col}) % 2 = 0 and ${col} ~ '^[0-9a-fA-F]+$')))`;

/**
 * Accounts of an OAuth provider (not the password account) that hold any token; with
 * `plaintextOnly`, only those holding a token that is not encrypted (start-up asks this on every
 * start, so it must not read every account).
 */
export async function listOAuthTokenRows(db: DbHandle, opts: { plaintextOnly?: boolean } = {}): Promise<OAuthTokenRow[]> {
  return db.db
    .select({ id: accounts.id, accessToken: accounts.accessToken, refreshToken: accounts.refreshToken, idToken: accounts.idToken })
    .from(accounts)
    .where(
      opts.plaintextOnly
        ? or(plaintext(accounts.accessToken), plaintext(accounts.refreshToken), plaintext(accounts.idToken))
        : or(isNotNull(accounts.accessToken), isNotNull(accounts.refreshToken), isNotNull(accounts.idToken)),
    );
}

/** Replaces one account's tokens, only while they are still the values that were read. */
export async function replaceOAuthTokens(db: DbHandle, before: OAuthTokenRow, after: Omit<OAuthTokenRow, 'id'>): Promise<boolean> {
  const same = (col: AnyPgColumn, v: string | null) => (v === null ? isNull(col) : eq(col, v));
  const rows = await db.db
    .update(accounts)
    .set({ accessToken: after.accessToken, refreshToken: after.refreshToken, idToken: after.idToken, updatedAt: new Date() })
    .where(
      and(
        eq(accounts.id, before.id),
        same(accounts.accessToken, before.accessToken),
        same(accounts.refreshToken, before.refreshToken),
        same(accounts.idToken, before.idToken),
      ),
    )
    .returning({ id: accounts.id });
  return rows.length === 1;
}

export type SessionRow = typeof sessions.$inferSelect;
export type SessionDeviceRow = Pick<SessionRow, 'id' | 'deviceType' | 'browser' | 'os' | 'region' | 'ipAddress' | 'createdAt' | 'lastSeenAt'>;

/** A user's sessions that have not expired, most recently used first. */
export async function listActiveSessions(db: DbHandle, userId: string): Promise<SessionDeviceRow[]> {
  return db.db
    .select({
      id: sessions.id,
      deviceType: sessions.deviceType,
      browser: sessions.browser,
      os: sessions.os,
      region: sessions.region,
      ipAddress: sessions.ipAddress,
      createdAt: sessions.createdAt,
      lastSeenAt: sessions.lastSeenAt,
    })
    .from(sessions)
    .where(and(eq(sessions.userId, userId), sql`${sessions.expiresAt} > now()`))
    .orderBy(desc(sessions.lastSeenAt));
}

export async function deleteSession(db: DbHandle, sessionId: string): Promise<void> {
  await db.db.delete(sessions).where(eq(sessions.id, sessionId));
}

/** Deletes one session if it is the user's; false when it is not (or no longer exists). */
export async function deleteUserSession(db: DbHandle, userId: string, sessionId: string): Promise<boolean> {
  const rows = await db.db
    .delete(sessions)
    .where(and(eq(sessions.id, sessionId), eq(sessions.userId, userId)))
    .returning({ id: sessions.id });
  return rows.length > 0;
}

/** Deletes every session of the user but `keepSessionId` (all of them when it is null); returns how many. */
export async function deleteUserSessions(db: DbHandle, userId: string, keepSessionId: string | null = null): Promise<number> {
  const rows = await db.db
    .delete(sessions)
    .where(keepSessionId === null ? eq(sessions.userId, userId) : and(eq(sessions.userId, userId), ne(sessions.id, keepSessionId)))
    .returning({ id: sessions.id });
  return rows.length;
}

/** Marks a session as used now; throttled to one write a minute per session. */
export async function touchSession(db: DbHandle, sessionId: string, now: Date): Promise<void> {
  await db.db
    .update(sessions)
    .set({ lastSeenAt: now })
    .where(and(eq(sessions.id, sessionId), lt(sessions.lastSeenAt, new Date(now.getTime() - 60_000))));
}

/** Sessions past their expiry (the maintenance.cleanup job); returns how many were deleted. */
export async function deleteExpiredSessions(db: DbHandle): Promise<number> {
  const rows = await db.db
    .delete(sessions)
    .where(sql`${sessions.expiresAt} < now()`)
    .returning({ id: sessions.id });
  return rows.length;
}

/** One-time tokens (verification, reset, OAuth state) past their expiry (the maintenance.cleanup job); returns how many were deleted. */
export async function deleteExpiredVerifications(db: DbHandle): Promise<number> {
  const rows = await db.db
    .delete(verifications)
    .where(sql`${verifications.expiresAt} < now()`)
    .returning({ id: verifications.id });
  return rows.length;
}
