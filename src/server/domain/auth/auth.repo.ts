import { and, eq, isNotNull, isNull, or } from 'drizzle-orm';
import type { AnyPgColumn } from 'drizzle-orm/pg-core';
import type { DbHandle } from '../../db/client';
import { accounts } from '../../db/schema';

export type OAuthTokenRow = Pick<typeof accounts.$inferSelect, 'id' | 'accessToken' | 'refreshToken' | 'idToken'>;

/** Accounts of an OAuth provider (not the password account) that hold any token. */
export async function listOAuthTokenRows(db: DbHandle): Promise<OAuthTokenRow[]> {
  return db.db
    .select({ id: accounts.id, accessToken: accounts.accessToken, refreshToken: accounts.refreshToken, idToken: accounts.idToken })
    .from(accounts)
    .where(or(isNotNull(accounts.accessToken), isNotNull(accounts.refreshToken), isNotNull(accounts.idToken)));
}

/** Replaces one account's tokens, only while they are still the values that were read. */
export async function replaceOAuthTokens(db: DbHandle, before: OAuthTokenRow, after: Omit<OAuthTokenRow, 'id'>): Promise<boolean> {
  const same = (col: AnyPgColumn, v: string | null) => (v === null ? isNull(col) : eq(col, v));
  const rows = await db.db
    .update(accounts)
    .set({ accessToken: after.accessToken, refreshToken: after.refreshToken, idToken: after.idToken, updatedAt: new Date() })
    .where(and(eq(accounts.id, before.id), same(accounts.accessToken, before.accessToken), same(accounts.refreshToken, before.refreshToken), same(accounts.idToken, before.idToken)))
    .returning({ id: accounts.id });
  return rows.length === 1;
}
