import { sql } from 'drizzle-orm';
import { bigint, bigserial, check, index, pgTable, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';
import { users } from './users';

/**
 * Credits: an append-only ledger plus a balance row per user that is only ever changed by guarded
 * SQL in the same transaction as its ledger row. The CHECK constraints are the last line of
 * defence: a balance can never go negative whatever the code above does.
 */
export const ledgerKinds = ['grant', 'purchase', 'hold', 'capture', 'release', 'refund', 'clawback', 'adjustment', 'expire'] as const;
export type LedgerKind = (typeof ledgerKinds)[number];

export const creditBalances = pgTable(
  'credit_balances',
  {
    userId: text('user_id')
      .primaryKey()
      .references(() => users.id, { onDelete: 'cascade' }),
    /** spendable credits */
    balance: bigint('balance', { mode: 'number' }).notNull().default(0),
    /** credits reserved by holds that are not settled yet */
    held: bigint('held', { mode: 'number' }).notNull().default(0),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [check('credit_balances_balance_nonneg', sql`${t.balance} >= 0`), check('credit_balances_held_nonneg', sql`${t.held} >= 0`)],
);

export const creditLedger = pgTable(
  'credit_ledger',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    /** null once the account is deleted: the rows that back kept orders stay, pseudonymised (subject_ref) */
    userId: text('user_id').references(() => users.id, { onDelete: 'set null' }),
    /** the deleted account's pseudonym (account_deletions.subject_ref) */
    subjectRef: text('subject_ref'),
    kind: text('kind', { enum: ledgerKinds }).notNull(),
    /** signed change of the spendable balance */
    amount: bigint('amount', { mode: 'number' }).notNull(),
    /** signed change of the held (reserved) credits: hold +, capture and release - */
    heldDelta: bigint('held_delta', { mode: 'number' }).notNull().default(0),
    /** balance after this row */
    balanceAfter: bigint('balance_after', { mode: 'number' }).notNull(),
    reason: text('reason').notNull(),
    /** what caused it: 'task:<id>', 'order:<id>', 'admin:<id>', 'cli' */
    reference: text('reference'),
    /** makes a movement idempotent: the same key is applied at most once */
    idempotencyKey: text('idempotency_key'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    check('credit_ledger_kind_check', sql.raw(`kind in (${ledgerKinds.map((k) => `'${k}'`).join(', ')})`)),
    uniqueIndex('credit_ledger_idempotency_key').on(t.idempotencyKey),
    index('credit_ledger_user_created_idx').on(t.userId, t.createdAt),
    index('credit_ledger_created_idx').on(t.createdAt),
  ],
);
