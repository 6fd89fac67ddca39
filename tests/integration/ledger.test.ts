import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { credits, InsufficientCredits } from '../../src/server/domain/credits/credits';
import { createUsersService } from '../../src/server/domain/users/users.service';
import { createTestDatabase, type TestDatabase } from '../helpers/db';

let db: TestDatabase;
let userId: string;
const balance = async () => Number((await db.sql.query<{ balance: string }>('select balance from credit_balances where user_id = $1', [userId]))[0]!.balance);
const ledgerRows = async () => (await db.sql.query<{ n: number }>('select count(*)::int as n from credit_ledger where user_id = $1', [userId]))[0]!.n;

beforeAll(async () => {
  db = await createTestDatabase();
  userId = (await createUsersService({ database: db }).create({ email: 'ledger@example.com', password: 'long enough', credits: 100 })).id;
});
afterAll(() => (db as TestDatabase | undefined)?.drop());

describe('credit ledger', () => {
  it('refuses a debit larger than the balance and writes no ledger row', async () => {
    const rows = await ledgerRows();
    await expect(db.transaction((tx) => credits.apply(tx, { userId, kind: 'adjustment', amount: -101, reason: 'test' }))).rejects.toBeInstanceOf(
      InsufficientCredits,
    );
    expect(await balance()).toBe(100);
    expect(await ledgerRows()).toBe(rows);
  });

  it('applies a movement with an idempotency key exactly once', async () => {
    const key = `grant:${userId}:welcome`;
    const first = await db.transaction((tx) => credits.apply(tx, { userId, kind: 'grant', amount: 10, reason: 'welcome', idempotencyKey: key }));
    const again = await db.transaction((tx) => credits.apply(tx, { userId, kind: 'grant', amount: 10, reason: 'welcome', idempotencyKey: key }));
    expect(first).toBe(110);
    expect(again).toBeNull();
    expect(await balance()).toBe(110);
  });

  it('never overdraws under concurrent debits', async () => {
    // balance 110: of twelve concurrent debits of 30 exactly three can succeed
    const results = await Promise.allSettled(
      Array.from({ length: 12 }, (_, i) => db.transaction((tx) => credits.apply(tx, { userId, kind: 'adjustment', amount: -30, reason: `spend ${i}` }))),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(3);
    expect(results.filter((r) => r.status === 'rejected').every((r) => r.reason instanceof InsufficientCredits)).toBe(true);
    expect(await balance()).toBe(20);
    const sum = await db.sql.query<{ s: string }>('select sum(amount)::text as s from credit_ledger where user_id = $1', [userId]);
    expect(Number(sum[0]!.s)).toBe(20); // the ledger explains the balance exactly
  });

  it('has a database-level guard: a negative balance is impossible even by hand', async () => {
    await expect(db.sql.query('update credit_balances set balance = -1 where user_id = $1', [userId])).rejects.toThrow(/credit_balances_balance_nonneg/);
  });
});
