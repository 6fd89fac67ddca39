import { and, eq } from 'drizzle-orm';
import type { DbHandle } from '../../db/client';
import { freeCreditClaims, signupGrants, users, type SignupGrantState } from '../../db/schema';

/** SQL of the free-credit decision (issue 19): each sign-up's grant row, the one claim per canonical address, the user's canonical address. */

export type GrantRow = typeof signupGrants.$inferSelect;

/** The sign-up's grant row, once (a repeated hook changes nothing). */
export async function insertGrant(
  db: DbHandle,
  row: {
    userId: string;
    state: SignupGrantState;
    credits: number;
    reason: string | null;
    matchedUserId: string | null;
    decidedAt: Date | null;
    createdAt: Date;
  },
): Promise<void> {
  await db.db.insert(signupGrants).values(row).onConflictDoNothing();
}

/** The grant row, locked until the transaction ends: one decision per account at a time. */
export async function lockGrant(tx: DbHandle, userId: string): Promise<GrantRow | null> {
  const [row] = await tx.db.select().from(signupGrants).where(eq(signupGrants.userId, userId)).for('update');
  return row ?? null;
}

export async function getGrant(db: DbHandle, userId: string): Promise<GrantRow | null> {
  const [row] = await db.db.select().from(signupGrants).where(eq(signupGrants.userId, userId));
  return row ?? null;
}

/** Decides a pending grant; false when it was decided already. */
export async function decideGrant(
  tx: DbHandle,
  userId: string,
  d: { state: Exclude<SignupGrantState, 'pending'>; credits: number; reason: string; matchedUserId: string | null; at: Date },
): Promise<boolean> {
  const rows = await tx.db
    .update(signupGrants)
    .set({ state: d.state, credits: d.credits, reason: d.reason, matchedUserId: d.matchedUserId, decidedAt: d.at })
    .where(and(eq(signupGrants.userId, userId), eq(signupGrants.state, 'pending')))
    .returning({ userId: signupGrants.userId });
  return rows.length === 1;
}

/** Marks a pending grant withheld at sign-up (a match to a suspended or terminated account); false when it was decided already. */
export const withholdGrant = (tx: DbHandle, userId: string, reason: string, matchedUserId: string | null, at: Date) =>
  decideGrant(tx, userId, { state: 'withheld', credits: 0, reason, matchedUserId, at });

/** Claims the canonical address for `userId`; the claim's holder when another account holds it already (null user: a deleted account). */
export async function claimAddress(
  tx: DbHandle,
  canonicalHash: string,
  userId: string,
  at: Date,
): Promise<{ claimed: true } | { claimed: false; holder: string | null }> {
  const inserted = await tx.db
    .insert(freeCreditClaims)
    .values({ canonicalHash, userId, claimedAt: at })
    .onConflictDoNothing()
    .returning({ hash: freeCreditClaims.canonicalHash });
  if (inserted.length) return { claimed: true };
  const [row] = await tx.db.select({ userId: freeCreditClaims.userId }).from(freeCreditClaims).where(eq(freeCreditClaims.canonicalHash, canonicalHash));
  return { claimed: false, holder: row?.userId ?? null };
}

export async function setCanonicalEmail(db: DbHandle, userId: string, canonical: string): Promise<void> {
  await db.db.update(users).set({ canonicalEmail: canonical }).where(eq(users.id, userId));
}

/** The facts the decision reads about the account. */
export async function accountFacts(
  db: DbHandle,
  userId: string,
): Promise<{ email: string; canonicalEmail: string | null; emailVerified: boolean; status: string } | null> {
  const [row] = await db.db
    .select({ email: users.email, canonicalEmail: users.canonicalEmail, emailVerified: users.emailVerified, status: users.status })
    .from(users)
    .where(eq(users.id, userId));
  return row ?? null;
}
