import { systemClock, type Clock } from '../../adapters/clock';
import type { DbHandle } from '../../db/client';
import type { LedgerKind } from '../../db/schema';
import { sqlCreditsRepo, type BalanceRow, type CreditsRepo, type LedgerRow } from './credits.repo';

/**
 * Credits: every movement is one ledger row plus one guarded balance update, written in the
 * caller's transaction (the same one as the state change that causes it). The named operations
 * below are the only way the rest of the app moves credits; each builds its reference and
 * idempotency key here, so a replayed operation is a no-op and the keys never drift apart. A
 * movement is dated by the module's clock (the ledger row's created_at, which the period and
 * per-day sums compare).
 */

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

export class InsufficientCredits extends Error {
  constructor() {
    super('Not enough credits.');
  }
}

/** What a ledger row refers to (the `reference` column). */
export const ledgerReference = {
  generation: (generationId: string) => `generation:${generationId}`,
  order: (orderId: string) => `order:${orderId}`,
  subscription: (subscriptionId: string) => `subscription:${subscriptionId}`,
  signup: 'signup',
  operator: 'cli',
} as const;

/**
 * The idempotency keys, one per operation and what it concerns. These exact strings are in the
 * ledgers of running installations (a unique index dedupes them): never change one.
 * Purchases and clawbacks are keyed by the order's cumulative total after the movement, so a
 * later, larger payment or refund of the same order is a new movement and a replay is not.
 */
export const ledgerKey = {
  signupGrant: (userId: string) => `signup-grant:${userId}`,
  hold: (generationId: string) => `hold:${generationId}`,
  capture: (generationId: string) => `capture:${generationId}`,
  release: (generationId: string) => `release:${generationId}`,
  refund: (generationId: string) => `refund:${generationId}`,
  purchase: (orderId: string, grantedTotal: number) => `order:${orderId}:grant:${grantedTotal}`,
  clawback: (orderId: string, clawedBackTotal: number) => `order:${orderId}:clawback:${clawedBackTotal}`,
  expire: (subscriptionId: string, periodStart: Date) => `subscription:${subscriptionId}:expire:${periodStart.toISOString()}`,
} as const;

/** A generation's credits: the price held at submit, then captured (delivered) or released (failed). */
export interface GenerationCharge {
  userId: string;
  generationId: string;
  credits: number;
  reason: string;
}

export interface Credits {
  /**
   * The core every operation goes through: guarded balance update and ledger row. Returns the new
   * balance, or null when the entry's idempotency key was applied already. A debit larger than the
   * balance changes nothing and throws InsufficientCredits.
   */
  apply(tx: DbHandle, entry: LedgerEntry): Promise<number | null>;
  /** Free credits: the welcome grant at sign-up (once per account) or an operator's grant. */
  grant(tx: DbHandle, g: { userId: string; credits: number; reason: string; source: 'signup' | 'operator' }): Promise<number | null>;
  /** Reserves a generation's price: spendable -credits, held +credits. */
  hold(tx: DbHandle, c: GenerationCharge): Promise<number | null>;
  /** The video was delivered: the held credits are spent. */
  capture(tx: DbHandle, c: GenerationCharge): Promise<number | null>;
  /** The video failed or was canceled: the held credits return to the balance. */
  release(tx: DbHandle, c: GenerationCharge): Promise<number | null>;
  /** Credits bought with an order; `grantedTotal` is what the order has granted after this one. */
  purchase(tx: DbHandle, p: { userId: string; orderId: string; credits: number; grantedTotal: number; reason: string }): Promise<number | null>;
  /** Credits given back for a delivered video (support's decision), once per generation. */
  refund(tx: DbHandle, c: GenerationCharge): Promise<number | null>;
  /** Bought credits taken back after a refund or dispute; `clawedBackTotal` is the order's total after this one. */
  clawback(tx: DbHandle, c: { userId: string; orderId: string; credits: number; clawedBackTotal: number; reason: string }): Promise<number | null>;
  /** An operator's correction, signed (a negative one may not exceed the balance). */
  adjust(tx: DbHandle, a: { userId: string; amount: number; reason: string }): Promise<number | null>;
  /** Unused credits of a subscription period that ended, once per period. */
  expire(tx: DbHandle, e: { userId: string; subscriptionId: string; periodStart: Date; credits: number; reason: string }): Promise<number | null>;
  /** Creates the user's (empty) balance row when missing. */
  ensureAccount(tx: DbHandle, userId: string): Promise<void>;
  balanceOf(db: DbHandle, userId: string): Promise<BalanceRow>;
  /** The spendable balance, locked (FOR UPDATE) until the transaction ends: one writer per user. */
  lockBalance(tx: DbHandle, userId: string): Promise<number>;
  /** Credits spent on videos (captures) in a time range; `until` null: up to now. */
  capturedBetween(db: DbHandle, userId: string, from: Date, until: Date | null): Promise<number>;
  /** The user's ledger, newest first. */
  history(db: DbHandle, userId: string, page: { limit: number; beforeId?: string | undefined }): Promise<LedgerRow[]>;
}

