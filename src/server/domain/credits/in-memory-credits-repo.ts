import type { CreditsRepo, LedgerRow } from './credits.repo';

/**
 * A test double of the credits repository: balances and the ledger in memory, with the same
 * guards as the SQL (a balance or held amount never below zero; an idempotency key used once).
 * Transactions are not modelled: unit tests drive one operation at a time. Times are the caller's.
 */
export interface InMemoryCreditsRepo extends CreditsRepo {
  readonly balances: Map<string, { balance: number; held: number }>;
  readonly ledger: LedgerRow[];
}

export function createInMemoryCreditsRepo(): InMemoryCreditsRepo {
  const balances = new Map<string, { balance: number; held: number }>();
  const ledger: LedgerRow[] = [];

  return {
    balances,
    ledger,
    async ensureAccount(_db, userId) {
      if (!balances.has(userId)) balances.set(userId, { balance: 0, held: 0 });
    },
    async isKeyApplied(_db, key) {
      return ledger.some((r) => r.idempotencyKey === key);
    },
    async moveBalance(_db, userId, amount, heldDelta) {
      const b = balances.get(userId);
      if (!b || b.balance + amount < 0 || b.held + heldDelta < 0) return null;
      b.balance += amount;
      b.held += heldDelta;
      return b.balance;
    },
    async insertLedgerRow(_db, row) {
      if (row.idempotencyKey && ledger.some((r) => r.idempotencyKey === row.idempotencyKey))
        throw new Error('duplicate key value violates unique constraint "credit_ledger_idempotency_key"');
      ledger.push({ heldDelta: 0, reference: null, idempotencyKey: null, subjectRef: null, ...row, userId: row.userId ?? null, id: ledger.length + 1 });
    },
    async balanceOf(_db, userId) {
      const b = balances.get(userId);
      return b ? { ...b } : { balance: 0, held: 0 };
    },
    async lockBalance(_db, userId) {
      return balances.get(userId)?.balance ?? 0;
    },
    async capturedBetween(_db, userId, from, until) {
      return ledger
        .filter((r) => r.userId === userId && r.kind === 'capture' && r.createdAt >= from && (until === null || r.createdAt < until))
        .reduce((spent, r) => spent - r.heldDelta, 0);
    },
    async ledgerPage(_db, userId, page) {
      return ledger
        .filter((r) => r.userId === userId && (page.beforeId === undefined || r.id < Number(page.beforeId)))
        .sort((a, b) => b.id - a.id)
        .slice(0, page.limit);
    },
  };
}
