import { and, desc, eq, inArray, isNotNull, sql } from 'drizzle-orm';
import type { DbHandle } from '../../db/client';
import { accountDeletions, accounts, generations, media, subscriptions, users, type AccountDeletionOrigin, type AccountDeletionStatus } from '../../db/schema';
import { deleteUserSessions } from '../auth/auth.repo';

/** SQL for deleting an account (account-deletion.service.ts). */

export interface DeletableUser {
  id: string;
  email: string;
  name: string;
  language: string;
  status: string;
}

/** The user row, locked for the rest of the transaction, or null. */
export async function lockUserForDeletion(tx: DbHandle, userId: string): Promise<DeletableUser | null> {
  const [row] = await tx.db
    .select({ id: users.id, email: users.email, name: users.name, language: users.language, status: users.status })
    .from(users)
    .where(eq(users.id, userId))
    .for('update');
  return row ?? null;
}

export async function findUserForDeletion(db: DbHandle, userId: string): Promise<DeletableUser | null> {
  const [row] = await db.db
    .select({ id: users.id, email: users.email, name: users.name, language: users.language, status: users.status })
    .from(users)
    .where(eq(users.id, userId));
  return row ?? null;
}

/** How the user signs in: `credential` (a password) and/or `google`. */
export async function signInMethodsOf(db: DbHandle, userId: string): Promise<string[]> {
  const rows = await db.db.select({ providerId: accounts.providerId }).from(accounts).where(eq(accounts.userId, userId));
  return rows.map((r) => r.providerId);
}

export type OwnedGeneration = Pick<typeof generations.$inferSelect, 'id' | 'outputUrl' | 'outputThumbnailUrl' | 'outputPreviewUrl'>;
export type OwnedMedia = Pick<typeof media.$inferSelect, 'id' | 'storageKey' | 'previewKey'>;

/** Every generation of the user, deleted ones included (their rows wait for the purge). */
export async function generationsOf(tx: DbHandle, userId: string): Promise<OwnedGeneration[]> {
  return tx.db
    .select({
      id: generations.id,
      outputUrl: generations.outputUrl,
      outputThumbnailUrl: generations.outputThumbnailUrl,
      outputPreviewUrl: generations.outputPreviewUrl,
    })
    .from(generations)
    .where(eq(generations.userId, userId));
}

export async function mediaOf(tx: DbHandle, userId: string): Promise<OwnedMedia[]> {
  return tx.db.select({ id: media.id, storageKey: media.storageKey, previewKey: media.previewKey }).from(media).where(eq(media.userId, userId));
}

export async function deleteGenerationRows(tx: DbHandle, userId: string, ids: readonly string[]): Promise<void> {
  if (ids.length) await tx.db.delete(generations).where(and(eq(generations.userId, userId), inArray(generations.id, [...ids])));
}

export async function deleteMediaRows(tx: DbHandle, userId: string, ids: readonly string[]): Promise<void> {
  if (ids.length) await tx.db.delete(media).where(and(eq(media.userId, userId), inArray(media.id, [...ids])));
}

/** The account row (what still hangs on it goes by cascade; orders, ledger and cases are unlinked by then). */
export async function deleteUserRow(tx: DbHandle, userId: string): Promise<void> {
  await tx.db.delete(users).where(eq(users.id, userId));
}

/** What a hold keeps stays; the account is closed: terminated, signed out, marked to finish deleting later. */
export async function closeHeldAccount(tx: DbHandle, userId: string, reason: string, now: Date): Promise<void> {
  await tx.db.update(users).set({ status: 'terminated', statusReason: reason, deletionRequestedAt: now, updatedAt: now }).where(eq(users.id, userId));
  await deleteUserSessions(tx, userId);
}

/** Accounts whose deletion waits for a legal hold to end. */
export async function accountsPendingDeletion(db: DbHandle, limit: number): Promise<string[]> {
  const rows = await db.db.select({ id: users.id }).from(users).where(isNotNull(users.deletionRequestedAt)).orderBy(users.deletionRequestedAt).limit(limit);
  return rows.map((r) => r.id);
}

