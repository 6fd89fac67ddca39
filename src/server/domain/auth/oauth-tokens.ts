import { symmetricDecrypt, symmetricEncrypt } from 'better-auth/crypto';
import type { DbHandle } from '../../db/client';
import { listOAuthTokenRows, replaceOAuthTokens, type OAuthTokenRow } from './auth.repo';

/**
 * Better Auth (with `encryptOAuthTokens`) encrypts a provider's access, refresh and id tokens with
 * the auth secret as it stores them: XChaCha20-Poly1305, written as hex (or a `$ba$` envelope).
 * This is its own test of "already encrypted"; anything else is a plaintext token.
 */
export function looksEncrypted(token: string): boolean {
  return token.startsWith('$ba$') || (token.length % 2 === 0 && /^[0-9a-f]+$/i.test(token));
}

/**
 * Encrypts the OAuth tokens of accounts stored before encryption was turned on (run at start-up;
 * cheap when there is nothing to do). Returns how many accounts it changed.
 */
export async function encryptPlaintextOAuthTokens(db: DbHandle, secret: string): Promise<number> {
  let changed = 0;
  const seal = async (v: string | null) => (v && !looksEncrypted(v) ? symmetricEncrypt({ key: secret, data: v }) : v);
  for (const row of await listOAuthTokenRows(db, { plaintextOnly: true })) {
    const after = { accessToken: await seal(row.accessToken), refreshToken: await seal(row.refreshToken), idToken: await seal(row.idToken) };
    if (after.accessToken === row.accessToken && after.refreshToken === row.refreshToken && after.idToken === row.idToken) continue;
    if (await replaceOAuthTokens(db, row, after)) changed++;
  }
  return changed;
}

export interface OAuthTokenService {
  /** after a SESSION_SECRET rotation: tokens sealed with a previous secret are sealed again with the current one */
  reseal(): Promise<{ checked: number; resealed: number; unreadable: number }>;
}

export function createOAuthTokenService(deps: {
  database: DbHandle;
  config: { SESSION_SECRET: string; SESSION_SECRET_PREVIOUS?: readonly string[] | undefined };
}): OAuthTokenService {
  const { database, config } = deps;
  const opens = async (key: string, data: string) => {
    try {
      return await symmetricDecrypt({ key, data });
    } catch {
      return null;
    }
  };
  return {
    async reseal() {
      let checked = 0;
      let resealed = 0;
      let unreadable = 0;
      for (const row of await listOAuthTokenRows(database)) {
        checked++;
        let changed = false;
        let lost = false;
        const next: Omit<OAuthTokenRow, 'id'> = { accessToken: row.accessToken, refreshToken: row.refreshToken, idToken: row.idToken };
        for (const field of ['accessToken', 'refreshToken', 'idToken'] as const) {
          const v = row[field];
          if (!v || !looksEncrypted(v) || (await opens(config.SESSION_SECRET, v)) !== null) continue;
          let plain: string | null = null;
          for (const old of config.SESSION_SECRET_PREVIOUS ?? []) if (plain === null) plain = await opens(old, v);
          if (plain === null) {
            lost = true;
            continue;
          }
          next[field] = await symmetricEncrypt({ key: config.SESSION_SECRET, data: plain });
          changed = true;
        }
        if (lost) unreadable++;
        if (changed && (await replaceOAuthTokens(database, row, next))) resealed++;
      }
      return { checked, resealed, unreadable };
    },
  };
}
