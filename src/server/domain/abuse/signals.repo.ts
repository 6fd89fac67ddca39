import { and, asc, eq, gte, inArray, ne, or, sql } from 'drizzle-orm';
import type { DbHandle } from '../../db/client';
import { accountSignals, signupGrants, users, type SignalKind, type SignalSource } from '../../db/schema';
import type { Signal } from './signals';

/** SQL of account_signals (issue 19): recording what a request showed, and finding other accounts that showed the same. */

/** Records each signal for the user: a new row, or the known one seen again (last_seen_at moves). */
export async function recordSignals(db: DbHandle, userId: string, signals: readonly Signal[], source: SignalSource, now: Date): Promise<void> {
  if (!signals.length) return;
  await db.db
    .insert(accountSignals)
    .values(signals.map((s) => ({ userId, kind: s.kind, valueHash: s.hash, label: s.label, source, firstSeenAt: now, lastSeenAt: now })))
    .onConflictDoUpdate({
      target: [accountSignals.userId, accountSignals.kind, accountSignals.valueHash],
      set: { lastSeenAt: sql`greatest(${accountSignals.lastSeenAt}, excluded.last_seen_at)`, label: sql`excluded.label` },
    });
}

/** The user's signals of the given kinds (hash and kind only). */
export async function signalsOf(db: DbHandle, userId: string, kinds: readonly SignalKind[]): Promise<Array<{ kind: SignalKind; hash: string }>> {
  if (!kinds.length) return [];
  const rows = await db.db
    .select({ kind: accountSignals.kind, hash: accountSignals.valueHash })
    .from(accountSignals)
    .where(and(eq(accountSignals.userId, userId), inArray(accountSignals.kind, [...kinds])))
    .orderBy(asc(accountSignals.valueHash));
  return rows;
}

const matchOf = (signals: ReadonlyArray<{ kind: SignalKind; hash: string }>) =>
  or(...signals.map((s) => and(eq(accountSignals.kind, s.kind), eq(accountSignals.valueHash, s.hash))));

export interface SignalMatch {
  userId: string;
  kind: SignalKind;
  label: string | null;
}

/**
 * Other accounts that got free credits since `since` and showed one of these signals since then:
 * one row per (account, kind), granted first.
 */
export async function grantedMatches(
  db: DbHandle,
  userId: string,
  signals: ReadonlyArray<{ kind: SignalKind; hash: string }>,
  since: Date,
): Promise<SignalMatch[]> {
  if (!signals.length) return [];
  return db.db
    .selectDistinct({ userId: accountSignals.userId, kind: accountSignals.kind, label: accountSignals.label, decidedAt: signupGrants.decidedAt })
    .from(accountSignals)
    .innerJoin(signupGrants, eq(signupGrants.userId, accountSignals.userId))
    .where(
      and(
        matchOf(signals),
        ne(accountSignals.userId, userId),
        gte(accountSignals.lastSeenAt, since),
        eq(signupGrants.state, 'granted'),
        gte(signupGrants.decidedAt, since),
      ),
    )
    .orderBy(asc(signupGrants.decidedAt))
    .limit(20);
}

/** Accounts that are suspended or terminated and showed one of these signals (at any time the signals are kept). */
export async function restrictedMatches(
  db: DbHandle,
  signals: ReadonlyArray<{ kind: SignalKind; hash: string }>,
  excludeUserId: string | null,
): Promise<Array<SignalMatch & { status: string }>> {
  if (!signals.length) return [];
  return db.db
    .selectDistinct({ userId: accountSignals.userId, kind: accountSignals.kind, label: accountSignals.label, status: users.status })
    .from(accountSignals)
    .innerJoin(users, eq(users.id, accountSignals.userId))
    .where(and(matchOf(signals), inArray(users.status, ['suspended', 'terminated']), excludeUserId ? ne(accountSignals.userId, excludeUserId) : undefined))
    .limit(50);
}

/**
 * Serialises decisions about accounts that share a signal value: a transaction-scoped advisory lock
 * per value, taken in hash order (so two decisions never wait on each other in a cycle).
 */
export async function lockSignalValues(tx: DbHandle, hashes: readonly string[]): Promise<void> {
  for (const h of [...new Set(hashes)].sort()) {
    await tx.sql.query(`select pg_advisory_xact_lock(hashtextextended('savesora.abuse-signal:' || $1, 0))`, [h]);
  }
}