/** The credit operations on `repo` (default: the database), dating each movement by `clock`. */
export function createCredits(repo: CreditsRepo = sqlCreditsRepo, clock: Pick<Clock, 'now'> = systemClock): Credits {
  async function apply(tx: DbHandle, e: LedgerEntry): Promise<number | null> {
    if (e.idempotencyKey && (await repo.isKeyApplied(tx, e.idempotencyKey))) return null;
    await repo.ensureAccount(tx, e.userId);
    const heldDelta = e.heldDelta ?? 0;
    const at = clock.now();
    const balance = await repo.moveBalance(tx, e.userId, e.amount, heldDelta, at);
    if (balance === null) {
      if (e.amount < 0) throw new InsufficientCredits();
      throw new Error(`ledger: ${e.kind} of ${heldDelta} held credits for ${e.userId} exceeds what is held`);
    }
    await repo.insertLedgerRow(tx, {
      userId: e.userId,
      kind: e.kind,
      amount: e.amount,
      heldDelta,
      balanceAfter: balance,
      reason: e.reason,
      reference: e.reference ?? null,
      idempotencyKey: e.idempotencyKey ?? null,
      createdAt: at,
    });
    return balance;
  }

  const generationEntry = (c: GenerationCharge, kind: 'hold' | 'capture' | 'release' | 'refund', amount: number, heldDelta: number): LedgerEntry => ({
    userId: c.userId,
    kind,
    amount,
    heldDelta,
    reason: c.reason,
    reference: ledgerReference.generation(c.generationId),
    idempotencyKey: ledgerKey[kind](c.generationId),
  });

  return {
    apply,
    grant: (tx, g) =>
      apply(tx, {
        userId: g.userId,
        kind: 'grant',
        amount: g.credits,
        reason: g.reason,
        reference: g.source === 'signup' ? ledgerReference.signup : ledgerReference.operator,
        idempotencyKey: g.source === 'signup' ? ledgerKey.signupGrant(g.userId) : null,
      }),
    hold: (tx, c) => apply(tx, generationEntry(c, 'hold', -c.credits, c.credits)),
    capture: (tx, c) => apply(tx, generationEntry(c, 'capture', 0, -c.credits)),
    release: (tx, c) => apply(tx, generationEntry(c, 'release', c.credits, -c.credits)),
    refund: (tx, c) => apply(tx, generationEntry(c, 'refund', c.credits, 0)),
    purchase: (tx, p) =>
      apply(tx, {
        userId: p.userId,
        kind: 'purchase',
        amount: p.credits,
        reason: p.reason,
        reference: ledgerReference.order(p.orderId),
        idempotencyKey: ledgerKey.purchase(p.orderId, p.grantedTotal),
      }),
    clawback: (tx, c) =>
      apply(tx, {
        userId: c.userId,
        kind: 'clawback',
        amount: -c.credits,
        reason: c.reason,
        reference: ledgerReference.order(c.orderId),
        idempotencyKey: ledgerKey.clawback(c.orderId, c.clawedBackTotal),
      }),
    adjust: (tx, a) => apply(tx, { userId: a.userId, kind: 'adjustment', amount: a.amount, reason: a.reason, reference: ledgerReference.operator }),
    expire: (tx, e) =>
      apply(tx, {
        userId: e.userId,
        kind: 'expire',
        amount: -e.credits,
        reason: e.reason,
        reference: ledgerReference.subscription(e.subscriptionId),
        idempotencyKey: ledgerKey.expire(e.subscriptionId, e.periodStart),
      }),
    ensureAccount: (tx, userId) => repo.ensureAccount(tx, userId),
    balanceOf: (db, userId) => repo.balanceOf(db, userId),
    lockBalance: (tx, userId) => repo.lockBalance(tx, userId),
    capturedBetween: (db, userId, from, until) => repo.capturedBetween(db, userId, from, until),
    history: (db, userId, page) => repo.ledgerPage(db, userId, page),
  };
}

/** The credits module on the database and the system clock; tests build one on an in-memory repository or another clock. */
export const credits: Credits = createCredits();
