import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCommand } from '../../src/server/cli/commands';
import type { Services } from '../../src/server/context';
import { createUsersService } from '../../src/server/domain/users/users.service';
import { verifyPassword } from '../../src/server/domain/users/password';
import { AppError } from '../../src/server/errors';
import { createTestDatabase, type TestDatabase } from '../helpers/db';

let db: TestDatabase;
let users: ReturnType<typeof createUsersService>;
beforeAll(async () => {
  db = await createTestDatabase();
  users = createUsersService({ database: db });
});
// undefined when createTestDatabase failed: that failure is the one to report
afterAll(() => (db as TestDatabase | undefined)?.drop());

describe('creating users', () => {
  it('stores only a salted hash of the password, different for two users with the same password', async () => {
    const a = await users.create({ email: 'ann@example.com', password: 'same password 1' });
    const b = await users.create({ email: 'bob@example.com', password: 'same password 1' });
    const rows = await db.sql.query<{ user_id: string; password: string; provider_id: string }>(
      'select user_id, password, provider_id from accounts where user_id = any($1) order by user_id',
      [[a.id, b.id]],
    );
    expect(rows).toHaveLength(2);
    for (const r of rows) {
      expect(r.provider_id).toBe('credential');
      expect(r.password).not.toContain('same password');
      expect(await verifyPassword('same password 1', r.password)).toBe(true);
    }
    expect(rows[0]!.password).not.toBe(rows[1]!.password);
  });

  it('refuses a second account for the same email, whatever its case', async () => {
    await users.create({ email: 'Case@Example.com', password: 'long enough' });
    await expect(users.create({ email: 'case@example.COM', password: 'long enough' })).rejects.toMatchObject({ code: 'email_taken', status: 409 });
  });

  it('validates input with a message naming the field', async () => {
    await expect(users.create({ email: 'not-an-email', password: 'long enough' })).rejects.toThrow(/^email must be a valid email address$/);
    await expect(users.create({ email: 'short@example.com', password: 'short' })).rejects.toMatchObject({ code: 'password_too_short', status: 400 });
    await expect(users.create({ email: 'long@example.com', password: 'x'.repeat(129) })).rejects.toMatchObject({ code: 'password_too_long', status: 400 });
    await expect(users.create({ email: 'long@example.com', password: 'x'.repeat(129) })).rejects.toBeInstanceOf(AppError);
    const rows = await db.sql.query(`select 1 from users where email in ('short@example.com', 'long@example.com')`);
    expect(rows).toHaveLength(0);
  });

  it('grants starting credits through the ledger, in the same transaction as the user', async () => {
    const u = await users.create({ email: 'rich@example.com', password: 'long enough', role: 'admin', credits: 250 });
    expect(u).toMatchObject({ role: 'admin', credits: 250, status: 'active' });
    const ledger = await db.sql.query<{ kind: string; amount: string | number; balance_after: string | number }>(
      'select kind, amount, balance_after from credit_ledger where user_id = $1',
      [u.id],
    );
    expect(ledger.map((l) => ({ ...l, amount: Number(l.amount), balance_after: Number(l.balance_after) }))).toEqual([
      { kind: 'grant', amount: 250, balance_after: 250 },
    ]);
    const listed = (await users.list()).find((x) => x.id === u.id);
    expect(listed).toMatchObject({ email: 'rich@example.com', role: 'admin', credits: 250 });
  });

  it('leaves nothing behind when part of the creation fails', async () => {
    // an email that is taken makes the insert fail: no account row, no balance row appear
    const before = await db.sql.query<{ n: number }>('select count(*)::int as n from accounts');
    await expect(users.create({ email: 'ANN@example.com', password: 'long enough', credits: 5 })).rejects.toThrow();
    const after = await db.sql.query<{ n: number }>('select count(*)::int as n from accounts');
    expect(after[0]!.n).toBe(before[0]!.n);
  });

  it('applies the one password policy: breached passwords and ones made of the email or name are refused, in the service and the CLI', async () => {
    const ctx = { database: db, services: { users } as unknown as Services };
    await expect(users.create({ email: 'operator@example.com', password: 'qwerty123' })).rejects.toMatchObject({ code: 'password_too_common', status: 400 });
    await expect(runCommand(ctx, 'user:create', ['--email', 'operator@example.com', '--password', 'qwerty123'])).rejects.toMatchObject({
      code: 'password_too_common',
      message: expect.stringMatching(/leaked passwords/),
    });
    await expect(runCommand(ctx, 'user:create', ['--email', 'operator@example.com', '--password', 'QWERTY123'])).rejects.toMatchObject({
      code: 'password_too_common',
    });
    await expect(runCommand(ctx, 'user:create', ['--email', 'operator@example.com', '--password', 'operator 2024 key'])).rejects.toMatchObject({
      code: 'password_contains_personal_info',
    });
    await expect(
      runCommand(ctx, 'user:create', ['--email', 'ops@example.com', '--name', 'Grace Hopper', '--password', 'grace hopper admin']),
    ).rejects.toMatchObject({
      code: 'password_contains_personal_info',
    });
    const rows = await db.sql.query(`select 1 from users where email in ('operator@example.com', 'ops@example.com')`);
    expect(rows).toHaveLength(0);
    expect(await runCommand(ctx, 'user:create', ['--email', 'operator@example.com', '--password', 'a secret phrase 77'])).toMatch(
      /^Created user operator@example.com/,
    );
  });
});
