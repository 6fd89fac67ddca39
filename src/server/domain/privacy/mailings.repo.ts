import { randomUUID } from 'node:crypto';
import { and, eq, isNotNull, sql } from 'drizzle-orm';
import type { DbHandle } from '../../db/client';
import { mailingRecipients, mailings, users, type MailingKind } from '../../db/schema';

/**
 * SQL for mailings (mailings.service.ts): notices to every account (policy 11 and 4.5) and product
 * updates to the accounts that opted in (policy 2 and 5), their recipients, and the opt-in itself.
 *
 * Who a mailing goes to, decided when it is created (the recipients are materialised at once) and
 * checked again just before each message goes out:
 * - notices (`policy-change`, `business-transfer`): every account whose status is `active` or
 *   `suspended` and that is not closed for deletion (`deletion_requested_at` unset). A suspended
 *   account still has its data with us and may come back, so it is told; a terminated one is not.
 * - `product-update`: accounts that are `active`, have a verified address, have opted in
 *   (`marketing_opt_in_at` set) and have no account deletion scheduled or running.
 *
 * A recipient row is `pending` until it is `sent`, `failed` (after a permanent refusal or too many
 * attempts) or `skipped` (no longer eligible when its turn came). While a row is pending,
 * `sent_at` holds the time a sender claimed it: a lease, so that two runs of the send job never
 * mail the same person at once; once sent it is the time the message was accepted.
 */

export type MailingRow = typeof mailings.$inferSelect;

/** SQL text: the user aliased `u` may receive a mailing of this kind now. */
function eligibleSql(kind: MailingKind, u: string): string {
  if (kind === 'product-update') {
    return `(${u}.status = 'active' and ${u}.email_verified and ${u}.marketing_opt_in_at is not null and ${u}.deletion_requested_at is null
      and not exists (select 1 from account_deletions d where d.user_id = ${u}.id and d.status in ('scheduled', 'running')))`;
  }
  return `(${u}.status in ('active', 'suspended') and ${u}.deletion_requested_at is null)`;
}

/**
 * Inserts the mailing unless one with this dedupe key exists: `{ id, created: true }` for a new
 * one, the existing one's id and `created: false` otherwise. (A concurrent insert of the same key
 * waits for the other transaction and then finds its row.)
 */
export async function insertMailing(
  tx: DbHandle,
  m: { kind: MailingKind; dedupeKey: string; content: Record<string, unknown>; createdBy: string | null; now: Date },
): Promise<{ id: string; created: boolean }> {
  const [row] = await tx.db
    .insert(mailings)
    .values({ id: randomUUID(), kind: m.kind, dedupeKey: m.dedupeKey, content: m.content, createdBy: m.createdBy, createdAt: m.now })
    .onConflictDoNothing({ target: mailings.dedupeKey })
    .returning({ id: mailings.id });
  if (row) return { id: row.id, created: true };
  const [existing] = await tx.db.select({ id: mailings.id }).from(mailings).where(eq(mailings.dedupeKey, m.dedupeKey));
  if (!existing) throw new Error(`mailing ${m.dedupeKey} neither inserted nor found`);
  return { id: existing.id, created: false };
}

/** One pending recipient row per eligible account; the number of rows written. */
export async function materialiseRecipients(tx: DbHandle, mailingId: string, kind: MailingKind): Promise<number> {
  const rows = await tx.sql.query<{ n: number }>(
    `with added as (
       insert into mailing_recipients (mailing_id, user_id)
       select $1, u.id from users u where ${eligibleSql(kind, 'u')}
       on conflict do nothing
       returning 1)
     select count(*)::int as n from added`,
    [mailingId],
  );
  return rows[0]?.n ?? 0;
}

/** How many accounts a mailing of this kind would go to now (dry runs). */
export async function countEligible(db: DbHandle, kind: MailingKind): Promise<number> {
  const rows = await db.sql.query<{ n: number }>(`select count(*)::int as n from users u where ${eligibleSql(kind, 'u')}`);
  return rows[0]?.n ?? 0;
}

export async function countRecipients(db: DbHandle, mailingId: string): Promise<number> {
  const rows = await db.sql.query<{ n: number }>('select count(*)::int as n from mailing_recipients where mailing_id = $1', [mailingId]);
  return rows[0]?.n ?? 0;
}

