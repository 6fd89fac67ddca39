import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commands, runCommand, type CommandContext } from '../../src/server/cli/commands';
import { systemClock } from '../../src/server/adapters/clock';
import { createAuditService } from '../../src/server/domain/admin/audit.service';
import { createUsersConsoleService } from '../../src/server/domain/admin/users-console.service';
import { createUsersService } from '../../src/server/domain/users/users.service';
import type { Services } from '../../src/server/context';
import { AppError } from '../../src/server/errors';
import { createTestDatabase, type TestDatabase } from '../helpers/db';

/** `credits:grant`: an operator adds (or takes back) credits; each is one ledger row with the reason. */
let db: TestDatabase;
let ctx: CommandContext;
let userId: string;

beforeAll(async () => {
  db = await createTestDatabase();
  const users = createUsersService({ database: db });
  // credits:grant needs only the users service and the console's (with its audit log)
  const audit = createAuditService({ database: db, clock: systemClock });
  const usersConsole = createUsersConsoleService({ database: db, clock: systemClock, audit: () => audit });
  ctx = { database: db, services: { users, usersConsole } as unknown as Services };
  userId = (await users.create({ email: 'grant@example.com', password: 'long enough pass', credits: 5 })).id;
});
afterAll(() => (db as TestDatabase | undefined)?.drop());

const ledger = async () =>
  (
    await db.sql.query<{ kind: string; amount: string; reason: string; reference: string }>(
      'select kind, amount, reason, reference from credit_ledger where user_id = $1 order by id',
      [userId],
    )
  ).map((r) => [r.kind, Number(r.amount), r.reason, r.reference]);

describe('credits:grant', () => {
  it('is a documented command', () => {
    expect(commands.find((c) => c.name === 'credits:grant')?.usage).toBe('credits:grant --email E --amount N --reason TEXT');
  });

  it('grants credits with a reason, and takes some back with a negative amount', async () => {
    expect(await runCommand(ctx, 'credits:grant', ['--email', 'GRANT@example.com', '--amount', '20', '--reason', 'support: failed render'])).toBe(
      'Granted 20 credits to grant@example.com; balance 25.',
    );
    expect(await runCommand(ctx, 'credits:grant', ['--email', 'grant@example.com', '--amount=-5', '--reason', 'duplicate grant'])).toBe(
      'Took back 5 credits from grant@example.com; balance 20.',
    );
    expect((await ledger()).slice(1)).toEqual([
      ['grant', 20, 'support: failed render', 'cli'],
      ['adjustment', -5, 'duplicate grant', 'cli'],
    ]);
  });

  it('refuses to take back more than the balance, and refuses bad input, changing nothing', async () => {
    const before = await ledger();
    await expect(runCommand(ctx, 'credits:grant', ['--email', 'grant@example.com', '--amount=-500', '--reason', 'too much'])).rejects.toThrow(AppError);
    await expect(runCommand(ctx, 'credits:grant', ['--email', 'grant@example.com', '--amount', '2.5', '--reason', 'x'])).rejects.toThrow(/whole number/);
    await expect(runCommand(ctx, 'credits:grant', ['--email', 'grant@example.com', '--amount', '5'])).rejects.toThrow(/--reason is required/);
    await expect(runCommand(ctx, 'credits:grant', ['--email', 'nobody@example.com', '--amount', '5', '--reason', 'x'])).rejects.toThrow(/No user/);
    expect(await ledger()).toEqual(before);
  });
});
