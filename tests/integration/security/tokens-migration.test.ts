import fs from 'node:fs';
import path from 'node:path';
import { symmetricDecrypt } from 'better-auth/crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIGRATIONS_DIR } from '../../../src/server/db/migrate';
import { createOAuthTokenService, encryptPlaintextOAuthTokens, looksEncrypted } from '../../../src/server/domain/auth/oauth-tokens';
import { hashSessionToken } from '../../../src/server/domain/auth/session-token-hashing';
import { createTestDatabase, type TestDatabase } from '../../helpers/db';

// Issue 14, tokens at rest: rows written before the change are converted, not lost.

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
// undefined when createTestDatabase failed: that failure is the one to report
afterAll(() => (db as TestDatabase | undefined)?.drop());

async function user(email: string): Promise<string> {
  const [u] = await db.sql.query<{ id: string }>(`insert into users (email, name) values ($1, 'Legacy') returning id`, [email]);
  return u!.id;
}

describe('tokens written before encryption at rest', () => {
  it('the migration hashes session tokens exactly as the server does, so old cookies keep working', async () => {
    const userId = await user('legacy-session@example.com');
    const token = 'Zx9LegacyPlainSessionToken000042';
    await db.sql.query(`insert into sessions (id, user_id, token, expires_at) values ('legacy-s1', $1, $2, now() + interval '1 day')`, [userId, token]);
    await db.sql.query(
      `insert into verifications (id, identifier, value, expires_at) values ('legacy-v1', 'reset-password:LegacyResetToken0001', $1, now() + interval '1 hour')`,
      [userId],
    );
    await db.sql.query(
      `insert into verifications (id, identifier, value, expires_at) values ('legacy-v2', 'change-email:${'ab'.repeat(32)}', '{}', now() + interval '1 hour')`,
    );
    const sql = fs.readFileSync(path.join(MIGRATIONS_DIR, '0007_tokens_at_rest.sql'), 'utf8');
    for (const statement of sql.split('--> statement-breakpoint')) await db.sql.exec(statement);
    const [s] = await db.sql.query<{ token: string }>(`select token from sessions where id = 'legacy-s1'`);
    expect(s!.token).toBe(hashSessionToken(token));
    const [v] = await db.sql.query<{ identifier: string }>(`select identifier from verifications where id = 'legacy-v1'`);
    // Better Auth's own hashed identifier: base64url(SHA-256(identifier)), unpadded
    const { createHash } = await import('node:crypto');
    expect(v!.identifier).toBe(createHash('sha256').update('reset-password:LegacyResetToken0001').digest('base64url'));
    // our email-change rows already held a hash and are left alone; a second run changes nothing
    const [ce] = await db.sql.query<{ identifier: string }>(`select identifier from verifications where id = 'legacy-v2'`);
    expect(ce!.identifier).toBe(`change-email:${'ab'.repeat(32)}`);
    for (const statement of sql.split('--> statement-breakpoint')) await db.sql.exec(statement);
    expect((await db.sql.query<{ token: string }>(`select token from sessions where id = 'legacy-s1'`))[0]!.token).toBe(hashSessionToken(token));
    expect((await db.sql.query<{ identifier: string }>(`select identifier from verifications where id = 'legacy-v1'`))[0]!.identifier).toBe(v!.identifier);
  });

  it('start-up encrypts OAuth tokens stored in plaintext, once, and they open with the secret', async () => {
    const secret = 'legacy-test-secret-that-is-long-enough-01';
    const userId = await user('legacy-google@example.com');
    const plain = { access: 'ya29.a0AfH6SMBlegacyAccessToken', refresh: '1//0gLegacyRefreshToken', id: 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln' };
    await db.sql.query(
      `insert into accounts (user_id, provider_id, account_id, access_token, refresh_token, id_token) values ($1, 'google', '9001', $2, $3, $4)`,
      [userId, plain.access, plain.refresh, plain.id],
    );
    expect(await encryptPlaintextOAuthTokens(db, secret)).toBe(1);
    const [row] = await db.sql.query<{ access_token: string; refresh_token: string; id_token: string }>(
      `select access_token, refresh_token, id_token from accounts where user_id = $1`,
      [userId],
    );
    for (const v of Object.values(row!)) expect(looksEncrypted(v)).toBe(true);
    expect(await symmetricDecrypt({ key: secret, data: row!.access_token })).toBe(plain.access);
    expect(await symmetricDecrypt({ key: secret, data: row!.refresh_token })).toBe(plain.refresh);
    expect(await symmetricDecrypt({ key: secret, data: row!.id_token })).toBe(plain.id);
    // nothing left to do the second time
    expect(await encryptPlaintextOAuthTokens(db, secret)).toBe(0);
  });

  it('secrets:reseal moves tokens sealed with a previous SESSION_SECRET to the current one', async () => {
    const oldSecret = 'the-previous-session-secret-0000000000001';
    const newSecret = 'the-current-session-secret-00000000000002';
    await db.sql.query(`delete from accounts`); // only this test's account from here on
    const userId = await user('reseal-google@example.com');
    await db.sql.query(`insert into accounts (user_id, provider_id, account_id, access_token) values ($1, 'google', '9002', $2)`, [userId, 'ya29.reseal-me']);
    await encryptPlaintextOAuthTokens(db, oldSecret);
    const service = createOAuthTokenService({ database: db, config: { SESSION_SECRET: newSecret, SESSION_SECRET_PREVIOUS: [oldSecret] } });
    const r = await service.reseal();
    expect(r.resealed).toBeGreaterThanOrEqual(1);
    expect(r.unreadable).toBe(0);
    const [row] = await db.sql.query<{ access_token: string }>(`select access_token from accounts where user_id = $1`, [userId]);
    expect(await symmetricDecrypt({ key: newSecret, data: row!.access_token })).toBe('ya29.reseal-me');
    // without the previous secret, what the old one sealed is reported, not destroyed
    const lost = await createOAuthTokenService({ database: db, config: { SESSION_SECRET: 'a-third-secret-nobody-used-000000000000003' } }).reseal();
    expect(lost.unreadable).toBeGreaterThanOrEqual(1);
    expect((await db.sql.query<{ access_token: string }>(`select access_token from accounts where user_id = $1`, [userId]))[0]!.access_token).toBe(
      row!.access_token,
    );
  });
});
