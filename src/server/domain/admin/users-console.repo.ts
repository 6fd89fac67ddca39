import { and, desc, eq, inArray, sql } from 'drizzle-orm';
import type { DbHandle } from '../../db/client';
import { keysetPage, type KeysetPage } from '../../db/keyset.repo';
import {
  accountDeletions,
  accounts,
  apiKeys,
  creditLedger,
  dataExports,
  generations,
  moderationCases,
  moderationStrikes,
  orders,
  policyNoticeDismissals,
  referrals,
  userDevices,
  users,
  type UserRole,
  type UserStatus,
} from '../../db/schema';

/**
 * SQL for the console's users section (issue 18): the search, the reads of a user's page, and the
 * guarded role and status changes. Credits move through the credits module, never here.
 */

export interface UserSearchRow {
  id: string;
  email: string;
  name: string;
  role: UserRole;
  status: UserStatus;
  credits: number;
  createdAt: Date;
  lastSeenAt: Date | null;
  emailVerified: boolean;
  billingFlag: string | null;
  deletionPending: boolean;
}

export interface UserSearchFilter {
  q: string;
  role?: UserRole | undefined;
  status?: UserStatus | undefined;
  /** exactly this user */
  id?: string | undefined;
  cursor?: string | undefined;
  limit: number;
}

