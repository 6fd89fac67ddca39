import { and, eq, isNotNull, isNull, or, sql } from 'drizzle-orm';
import type { AnyPgColumn } from 'drizzle-orm/pg-core';
import type { DbHandle } from '../../db/client';
import { accounts } from '../../db/schema';

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
    .where(and(eq(accounts.id, before.id), same(accounts.accessToken, before.accessToken), same(accounts.refreshToken, before.refreshToken), same(accounts.idToken, before.idToken)))
    .returning({ id: accounts.id });
  return rows.length === 1;
}
