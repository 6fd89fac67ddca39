import { and, count, countDistinct, desc, eq, gte, inArray, isNull, sql } from 'drizzle-orm';
import type { DbHandle } from '../../db/client';
import { accountSignals, moderationEvents, orders, paymentFailures, users, type SignalKind, type SignalSource } from '../../db/schema';

/**
 * SQL of the payment fraud rules (issue 19): account signals seen in payments (card, wallet), failed
 * payments, the risk facts on orders, and the generation hold on accounts. Every time is the caller's
 * (read from the Clock).
 */

export interface SignalInput {
  userId: string;
  kind: SignalKind;
  valueHash: string;
  label: string | null;
  source: SignalSource;
}

/** One row per account, kind and value: seeing it again moves last_seen_at (and refreshes the label). */
export async function upsertSignal(db: DbHandle, s: SignalInput, at: Date): Promise<void> {
  await db.db
    .insert(accountSignals)
    .values({ ...s, firstSeenAt: at, lastSeenAt: at })
    .onConflictDoUpdate({
      target: [accountSignals.userId, accountSignals.kind, accountSignals.valueHash],
      set: { lastSeenAt: sql`greatest(${accountSignals.lastSeenAt}, excluded.last_seen_at)`, label: sql`coalesce(excluded.label, ${accountSignals.label})` },
    });
}

export type NewPaymentFailure = Omit<typeof paymentFailures.$inferInsert, 'id'>;

/** A failed payment, once per provider event. */
export async function insertFailure(db: DbHandle, f: NewPaymentFailure): Promise<void> {
  await db.db.insert(paymentFailures).values(f).onConflictDoNothing();
}

/** Failed payments since `since` of one account, one card (hash) or one address (hash). */
export async function countFailures(db: DbHandle, by: { userId: string } | { paymentFingerprint: string } | { ipHash: string }, since: Date): Promise<number> {
  const who =
    'userId' in by
      ? eq(paymentFailures.userId, by.userId)
      : 'paymentFingerprint' in by
        ? eq(paymentFailures.paymentFingerprint, by.paymentFingerprint)
        : eq(paymentFailures.ipHash, by.ipHash);
  const [row] = await db.db
    .select({ n: count() })
    .from(paymentFailures)
    .where(and(who, gte(paymentFailures.failedAt, since)));
  return row?.n ?? 0;
}

/** The cards (hashes) an account has paid or tried to pay with. */
export async function cardsOf(db: DbHandle, userId: string): Promise<string[]> {
  const rows = await db.db
    .select({ h: accountSignals.valueHash })
    .from(accountSignals)
    .where(and(eq(accountSignals.userId, userId), eq(accountSignals.kind, 'card')));
  return rows.map((r) => r.h);
}

/** The most failed payments since `since` on any one of these cards. */
export async function maxFailuresOnCards(db: DbHandle, paymentFingerprints: readonly string[], since: Date): Promise<number> {
  if (!paymentFingerprints.length) return 0;
  const rows = await db.db
    .select({ n: count() })
    .from(paymentFailures)
    .where(and(inArray(paymentFailures.paymentFingerprint, [...paymentFingerprints]), gte(paymentFailures.failedAt, since)))
    .groupBy(paymentFailures.paymentFingerprint)
    .orderBy(desc(count()))
    .limit(1);
  return rows[0]?.n ?? 0;
}

/** The most accounts seen since `since` on any one of these cards. */
export async function maxAccountsOnCards(db: DbHandle, paymentFingerprints: readonly string[], since: Date): Promise<number> {
  if (!paymentFingerprints.length) return 0;
  const rows = await db.db
    .select({ n: countDistinct(accountSignals.userId) })
    .from(accountSignals)
    .where(and(eq(accountSignals.kind, 'card'), inArray(accountSignals.valueHash, [...paymentFingerprints]), gte(accountSignals.lastSeenAt, since)))
    .groupBy(accountSignals.valueHash)
    .orderBy(desc(countDistinct(accountSignals.userId)))
    .limit(1);
  return rows[0]?.n ?? 0;
}

/** The risk facts of a charge on its order (only the ones given). */
export async function setOrderRisk(
  db: DbHandle,
  orderId: string,
  set: { paymentFingerprint?: string | null; riskOutcome?: string | null; riskLevel?: string | null },
  at: Date,
): Promise<void> {
  if (!Object.keys(set).length) return;
  await db.db
    .update(orders)
    .set({ ...set, updatedAt: at })
    .where(eq(orders.id, orderId));
}

/** The account's generation hold, locked for the rest of the transaction; undefined when there is no such account. */
export async function lockGenerationHold(tx: DbHandle, userId: string): Promise<{ hold: string | null; at: Date | null } | undefined> {
  const [row] = await tx.db.select({ hold: users.generationHold, at: users.generationHoldAt }).from(users).where(eq(users.id, userId)).for('update');
  return row;
}

/** Places the hold when none is set (the first reason stays); true when it was placed now. */
export async function placeGenerationHold(tx: DbHandle, userId: string, reason: string, at: Date): Promise<boolean> {
  const rows = await tx.db
    .update(users)
    .set({ generationHold: reason, generationHoldAt: at, updatedAt: at })
    .where(and(eq(users.id, userId), isNull(users.generationHold)))
    .returning({ id: users.id });
  return rows.length > 0;
}

export async function clearGenerationHold(tx: DbHandle, userId: string, at: Date): Promise<void> {
  await tx.db.update(users).set({ generationHold: null, generationHoldAt: null, updatedAt: at }).where(eq(users.id, userId));
}

/** The account's generation hold (null: none). */
export async function generationHoldOf(db: DbHandle, userId: string): Promise<string | null> {
  const [row] = await db.db.select({ hold: users.generationHold }).from(users).where(eq(users.id, userId));
  return row?.hold ?? null;
}

/** Flags the account for billing review (the console shows the code). */
export async function setBillingFlag(db: DbHandle, userId: string, flag: string, at: Date): Promise<void> {
  await db.db.update(users).set({ billingFlag: flag, updatedAt: at }).where(eq(users.id, userId));
}

/** Whether the case has an event of this rule (details.rule) since `since`: a rule records itself once an hour per case. */
export async function ruleRecordedSince(db: DbHandle, caseId: string, rule: string, since: Date): Promise<boolean> {
  const rows = await db.db
    .select({ id: moderationEvents.id })
    .from(moderationEvents)
    .where(and(eq(moderationEvents.caseId, caseId), sql`${moderationEvents.details}->>'rule' = ${rule}`, gte(moderationEvents.createdAt, since)))
    .limit(1);
  return rows.length > 0;
}
