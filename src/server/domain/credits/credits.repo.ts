import { and, desc, eq, sql } from 'drizzle-orm';
import type { DbHandle } from '../../db/client';
import { creditBalances, creditLedger } from '../../db/schema';

/**
 * SQL for credit balances and the ledger. Only the credits module (credits.ts) calls these. The time
 * of a movement (the ledger row's created_at, the balance's updated_at) is the caller's clock.
 */

export type LedgerRow = typeof creditLedger.$inferSelect;
export type NewLedgerRow = Omit<typeof creditLedger.$inferInsert, 'id' | 'createdAt'> & { createdAt: Date };
export type BalanceRow = Pick<typeof creditBalances.$inferSelect, 'balance' | 'held'>;

/** Creates the user's balance row (0 credits) when there is none. */
export async function ensureAccount(db: DbHandle, userId: string): Promise<void> {
  await db.db.insert(creditBalances).values({ userId }).onConflictDoNothing();
}

/** Whether a ledger row with this idempotency key was written already. */
export async function isKeyApplied(db: DbHandle, idempotencyKey: string): Promise<boolean> {
  const rows = await db.db
    .select({ one: sql`1` })
    .from(creditLedger)
    .where(eq(creditLedger.idempotencyKey, idempotencyKey))
    .limit(1);
  return rows.length > 0;
}

/**
 * The guarded balance update at `at`: adds `amount` to the balance and `heldDelta` to the held
 * credits only when neither goes below zero. Returns the new balance, or null when the guard refused.
 */
export async function moveBalance(db: DbHandle, userId: string, amount: number, heldDelta: number, at: Date): Promise<number | null> {
  const rows = await db.sql.query<{ balance: string | number }>(
    `update credit_balances set balance = balance + $2, held = held + $3, updated_at = $4::timestamptz
      where user_id = $1 and balance + $2 >= 0 and held + $3 >= 0
      returning balance`,
    [userId, amount, heldDelta, at.toISOString()],
  );
  return rows[0] ? Number(rows[0].balance) : null;
}

export async function insertLedgerRow(db: DbHandle, row: NewLedgerRow): Promise<void> {
  await db.db.insert(creditLedger).values(row);
}

/** Spendable and held credits; zero for a user without a balance row. */
export async function balanceOf(db: DbHandle, userId: string): Promise<BalanceRow> {
  const [row] = await db.db
    .select({ balance: creditBalances.balance, held: creditBalances.held })
    .from(creditBalances)
    .where(eq(creditBalances.userId, userId));
  return row ?? { balance: 0, held: 0 };
}

/** The spendable balance, its row locked until the transaction ends (0 without a row). */
export async function lockBalance(tx: DbHandle, userId: string): Promise<number> {
  const [row] = await tx.db.select({ balance: creditBalances.balance }).from(creditBalances).where(eq(creditBalances.userId, userId)).for('update');
  return row?.balance ?? 0;
}

/** Credits spent on videos (captured holds) from `from` until `until` (open-ended when null). */
export async function capturedBetween(db: DbHandle, userId: string, from: Date, until: Date | null): Promise<number> {
  const [row] = await db.sql.query<{ credits: string | number }>(
    `select coalesce(-sum(held_delta), 0) as credits from credit_ledger
      where user_id = $1 and kind = 'capture' and created_at >= $2::timestamptz and ($3::timestamptz is null or created_at < $3::timestamptz)`,
    [userId, from.toISOString(), until?.toISOString() ?? null],
  );
  return Number(row?.credits ?? 0);
}

/** The user's ledger, newest first: `limit` rows with an id below `beforeId` (a decimal string) when given. */
export async function ledgerPage(db: DbHandle, userId: string, opts: { limit: number; beforeId?: string | undefined }): Promise<LedgerRow[]> {
  // the cursor stays a string: ids may pass Number.MAX_SAFE_INTEGER
  const before = opts.beforeId === undefined ? undefined : sql`${creditLedger.id} < ${opts.beforeId}::bigint`;
  return db.db
    .select()
    .from(creditLedger)
    .where(and(eq(creditLedger.userId, userId), before))
    .orderBy(desc(creditLedger.id))
    .limit(opts.limit);
}

/** The repository as one value, so the credits module can be given another (tests: in memory). */
export const sqlCreditsRepo = { ensureAccount, isKeyApplied, moveBalance, insertLedgerRow, balanceOf, lockBalance, capturedBetween, ledgerPage };
export type CreditsRepo = typeof sqlCreditsRepo;