export async function findMailing(db: DbHandle, id: string): Promise<MailingRow | undefined> {
  const [row] = await db.db.select().from(mailings).where(eq(mailings.id, id));
  return row;
}

export interface RecipientCounts {
  pending: number;
  sent: number;
  failed: number;
  skipped: number;
}

export interface MailingSummaryRow extends RecipientCounts {
  id: string;
  kind: MailingKind;
  dedupeKey: string;
  status: MailingRow['status'];
  createdBy: string | null;
  createdAt: Date;
  finishedAt: Date | null;
}

/** The latest mailings (or the one with this id or dedupe key) with their recipients counted by status. */
export async function listMailingSummaries(db: DbHandle, opts: { limit: number; idOrKey?: string | undefined }): Promise<MailingSummaryRow[]> {
  const rows = await db.sql.query<{
    id: string;
    kind: MailingKind;
    dedupe_key: string;
    status: MailingRow['status'];
    created_by: string | null;
    created_at: string | Date;
    finished_at: string | Date | null;
    pending: number;
    sent: number;
    failed: number;
    skipped: number;
  }>(
    `select m.id, m.kind, m.dedupe_key, m.status, m.created_by, m.created_at, m.finished_at,
       count(*) filter (where r.status = 'pending')::int as pending,
       count(*) filter (where r.status = 'sent')::int as sent,
       count(*) filter (where r.status = 'failed')::int as failed,
       count(*) filter (where r.status = 'skipped')::int as skipped
     from mailings m left join mailing_recipients r on r.mailing_id = m.id
     where ($1::text is null or m.id = $1 or m.dedupe_key = $1)
     group by m.id
     order by m.created_at desc, m.id
     limit $2`,
    [opts.idOrKey ?? null, opts.limit],
  );
  return rows.map((r) => ({
    id: r.id,
    kind: r.kind,
    dedupeKey: r.dedupe_key,
    status: r.status,
    createdBy: r.created_by,
    createdAt: new Date(r.created_at),
    finishedAt: r.finished_at === null ? null : new Date(r.finished_at),
    pending: r.pending,
    sent: r.sent,
    failed: r.failed,
    skipped: r.skipped,
  }));
}

/** A recipient claimed for sending, with what the message needs. */
export interface ClaimedRecipient {
  userId: string;
  email: string;
  name: string;
  language: string;
  /** the attempt this claim is (1 for the first) */
  attempts: number;
  /** the lease this claim holds (the `sent_at` it wrote); marking the row checks it */
  claimedAt: Date;
}

/**
 * Claims the next pending recipient of a mailing: not leased (no `sent_at`, or one older than
 * `leaseCutoff`), not among `exclude` (already tried in this run), fewest attempts first. A
 * recipient who is no longer eligible is marked `skipped` on the way (and the next one looked at;
 * `onSkipped` counts them). Returns null when none is claimable now.
 */
export async function claimNextRecipient(
  db: DbHandle,
  m: { mailingId: string; kind: MailingKind; now: Date; leaseCutoff: Date; exclude: readonly string[]; onSkipped?: () => void },
): Promise<ClaimedRecipient | null> {
  for (;;) {
    const rows = await db.sql.query<{ user_id: string; email: string; name: string; language: string; attempts: string | number; eligible: boolean }>(
      `with next as (
         select r.user_id from mailing_recipients r
         where r.mailing_id = $1 and r.status = 'pending' and (r.sent_at is null or r.sent_at < $3::timestamptz)
           and not (r.user_id = any($4::text[]))
         order by r.attempts, r.user_id
         limit 1
         for update skip locked),
       facts as (
         select u.id, u.email, u.name, u.language, ${eligibleSql(m.kind, 'u')} as eligible
         from users u join next on next.user_id = u.id),
       claimed as (
         update mailing_recipients r
         set attempts = case when f.eligible then r.attempts + 1 else r.attempts end,
             sent_at = case when f.eligible then $2::timestamptz else null end,
             status = case when f.eligible then 'pending' else 'skipped' end
         from facts f
         where r.mailing_id = $1 and r.user_id = f.id
         returning r.user_id, r.attempts)
       select c.user_id, f.email, f.name, f.language, c.attempts, f.eligible from claimed c join facts f on f.id = c.user_id`,
      [m.mailingId, m.now.toISOString(), m.leaseCutoff.toISOString(), [...m.exclude]],
    );
    const row = rows[0];
    if (!row) return null;
    if (!row.eligible) {
      m.onSkipped?.();
      continue;
    }
    return { userId: row.user_id, email: row.email, name: row.name, language: row.language, attempts: Number(row.attempts), claimedAt: m.now };
  }
}