// --- account_deletions ------------------------------------------------------------------------

export type DeletionRow = typeof accountDeletions.$inferSelect;

/** The user's deletion that has not run yet (scheduled, or running), or null. */
export async function pendingDeletionOf(db: DbHandle, userId: string): Promise<DeletionRow | null> {
  const [row] = await db.db
    .select()
    .from(accountDeletions)
    .where(and(eq(accountDeletions.userId, userId), inArray(accountDeletions.status, ['scheduled', 'running'])));
  return row ?? null;
}

/** Whether the user's account is scheduled for deletion (or being deleted): new generations are refused. */
export async function hasPendingDeletion(db: DbHandle, userId: string): Promise<boolean> {
  const rows = await db.sql.query(`select 1 from account_deletions where user_id = $1 and status in ('scheduled', 'running') limit 1`, [userId]);
  return rows.length > 0;
}

/** The user's latest deletion that a legal hold stopped half-way (the account is closed), or null. */
export async function closedDeletionOf(db: DbHandle, userId: string): Promise<DeletionRow | null> {
  const [row] = await db.db
    .select()
    .from(accountDeletions)
    .where(and(eq(accountDeletions.userId, userId), eq(accountDeletions.status, 'closed')))
    .orderBy(desc(accountDeletions.requestedAt))
    .limit(1);
  return row ?? null;
}

export async function getDeletion(db: DbHandle, id: string): Promise<DeletionRow | null> {
  const [row] = await db.db.select().from(accountDeletions).where(eq(accountDeletions.id, id));
  return row ?? null;
}

export async function lockDeletion(tx: DbHandle, id: string): Promise<DeletionRow | null> {
  const [row] = await tx.db.select().from(accountDeletions).where(eq(accountDeletions.id, id)).for('update');
  return row ?? null;
}

export interface NewDeletion {
  id: string;
  userId: string;
  subjectRef: string;
  origin: AccountDeletionOrigin;
  actorId: string | null;
  reason: string | null;
  requestedAt: Date;
  dueAt: Date;
}

export async function insertDeletion(tx: DbHandle, d: NewDeletion): Promise<DeletionRow> {
  const [row] = await tx.db
    .insert(accountDeletions)
    .values({ ...d, status: 'scheduled' })
    .returning();
  if (!row) throw new Error('the account deletion insert returned no row');
  return row;
}

export interface DeletionChanges {
  status?: AccountDeletionStatus;
  origin?: AccountDeletionOrigin;
  actorId?: string | null;
  reason?: string | null;
  dueAt?: Date;
  startedAt?: Date | null;
  completedAt?: Date | null;
  canceledAt?: Date | null;
  removed?: Record<string, number>;
  kept?: Record<string, number>;
  lastError?: string | null;
  /** cut the link to the person (the row keeps only the pseudonym) */
  unlink?: true;
}

export async function updateDeletion(db: DbHandle, id: string, c: DeletionChanges): Promise<DeletionRow | null> {
  const { unlink, ...set } = c;
  const [row] = await db.db
    .update(accountDeletions)
    .set({ ...set, ...(unlink ? { userId: null } : {}) })
    .where(eq(accountDeletions.id, id))
    .returning();
  return row ?? null;
}

/** Cancels the user's scheduled deletion (not one that is already running); the canceled row, or null. */
export async function cancelScheduledDeletion(tx: DbHandle, id: string, now: Date): Promise<DeletionRow | null> {
  const [row] = await tx.db
    .update(accountDeletions)
    .set({ status: 'canceled', canceledAt: now })
    .where(and(eq(accountDeletions.id, id), eq(accountDeletions.status, 'scheduled')))
    .returning();
  return row ?? null;
}

/**
 * Deletions to run now: scheduled ones whose grace period is over, and running ones (a run that
 * crashed or was stopped by a payment provider error is taken up again), oldest first.
 */
export async function dueDeletionIds(db: DbHandle, now: Date, limit: number): Promise<string[]> {
  const rows = await db.sql.query<{ id: string }>(
    `select id from account_deletions
      where (status = 'scheduled' and due_at <= $1::timestamptz) or status = 'running'
      order by due_at, id limit $2`,
    [now.toISOString(), limit],
  );
  return rows.map((r) => r.id);
}

