import { sql } from 'drizzle-orm';
import type { DbHandle } from '../../db/client';
import type { LedgerKind } from '../../db/schema';

export interface LedgerEntry {
  userId: string;
  kind: LedgerKind;
  /** signed change of the spendable balance */
  amount: number;
  /** signed change of the held credits (hold +price; capture and release -price) */
  heldDelta?: number;
  reason: string;
  reference?: string | null;
  idempotencyKey?: string | null;
}

/**
 * Applies one ledger movement: guarded balance update and ledger row in the caller's transaction.
 * Returns the new balance, or null when the movement's idempotency key was already applied.
 * A debit larger than the balance updates no row and throws InsufficientCredits.
 */
export async function applyLedgerEntry(tx: DbHandle, e: LedgerEntry): Promise<number | null> {
  if (e.idempotencyKey) {
    const seen = await tx.sql.query('select 1 from credit_ledger where idempotency_key = $1', [e.idempotencyKey]);
    if (seen.length) return null;
  }
  await tx.db.execute(sql`insert into credit_balances (user_id) values (${e.userId}) on conflict (user_id) do nothing`);
  const heldDelta = e.heldDelta ?? 0;
  const updated = await tx.sql.query<{ balance: string | number }>(
    `update credit_balances set balance = balance + $2, held = held + $3, updated_at = now()
      where user_id = $1 and balance + $2 >= 0 and held + $3 >= 0
      returning balance`,
    [e.userId, e.amount, heldDelta],
  );
  if (!updated.length) {
    if (e.amount < 0) throw new InsufficientCredits();
    throw new Error(`ledger: ${e.kind} of ${heldDelta} held credits for ${e.userId} exceeds what is held`);
  }
  const balance = Number(updated[0]!.balance);
  await tx.sql.query(
    `insert into credit_ledger (user_id, kind, amount, held_delta, balance_after, reason, reference, idempotency_key)
     values ($1, $2, $3, $4, $5, $6, $7, $8)`,
    [e.userId, e.kind, e.amount, heldDelta, balance, e.reason, e.reference ?? null, e.idempotencyKey ?? null],
  );
  return balance;
}

export class InsufficientCredits extends Error {
  constructor() {
    super('Not enough credits.');
  }
}