/** `%` and `_` typed by the operator match themselves in LIKE */
const likeEscape = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`);

/** whether an account is being deleted: in its grace period or running, or closed while a legal hold keeps part of it */
const DELETION_PENDING = `(u.deletion_requested_at is not null or exists (select 1 from account_deletions d where d.user_id = u.id and d.status in ('scheduled', 'running')))`;

/**
 * The search, newest accounts first (keyset on created_at, id). `q` matches an email (prefix, any
 * letter case), part of a name (any case), a user id, an IP address a session came from, or a
 * referral code. Null when the cursor is malformed.
 */
export async function searchUsers(db: DbHandle, f: UserSearchFilter): Promise<KeysetPage<UserSearchRow> | null> {
  const where: string[] = ['true'];
  const params: unknown[] = [];
  const q = f.q.trim();
  if (q) {
    params.push(`${likeEscape(q.toLowerCase())}%`, `%${likeEscape(q.toLowerCase())}%`, q);
    where.push(
      `(lower(email) like $1 escape '\\' or lower(name) like $2 escape '\\' or id = $3 or referral_code = $3
        or exists (select 1 from sessions s where s.user_id = x.id and (s.ip_address = $3 or s.ip_address = '::ffff:' || $3)))`,
    );
  }
  if (f.role) {
    params.push(f.role);
    where.push(`role = $${params.length}`);
  }
  if (f.status) {
    params.push(f.status);
    where.push(`status = $${params.length}`);
  }
  if (f.id !== undefined) {
    params.push(f.id);
    where.push(`id = $${params.length}`);
  }
  return keysetPage(db, {
    table: `(select u.id, u.email, u.name, u.role, u.status, u.email_verified, u.billing_flag, u.referral_code, u.created_at,
                    coalesce(b.balance, 0) as credits,
                    greatest(u.last_sign_in_at, (select max(s.last_seen_at) from sessions s where s.user_id = u.id)) as last_seen_at,
                    ${DELETION_PENDING} as deletion_pending
               from users u left join credit_balances b on b.user_id = u.id) x`,
    where,
    params,
    limit: f.limit,
    cursor: f.cursor,
    map: (r) => ({
      id: String(r.id),
      email: String(r.email),
      name: String(r.name),
      role: r.role as UserRole,
      status: r.status as UserStatus,
      credits: Number(r.credits),
      createdAt: new Date(r.created_at as string | Date),
      lastSeenAt: r.last_seen_at ? new Date(r.last_seen_at as string | Date) : null,
      emailVerified: r.email_verified === true,
      billingFlag: (r.billing_flag as string | null) ?? null,
      deletionPending: r.deletion_pending === true,
    }),
  });
}

/** The search's row of one user (after an action), or undefined. */
export async function findUserSearchRow(db: DbHandle, userId: string): Promise<UserSearchRow | undefined> {
  return (await searchUsers(db, { q: '', id: userId, limit: 1 }))?.items[0];
}

export type ConsoleUserRow = typeof users.$inferSelect & { signInMethods: string[]; referredBy: { id: string; email: string } | null };

/** The user with their sign-in methods and who invited them, or undefined. */
export async function findConsoleUser(db: DbHandle, userId: string): Promise<ConsoleUserRow | undefined> {
  const [row] = await db.db
    .select({
      user: users,
      methods: sql<
        string[] | null
      >`(select array_agg(${accounts.providerId} order by ${accounts.providerId}) from ${accounts} where ${accounts.userId} = ${users.id})`,
      referrerId: referrals.referrerUserId,
      referrerEmail: sql<string | null>`(select r.email from users r where r.id = ${referrals.referrerUserId})`,
    })
    .from(users)
    .leftJoin(referrals, eq(referrals.referredUserId, users.id))
    .where(eq(users.id, userId));
  if (!row) return undefined;
  return {
    ...row.user,
    signInMethods: row.methods ?? [],
    referredBy: row.referrerId && row.referrerEmail ? { id: row.referrerId, email: row.referrerEmail } : null,
  };
}

export type TargetRow = Pick<typeof users.$inferSelect, 'id' | 'role' | 'status' | 'statusReason'>;

/** The role and status of a user, or undefined. */
export async function findTarget(db: DbHandle, userId: string): Promise<TargetRow | undefined> {
  const [row] = await db.db
    .select({ id: users.id, role: users.role, status: users.status, statusReason: users.statusReason })
    .from(users)
    .where(eq(users.id, userId));
  return row;
}

/** The same, the row locked until the transaction ends (one role or status change at a time). */
export async function lockTarget(tx: DbHandle, userId: string): Promise<TargetRow | undefined> {
  const [row] = await tx.db
    .select({ id: users.id, role: users.role, status: users.status, statusReason: users.statusReason })
    .from(users)
    .where(eq(users.id, userId))
    .for('update');
  return row;
}

/**
 * The active admins, their rows locked until the transaction ends: two admins demoting or
 * suspending each other at the same moment cannot leave the installation without one.
 */
export async function lockActiveAdmins(tx: DbHandle): Promise<string[]> {
  const rows = await tx.db
    .select({ id: users.id })
    .from(users)
    .where(and(eq(users.role, 'admin'), eq(users.status, 'active')))
    .orderBy(users.id)
    .for('update');
  return rows.map((r) => r.id);
}

export async function updateUserStatus(tx: DbHandle, userId: string, status: UserStatus, reason: string | null, at: Date): Promise<void> {
  await tx.db.update(users).set({ status, statusReason: reason, updatedAt: at }).where(eq(users.id, userId));
}

export async function updateUserRole(tx: DbHandle, userId: string, role: UserRole, at: Date): Promise<void> {
  await tx.db.update(users).set({ role, updatedAt: at }).where(eq(users.id, userId));
}

/** The ledger row written with this idempotency key, or undefined. */
export async function findLedgerByKey(db: DbHandle, key: string): Promise<{ userId: string | null; amount: number; reason: string } | undefined> {
  const [row] = await db.db
    .select({ userId: creditLedger.userId, amount: creditLedger.amount, reason: creditLedger.reason })
    .from(creditLedger)
    .where(eq(creditLedger.idempotencyKey, key));
  return row;
}

export async function listDevices(db: DbHandle, userId: string) {
  return db.db
    .select({ fingerprint: userDevices.fingerprint, firstSeenAt: userDevices.firstSeenAt, lastSeenAt: userDevices.lastSeenAt })
    .from(userDevices)
    .where(eq(userDevices.userId, userId))
    .orderBy(desc(userDevices.lastSeenAt))
    .limit(100);
}

export async function latestOrders(db: DbHandle, userId: string, limit: number) {
  return db.db
    .select({
      id: orders.id,
      planName: orders.planName,
      kind: orders.kind,
      status: orders.status,
      credits: orders.credits,
      amountMinor: orders.amountMinor,
      refundedMinor: orders.refundedMinor,
      currency: orders.currency,
      provider: orders.provider,
      createdAt: orders.createdAt,
      paidAt: orders.paidAt,
    })
    .from(orders)
    .where(eq(orders.userId, userId))
    .orderBy(desc(orders.createdAt), desc(orders.id))
    .limit(limit);
}

export async function latestGenerations(db: DbHandle, userId: string, limit: number) {
  return db.db
    .select({
      id: generations.id,
      modelId: generations.modelId,
      status: generations.status,
      priceCredits: generations.priceCredits,
      createdAt: generations.createdAt,
      deletedAt: generations.deletedAt,
    })
    .from(generations)
    .where(eq(generations.userId, userId))
    .orderBy(desc(generations.createdAt), desc(generations.id))
    .limit(limit);
}

/** The user's API keys, without their secret hashes. */
export async function listApiKeys(db: DbHandle, userId: string) {
  return db.db
    .select({
      id: apiKeys.id,
      name: apiKeys.name,
      prefix: apiKeys.prefix,
      scopes: apiKeys.scopes,
      createdAt: apiKeys.createdAt,
      lastUsedAt: apiKeys.lastUsedAt,
      expiresAt: apiKeys.expiresAt,
      revokedAt: apiKeys.revokedAt,
    })
    .from(apiKeys)
    .where(eq(apiKeys.userId, userId))
    .orderBy(desc(apiKeys.createdAt), desc(apiKeys.id))
    .limit(100);
}

export async function listCases(db: DbHandle, userId: string, limit: number) {
  return db.db
    .select({
      id: moderationCases.id,
      subject: moderationCases.subject,
      status: moderationCases.status,
      outcome: moderationCases.outcome,
      topCategory: moderationCases.topCategory,
      severity: moderationCases.severity,
      openedAt: moderationCases.openedAt,
      closedAt: moderationCases.closedAt,
    })
    .from(moderationCases)
    .where(eq(moderationCases.userId, userId))
    .orderBy(desc(moderationCases.openedAt), desc(moderationCases.id))
    .limit(limit);
}

export async function countStrikes(db: DbHandle, userId: string): Promise<number> {
  const [row] = await db.db
    .select({ n: sql<number>`count(*)::int` })
    .from(moderationStrikes)
    .where(eq(moderationStrikes.userId, userId));
  return row?.n ?? 0;
}

export async function listPolicyDismissals(db: DbHandle, userId: string) {
  return db.db
    .select({ document: policyNoticeDismissals.document, version: policyNoticeDismissals.version, dismissedAt: policyNoticeDismissals.dismissedAt })
    .from(policyNoticeDismissals)
    .where(eq(policyNoticeDismissals.userId, userId))
    .orderBy(desc(policyNoticeDismissals.dismissedAt))
    .limit(100);
}

export async function findPendingDeletion(db: DbHandle, userId: string) {
  const [row] = await db.db
    .select({
      id: accountDeletions.id,
      status: accountDeletions.status,
      origin: accountDeletions.origin,
      requestedAt: accountDeletions.requestedAt,
      dueAt: accountDeletions.dueAt,
      reason: accountDeletions.reason,
    })
    .from(accountDeletions)
    .where(and(eq(accountDeletions.userId, userId), inArray(accountDeletions.status, ['scheduled', 'running'])))
    .limit(1);
  return row;
}

export async function latestExports(db: DbHandle, userId: string, limit: number) {
  return db.db
    .select({
      id: dataExports.id,
      status: dataExports.status,
      requestedBy: dataExports.requestedBy,
      createdAt: dataExports.createdAt,
      finishedAt: dataExports.finishedAt,
      expiresAt: dataExports.expiresAt,
    })
    .from(dataExports)
    .where(eq(dataExports.userId, userId))
    .orderBy(desc(dataExports.createdAt), desc(dataExports.id))
    .limit(limit);
}