// --- subscriptions ----------------------------------------------------------------------------

export type CancelableSubscription = Pick<typeof subscriptions.$inferSelect, 'id' | 'provider' | 'providerRef' | 'status'>;

/** The user's subscriptions the provider may still charge for (active or past due, canceled at the period end or not). */
export async function chargeableSubscriptionsOf(db: DbHandle, userId: string): Promise<CancelableSubscription[]> {
  return db.db
    .select({ id: subscriptions.id, provider: subscriptions.provider, providerRef: subscriptions.providerRef, status: subscriptions.status })
    .from(subscriptions)
    .where(and(eq(subscriptions.userId, userId), inArray(subscriptions.status, ['active', 'past_due'])));
}

/** The provider canceled it at once (for the account's deletion): it ends now. */
export async function markSubscriptionCanceled(db: DbHandle, id: string, now: Date): Promise<void> {
  await db.db
    .update(subscriptions)
    .set({
      status: 'canceled',
      cancelAtPeriodEnd: false,
      currentPeriodEnd: sql`least(coalesce(${subscriptions.currentPeriodEnd}, ${now.toISOString()}::timestamptz), ${now.toISOString()}::timestamptz)`,
      updatedAt: now,
    })
    .where(and(eq(subscriptions.id, id), inArray(subscriptions.status, ['active', 'past_due'])));
}

// --- erasing the account ----------------------------------------------------------------------

const count = async (tx: DbHandle, text: string, params: unknown[]): Promise<number> => {
  const [row] = await tx.sql.query<{ n: number | string }>(`with d as (${text} returning 1) select count(*) as n from d`, params);
  return Number(row?.n ?? 0);
};

/** Storage keys of the user's data exports (their archives go with the account). */
export async function exportKeysOf(tx: DbHandle, userId: string): Promise<string[]> {
  const rows = await tx.sql.query<{ storage_key: string }>(`select storage_key from data_exports where user_id = $1 and storage_key is not null`, [userId]);
  return rows.map((r) => r.storage_key);
}

/**
 * Removes every row about the user that nothing requires us to keep (the account row itself is
 * deleted afterwards by `deleteUserRow`). Counts per kind of record.
 */
export async function removePersonalRows(tx: DbHandle, u: { id: string; email: string }): Promise<Record<string, number>> {
  const id = [u.id];
  const removed: Record<string, number> = {};
  removed.dataExports = await count(tx, `delete from data_exports where user_id = $1`, id);
  removed.webhookDeliveries = await count(
    tx,
    `delete from webhook_deliveries where user_id = $1 or endpoint_id in (select id from webhook_endpoints where user_id = $1)`,
    id,
  );
  removed.webhookEndpoints = await count(tx, `delete from webhook_endpoints where user_id = $1`, id);
  removed.apiKeys = await count(tx, `delete from api_keys where user_id = $1`, id);
  removed.apiRequests = await count(tx, `delete from api_request_log where user_id = $1`, id);
  removed.sessions = await count(tx, `delete from sessions where user_id = $1`, id);
  // the password hash and Google's (encrypted) tokens
  removed.signInMethods = await count(tx, `delete from accounts where user_id = $1`, id);
  // password-reset and email-change tokens carry the user id in their value
  removed.oneTimeTokens = await count(tx, `delete from verifications where position($1 in value) > 0`, id);
  removed.devices = await count(tx, `delete from user_devices where user_id = $1`, id);
  removed.avatars = await count(tx, `delete from user_avatars where user_id = $1`, id);
  removed.referrals = await count(tx, `delete from referrals where referred_user_id = $1 or referrer_user_id = $1`, id);
  removed.noticeDismissals = await count(tx, `delete from policy_notice_dismissals where user_id = $1`, id);
  removed.mailingRecipients = await count(tx, `delete from mailing_recipients where user_id = $1`, id);
  removed.strikes = await count(tx, `delete from moderation_strikes where user_id = $1`, id);
  // rate-limit windows keyed by the account or its address (`uploads:user:<id>`, `signin-email:<email>`)
  removed.rateLimitWindows = await count(
    tx,
    `delete from rate_limit_buckets where right(key, length($1) + 1) = ':' || $1 or right(key, length($2) + 1) = ':' || $2`,
    [u.id, u.email.trim().toLowerCase()],
  );
  // credit movements that back no kept record (orders and subscriptions stay; see pseudonymiseKeptRows)
  removed.ledgerRows = await count(
    tx,
    `delete from credit_ledger l where l.user_id = $1
        and not exists (select 1 from orders o where o.user_id = $1 and l.reference = 'order:' || o.id)
        and not exists (select 1 from subscriptions s where s.user_id = $1 and l.reference = 'subscription:' || s.id)`,
    id,
  );
  removed.creditBalance = await count(tx, `delete from credit_balances where user_id = $1`, id);
  return removed;
}