/** The claimed message went out: `sent` (only while this claim still holds the row). */
export async function markRecipientSent(db: DbHandle, mailingId: string, userId: string, claimedAt: Date, now: Date): Promise<boolean> {
  const rows = await db.db
    .update(mailingRecipients)
    .set({ status: 'sent', sentAt: now, lastError: null })
    .where(
      and(
        eq(mailingRecipients.mailingId, mailingId),
        eq(mailingRecipients.userId, userId),
        eq(mailingRecipients.status, 'pending'),
        eq(mailingRecipients.sentAt, claimedAt),
      ),
    )
    .returning({ userId: mailingRecipients.userId });
  return rows.length > 0;
}

/** The claimed message could not go out: `failed` for good, or pending again (lease dropped) for a later attempt. */
export async function markRecipientFailed(
  db: DbHandle,
  m: { mailingId: string; userId: string; claimedAt: Date; error: string; final: boolean },
): Promise<void> {
  await db.db
    .update(mailingRecipients)
    .set({ status: m.final ? 'failed' : 'pending', sentAt: null, lastError: m.error.slice(0, 1000) })
    .where(
      and(
        eq(mailingRecipients.mailingId, m.mailingId),
        eq(mailingRecipients.userId, m.userId),
        eq(mailingRecipients.status, 'pending'),
        eq(mailingRecipients.sentAt, m.claimedAt),
      ),
    );
}

/** Pending recipients of a mailing: how many, and the earliest time one of them may be claimed again. */
export async function pendingState(db: DbHandle, mailingId: string, leaseMs: number): Promise<{ pending: number; nextClaimAt: Date | null }> {
  const rows = await db.sql.query<{ pending: number; next_claim_at: string | Date | null; free: number }>(
    `select count(*)::int as pending,
       count(*) filter (where sent_at is null)::int as free,
       min(sent_at) as next_claim_at
     from mailing_recipients where mailing_id = $1 and status = 'pending'`,
    [mailingId],
  );
  const r = rows[0];
  if (!r || r.pending === 0) return { pending: 0, nextClaimAt: null };
  if (r.free > 0 || r.next_claim_at === null) return { pending: r.pending, nextClaimAt: null };
  return { pending: r.pending, nextClaimAt: new Date(new Date(r.next_claim_at).getTime() + leaseMs) };
}

/** Every recipient is done: the mailing is `sent`. */
export async function finishMailing(db: DbHandle, mailingId: string, now: Date): Promise<void> {
  await db.db
    .update(mailings)
    .set({ status: 'sent', finishedAt: now })
    .where(and(eq(mailings.id, mailingId), eq(mailings.status, 'sending')));
}

// --- the product-update opt-in ---------------------------------------------------------------

export interface OptInRow {
  marketingOptInAt: Date | null;
  emailVerified: boolean;
}

export async function findOptIn(db: DbHandle, userId: string): Promise<OptInRow | undefined> {
  const [row] = await db.db.select({ marketingOptInAt: users.marketingOptInAt, emailVerified: users.emailVerified }).from(users).where(eq(users.id, userId));
  return row;
}

/** Opt in (keeps the first opt-in time when already in) or out. */
export async function setOptIn(db: DbHandle, userId: string, optIn: boolean, now: Date): Promise<OptInRow | undefined> {
  const [row] = await db.db
    .update(users)
    .set({ marketingOptInAt: optIn ? sql`coalesce(${users.marketingOptInAt}, ${now.toISOString()}::timestamptz)` : null, updatedAt: now })
    .where(eq(users.id, userId))
    .returning({ marketingOptInAt: users.marketingOptInAt, emailVerified: users.emailVerified });
  return row;
}

/** The one-click unsubscribe: opt out; true when the account was opted in until now. */
export async function optOut(db: DbHandle, userId: string, now: Date): Promise<boolean> {
  const rows = await db.db
    .update(users)
    .set({ marketingOptInAt: null, updatedAt: now })
    .where(and(eq(users.id, userId), isNotNull(users.marketingOptInAt)))
    .returning({ id: users.id });
  return rows.length > 0;
}
