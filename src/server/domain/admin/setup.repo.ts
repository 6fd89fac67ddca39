import { and, asc, eq, isNull, ne, notExists, sql } from 'drizzle-orm';
import { alias } from 'drizzle-orm/pg-core';
import type { DbHandle } from '../../db/client';
import { users } from '../../db/schema';

/** SQL for the first run (issue 18): who may claim the admin role, and the guarded claim. */

const admins = alias(users, 'admins');

/** an admin exists */
const anyAdmin = (db: DbHandle) =>
  db.db
    .select({ one: sql`1` })
    .from(admins)
    .where(eq(admins.role, 'admin'));

/** The oldest active account (not being deleted): the one a fresh install offers the admin role (by the created_at index). */
export async function oldestActiveAccount(db: DbHandle): Promise<string | null> {
  const [oldest] = await db.db
    .select({ id: users.id })
    .from(users)
    .where(and(eq(users.status, 'active'), isNull(users.deletionRequestedAt)))
    .orderBy(asc(users.createdAt), asc(users.id))
    .limit(1);
  return oldest?.id ?? null;
}

export async function adminExists(db: DbHandle): Promise<boolean> {
  const [admin] = await anyAdmin(db).limit(1);
  return Boolean(admin);
}

/** The account offered the admin role: the oldest active one, while no admin exists; null otherwise. */
export async function adminClaimant(db: DbHandle): Promise<string | null> {
  const oldest = await oldestActiveAccount(db);
  return oldest && !(await adminExists(db)) ? oldest : null;
}

/** claims take turns (a transaction-scoped advisory lock), so two at once cannot both see "no admin" */
const CLAIM_LOCK = 0x5a0a_d417;

/**
 * Inside a transaction: makes `userId` the admin if it is still the claimant (no admin exists and it
 * is the oldest active account). The UPDATE repeats the guard. Resolves to the account's email, or
 * null when the claim is not (or no longer) open to it.
 */
export async function claimAdminRole(tx: DbHandle, userId: string, at: Date): Promise<{ email: string } | null> {
  await tx.db.execute(sql`select pg_advisory_xact_lock(${CLAIM_LOCK})`);
  if ((await adminClaimant(tx)) !== userId) return null;
  const [row] = await tx.db
    .update(users)
    .set({ role: 'admin', updatedAt: at })
    .where(and(eq(users.id, userId), eq(users.status, 'active'), ne(users.role, 'admin'), notExists(anyAdmin(tx))))
    .returning({ email: users.email });
  return row ?? null;
}