/**
 * What the law or the policy keeps stays under the pseudonym `ref` instead of the person: orders
 * (without the checkout email), the payment events about them (without the customer's email),
 * subscriptions, the ledger rows that back them, moderation cases, privacy requests (unlinked),
 * released legal holds on the account, and the operator's own actions if the account was an
 * operator's. Counts per kind of record.
 */
export async function pseudonymiseKeptRows(tx: DbHandle, u: { id: string; email: string }, ref: string): Promise<Record<string, number>> {
  const p = [u.id, ref];
  const kept: Record<string, number> = {};
  kept.paymentEvents = await count(
    tx,
    `update payment_events set event = event - 'customerEmail'
      where event ? 'customerEmail' and (order_id in (select id from orders where user_id = $1) or lower(event->>'customerEmail') = lower($2))`,
    [u.id, u.email],
  );
  kept.ledgerRows = await count(tx, `update credit_ledger set user_id = null, subject_ref = $2 where user_id = $1`, p);
  kept.orders = await count(tx, `update orders set user_id = null, subject_ref = $2, checkout_email = null where user_id = $1`, p);
  kept.subscriptions = await count(tx, `update subscriptions set user_id = null, subject_ref = $2 where user_id = $1`, p);
  kept.moderationCases = await count(tx, `update moderation_cases set user_id = null, subject_ref = $2 where user_id = $1`, p);
  kept.privacyRequests = await count(
    tx,
    `update privacy_requests set user_id = case when user_id = $1 then null else user_id end,
        subject_user_id = case when subject_user_id = $1 then null else subject_user_id end
      where user_id = $1 or subject_user_id = $1`,
    [u.id],
  );
  // released (or expired) holds on the account: the record of the hold stays, naming the pseudonym
  kept.legalHolds = await count(tx, `update legal_holds set subject_id = $2 where subject_kind = 'user' and lower(subject_id) = lower($1)`, p);
  // what the person did as a reporter, an appellant or an operator stays with the records, under the pseudonym
  kept.moderationEvents = await count(
    tx,
    `update moderation_events
        set actor_id = case when actor_id = $1 then $2 else actor_id end,
            details = case when details->>'subjectId' = $1 then jsonb_set(details, '{subjectId}', to_jsonb($2::text)) else details end
      where actor_id = $1 or details->>'subjectId' = $1`,
    p,
  );
  for (const [table, column] of [
    ['legal_holds', 'placed_by'],
    ['legal_holds', 'released_by'],
    ['moderation_strikes', 'created_by'],
    ['moderation_term_edits', 'created_by'],
    ['moderation_hash_lists', 'created_by'],
    ['ncmec_reports', 'created_by'],
    ['mailings', 'created_by'],
    ['policy_versions', 'published_by'],
    ['privacy_requests', 'closed_by'],
    ['data_exports', 'requested_by'],
    ['account_deletions', 'actor_id'],
  ] as const) {
    kept.operatorActions = (kept.operatorActions ?? 0) + (await count(tx, `update ${table} set ${column} = $2 where ${column} = $1`, p));
  }
  return kept;
}
