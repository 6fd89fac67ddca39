import type { InferSelectModel, Table } from 'drizzle-orm';
import type { DbHandle } from '../../db/client';
import { rowMapper } from '../../db/rows';
import {
  apiKeys,
  apiRequestLog,
  creditLedger,
  dataExports,
  generations,
  media,
  moderationCases,
  orders,
  privacyRequests,
  sessions,
  subscriptions,
  userDevices,
  users,
  webhookDeliveries,
  webhookEndpoints,
} from '../../db/schema';
import { heldUserSql } from '../moderation/holds.repo';

/**
 * SQL for data exports (privacy policy 5): the `data_exports` rows (one running per user, a lease
 * for the job that builds it) and the paged reads of everything an archive holds. Every read of a
 * user's records is a keyset page (a few hundred rows at a time), so an account of any size is
 * exported in bounded memory. Times are the caller's clock, passed as parameters.
 */

export type ExportRow = typeof dataExports.$inferSelect;
const toExport = rowMapper(dataExports);

// ---------------------------------------------------------------------------------------------
// the export rows

export interface ExportOwner {
  id: string;
  email: string;
  name: string;
  language: string;
}

/** The user, locked until the transaction ends (requests for one user are serialised on it); null when unknown. */
export async function lockExportOwner(tx: DbHandle, userId: string): Promise<ExportOwner | null> {
  const [row] = await tx.sql.query<ExportOwner>('select id, email, name, language from users where id = $1 for no key update', [userId]);
  return row ?? null;
}

export async function findExportOwner(db: DbHandle, userId: string): Promise<ExportOwner | null> {
  const [row] = await db.sql.query<ExportOwner>('select id, email, name, language from users where id = $1', [userId]);
  return row ?? null;
}

/** The user's export that is queued or being built, if any. */
export async function runningExportOf(db: DbHandle, userId: string): Promise<ExportRow | null> {
  const [row] = await db.sql.query(`select * from data_exports where user_id = $1 and status in ('queued', 'building')`, [userId]);
  return row ? toExport(row) : null;
}

/** How many exports of the user were asked for since `since` (by anyone). */
export async function countExportsSince(db: DbHandle, userId: string, since: Date): Promise<number> {
  const [row] = await db.sql.query<{ n: number }>('select count(*)::int as n from data_exports where user_id = $1 and created_at > $2::timestamptz', [
    userId,
    since.toISOString(),
  ]);
  return row?.n ?? 0;
}

/** The oldest export of the user since `since` (to say when the next may be asked for). */
export async function oldestExportSince(db: DbHandle, userId: string, since: Date): Promise<Date | null> {
  const [row] = await db.sql.query<{ at: Date | string | null }>(
    'select min(created_at) as at from data_exports where user_id = $1 and created_at > $2::timestamptz',
    [userId, since.toISOString()],
  );
  return row?.at ? new Date(row.at) : null;
}

export async function insertExport(tx: DbHandle, row: { id: string; userId: string; requestedBy: string | null; createdAt: Date }): Promise<ExportRow> {
  const [inserted] = await tx.db
    .insert(dataExports)
    .values({ ...row, status: 'queued' })
    .returning();
  if (!inserted) throw new Error('the export insert returned no row');
  return inserted;
}

/** The user's exports, newest first. */
export async function listUserExports(db: DbHandle, userId: string, limit: number): Promise<ExportRow[]> {
  const rows = await db.sql.query('select * from data_exports where user_id = $1 order by created_at desc, id desc limit $2', [userId, limit]);
  return rows.map(toExport);
}

export async function getExport(db: DbHandle, id: string): Promise<ExportRow | null> {
  const [row] = await db.sql.query('select * from data_exports where id = $1', [id]);
  return row ? toExport(row) : null;
}

export async function lockExport(tx: DbHandle, id: string): Promise<ExportRow | null> {
  const [row] = await tx.sql.query('select * from data_exports where id = $1 for update', [id]);
  return row ? toExport(row) : null;
}

/** Start (or take over) a build: status building, a new object key, the lease, and `started_at` as this attempt's stamp. */
export async function startBuilding(tx: DbHandle, id: string, attempt: { key: string; startedAt: Date; leaseUntil: Date }): Promise<void> {
  await tx.sql.query(
    `update data_exports set status = 'building', storage_key = $2, started_at = $3::timestamptz, lease_until = $4::timestamptz,
            error = null, contents = null, size_bytes = null
      where id = $1`,
    [id, attempt.key, attempt.startedAt.toISOString(), attempt.leaseUntil.toISOString()],
  );
}

/** Extend the lease of the attempt stamped `startedAt` and record its progress; false when the attempt lost the row. */
export async function renewLease(db: DbHandle, id: string, startedAt: Date, leaseUntil: Date, progress: { done: number; total: number }): Promise<boolean> {
  const rows = await db.sql.query(
    `update data_exports set lease_until = $3::timestamptz, contents = $4::jsonb
      where id = $1 and status = 'building' and started_at = $2::timestamptz returning id`,
    [id, startedAt.toISOString(), leaseUntil.toISOString(), JSON.stringify({ progressDone: progress.done, progressTotal: progress.total })],
  );
  return rows.length > 0;
}

/** The attempt stamped `startedAt` finished: ready until `expiresAt`. Null when the attempt lost the row (taken over, deleted). */
export async function markReady(
  tx: DbHandle,
  id: string,
  startedAt: Date,
  done: { sizeBytes: number; contents: Record<string, number>; finishedAt: Date; expiresAt: Date },
): Promise<ExportRow | null> {
  const [row] = await tx.sql.query(
    `update data_exports set status = 'ready', size_bytes = $3, contents = $4::jsonb, finished_at = $5::timestamptz, expires_at = $6::timestamptz,
            lease_until = null, error = null
      where id = $1 and status = 'building' and started_at = $2::timestamptz returning *`,
    [id, startedAt.toISOString(), done.sizeBytes, JSON.stringify(done.contents), done.finishedAt.toISOString(), done.expiresAt.toISOString()],
  );
  return row ? toExport(row) : null;
}

/** The attempt stamped `startedAt` gave up for good. */
export async function markFailed(db: DbHandle, id: string, startedAt: Date | null, error: string, at: Date): Promise<boolean> {
  const rows = await db.sql.query(
    `update data_exports set status = 'failed', error = $3, finished_at = $4::timestamptz, lease_until = null, storage_key = null
      where id = $1 and status in ('queued', 'building') and ($2::timestamptz is null or started_at = $2::timestamptz) returning id`,
    [id, startedAt?.toISOString() ?? null, error.slice(0, 500), at.toISOString()],
  );
  return rows.length > 0;
}

/** The attempt stamped `startedAt` failed and will be retried: let the next attempt take over at once. */
export async function releaseLease(db: DbHandle, id: string, startedAt: Date, at: Date): Promise<void> {
  await db.sql.query(
    `update data_exports set lease_until = $3::timestamptz, storage_key = null where id = $1 and status = 'building' and started_at = $2::timestamptz`,
    [id, startedAt.toISOString(), at.toISOString()],
  );
}

const expiredSql = `((e.status = 'ready' and e.expires_at <= $1::timestamptz) or (e.status = 'failed' and e.storage_key is not null))`;

/** Ready exports whose link has ended at `now` (and failed ones still naming an object), oldest first; not the ones a legal hold on the user keeps. */
export async function expiredExports(db: DbHandle, now: Date, limit: number): Promise<ExportRow[]> {
  const rows = await db.sql.query(
    `select e.* from data_exports e where ${expiredSql} and not ${heldUserSql('e.user_id', '$1::timestamptz')}
      order by e.expires_at nulls first, e.id limit $2`,
    [now.toISOString(), limit],
  );
  return rows.map(toExport);
}

/** How many ended exports a legal hold on their user keeps. */
export async function heldExpiredCount(db: DbHandle, now: Date): Promise<number> {
  const [row] = await db.sql.query<{ n: number }>(
    `select count(*)::int as n from data_exports e where ${expiredSql} and ${heldUserSql('e.user_id', '$1::timestamptz')}`,
    [now.toISOString()],
  );
  return row?.n ?? 0;
}

/** Mark these exports expired (file gone); returns how many changed. */
export async function markExpired(tx: DbHandle, ids: readonly string[]): Promise<number> {
  if (!ids.length) return 0;
  const rows = await tx.sql.query(
    `update data_exports set status = case when status = 'ready' then 'expired' else status end, storage_key = null
      where id = any($1::text[]) and status in ('ready', 'failed') returning id`,
    [ids],
  );
  return rows.length;
}

// ---------------------------------------------------------------------------------------------
// what an archive holds

/** A keyset position: the last row's ordering time (as the database wrote it, microseconds and all) and id. */
export interface Cursor {
  at: string;
  id: string;
}

export interface Page<T> {
  rows: T[];
  next: Cursor | null;
}

/**
 * One page of `table` rows matching `where` ($1 is the user id), ordered by (`time`, `id`) after
 * `after`. The cursor carries the time as text so that no precision is lost (a JS Date has only
 * milliseconds; Postgres keeps microseconds).
 */
async function keysetPage<T extends Table>(
  db: DbHandle,
  table: T,
  spec: { from: string; time: string; id: string; where: string },
  userId: string,
  after: Cursor | null,
  limit: number,
): Promise<Page<InferSelectModel<T>>> {
  const map = rowMapper(table);
  const params: unknown[] = [userId, limit];
  let position = '';
  if (after) {
    params.push(after.at, after.id);
    position = `and (t.${spec.time}, t.${spec.id}::text) > ($3::timestamptz, $4::text)`;
  }
  const raw = await db.sql.query<Record<string, unknown> & { cursor_at: string; cursor_id: string }>(
    `select t.*, t.${spec.time}::text as cursor_at, t.${spec.id}::text as cursor_id from ${spec.from} t
      where ${spec.where} ${position}
      order by t.${spec.time}, t.${spec.id}::text limit $2`,
    params,
  );
  const last = raw.at(-1);
  return { rows: raw.map(map), next: raw.length === limit && last ? { at: last.cursor_at, id: last.cursor_id } : null };
}

/** One page ordered by a bigserial id (ledger, API request log). */
async function idPage<T extends Table>(
  db: DbHandle,
  table: T,
  from: string,
  userId: string,
  after: number | null,
  limit: number,
): Promise<{ rows: InferSelectModel<T>[]; next: number | null }> {
  const map = rowMapper(table);
  const raw = await db.sql.query<Record<string, unknown> & { id: string | number }>(
    `select t.* from ${from} t where t.user_id = $1 and t.id > $2 order by t.id limit $3`,
    [userId, after ?? 0, limit],
  );
  const last = raw.at(-1);
  return { rows: raw.map(map), next: raw.length === limit && last ? Number(last.id) : null };
}

const own = 't.user_id = $1';

export type SessionRow = typeof sessions.$inferSelect;
export const sessionsPage = (db: DbHandle, userId: string, after: Cursor | null, limit: number) =>
  keysetPage(db, sessions, { from: 'sessions', time: 'created_at', id: 'id', where: own }, userId, after, limit);

export type DeviceRow = typeof userDevices.$inferSelect;
export const devicesPage = (db: DbHandle, userId: string, after: Cursor | null, limit: number) =>
  keysetPage(db, userDevices, { from: 'user_devices', time: 'first_seen_at', id: 'fingerprint', where: own }, userId, after, limit);

export type GenerationRow = typeof generations.$inferSelect;
/** The user's generations, not the ones they deleted (those are unreachable and purged). */
export const generationsPage = (db: DbHandle, userId: string, after: Cursor | null, limit: number) =>
  keysetPage(db, generations, { from: 'generations', time: 'created_at', id: 'id', where: `${own} and t.deleted_at is null` }, userId, after, limit);

export type MediaRow = typeof media.$inferSelect;
export const mediaPage = (db: DbHandle, userId: string, after: Cursor | null, limit: number) =>
  keysetPage(db, media, { from: 'media', time: 'created_at', id: 'id', where: `${own} and t.deleted_at is null` }, userId, after, limit);

export type OrderRow = typeof orders.$inferSelect;
export const ordersPage = (db: DbHandle, userId: string, after: Cursor | null, limit: number) =>
  keysetPage(db, orders, { from: 'orders', time: 'created_at', id: 'id', where: own }, userId, after, limit);

export type SubscriptionRow = typeof subscriptions.$inferSelect;
export const subscriptionsPage = (db: DbHandle, userId: string, after: Cursor | null, limit: number) =>
  keysetPage(db, subscriptions, { from: 'subscriptions', time: 'created_at', id: 'id', where: own }, userId, after, limit);

export type LedgerRow = typeof creditLedger.$inferSelect;
export const ledgerPage = (db: DbHandle, userId: string, after: number | null, limit: number) =>
  idPage(db, creditLedger, 'credit_ledger', userId, after, limit);

export type ApiKeyRow = typeof apiKeys.$inferSelect;
export const apiKeysPage = (db: DbHandle, userId: string, after: Cursor | null, limit: number) =>
  keysetPage(db, apiKeys, { from: 'api_keys', time: 'created_at', id: 'id', where: own }, userId, after, limit);

export type ApiRequestRow = typeof apiRequestLog.$inferSelect;
export const apiRequestsPage = (db: DbHandle, userId: string, after: number | null, limit: number) =>
  idPage(db, apiRequestLog, 'api_request_log', userId, after, limit);

export type WebhookEndpointRow = typeof webhookEndpoints.$inferSelect;
export const webhookEndpointsPage = (db: DbHandle, userId: string, after: Cursor | null, limit: number) =>
  keysetPage(db, webhookEndpoints, { from: 'webhook_endpoints', time: 'created_at', id: 'id', where: own }, userId, after, limit);

export type WebhookDeliveryRow = typeof webhookDeliveries.$inferSelect;
/** Deliveries to the user's own endpoints. */
export const webhookDeliveriesPage = (db: DbHandle, userId: string, after: Cursor | null, limit: number) =>
  keysetPage(
    db,
    webhookDeliveries,
    {
      from: 'webhook_deliveries',
      time: 'created_at',
      id: 'id',
      where: `${own} and exists (select 1 from webhook_endpoints w where w.id = t.endpoint_id and w.user_id = $1)`,
    },
    userId,
    after,
    limit,
  );

export type PrivacyRequestRow = typeof privacyRequests.$inferSelect;
/** The requests the user sent (not reports other people made about them). */
export const privacyRequestsPage = (db: DbHandle, userId: string, after: Cursor | null, limit: number) =>
  keysetPage(db, privacyRequests, { from: 'privacy_requests', time: 'created_at', id: 'id', where: own }, userId, after, limit);

export type ModerationCaseRow = typeof moderationCases.$inferSelect;
/**
 * The decisions taken about the user's material or account: decided cases (an outcome), except
 * those escalated to the CyberTipline (the law forbids telling the person). Cases still being
 * reviewed without a decision are not decisions yet.
 */
export const DECIDED_CASES = `${own} and t.outcome is not null and t.outcome <> 'csam_reported'
  and not exists (select 1 from ncmec_reports r where r.case_id = t.id)`;
export const moderationCasesPage = (db: DbHandle, userId: string, after: Cursor | null, limit: number) =>
  keysetPage(db, moderationCases, { from: 'moderation_cases', time: 'opened_at', id: 'id', where: DECIDED_CASES }, userId, after, limit);

/** Of these cases, the ones that gave the user a strike. */
export async function struckCases(db: DbHandle, userId: string, caseIds: readonly string[]): Promise<Set<string>> {
  if (!caseIds.length) return new Set();
  const rows = await db.sql.query<{ case_id: string }>('select case_id from moderation_strikes where user_id = $1 and case_id = any($2::text[])', [
    userId,
    caseIds,
  ]);
  return new Set(rows.map((r) => r.case_id));
}

export type UserRow = typeof users.$inferSelect;
const toUser = rowMapper(users);

export interface ProfileFacts {
  user: UserRow;
  balance: number;
  held: number;
  /** how the user signs in: `credential` (email and password), `google` */
  signInMethods: string[];
  /** the referral code the user signed up with, if any */
  referredWithCode: string | null;
  /** how many people signed up with the user's code */
  referredCount: number;
  photo: { contentType: string; bytes: number } | null;
}

export async function profileFacts(db: DbHandle, userId: string): Promise<ProfileFacts | null> {
  const [row] = await db.sql.query<
    Record<string, unknown> & {
      x_balance: string | number | null;
      x_held: string | number | null;
      x_methods: string[] | null;
      x_code: string | null;
      x_referred: number;
      x_photo_type: string | null;
      x_photo_bytes: number | null;
    }
  >(
    `select u.*,
            b.balance as x_balance, b.held as x_held,
            (select array_agg(distinct a.provider_id order by a.provider_id) from accounts a where a.user_id = u.id) as x_methods,
            (select r.code from referrals r where r.referred_user_id = u.id) as x_code,
            (select count(*)::int from referrals r where r.referrer_user_id = u.id) as x_referred,
            av.content_type as x_photo_type, octet_length(av.content) as x_photo_bytes
       from users u
       left join credit_balances b on b.user_id = u.id
       left join user_avatars av on av.user_id = u.id
      where u.id = $1`,
    [userId],
  );
  if (!row) return null;
  return {
    user: toUser(row),
    balance: Number(row.x_balance ?? 0),
    held: Number(row.x_held ?? 0),
    signInMethods: row.x_methods ?? [],
    referredWithCode: row.x_code,
    referredCount: row.x_referred,
    photo: row.x_photo_type ? { contentType: row.x_photo_type, bytes: row.x_photo_bytes ?? 0 } : null,
  };
}

export async function profilePhoto(db: DbHandle, userId: string): Promise<{ content: Buffer; contentType: string } | null> {
  const [row] = await db.sql.query<{ content: Uint8Array; content_type: string }>('select content, content_type from user_avatars where user_id = $1', [
    userId,
  ]);
  return row ? { content: Buffer.from(row.content), contentType: row.content_type } : null;
}

/** The notices of policy changes the user dismissed. */
export async function dismissedNotices(db: DbHandle, userId: string): Promise<{ document: string; version: string; dismissedAt: Date }[]> {
  const rows = await db.sql.query<{ document: string; version: string; dismissed_at: Date | string }>(
    'select document, version, dismissed_at from policy_notice_dismissals where user_id = $1 order by dismissed_at, document, version limit 10000',
    [userId],
  );
  return rows.map((r) => ({ document: r.document, version: r.version, dismissedAt: new Date(r.dismissed_at) }));
}

/** Device facts (type, browser, OS) seen in the user's sessions, to name the devices list's entries. */
export async function sessionDeviceFacts(db: DbHandle, userId: string): Promise<{ deviceType: string | null; browser: string | null; os: string | null }[]> {
  return db.sql.query('select distinct device_type as "deviceType", browser, os from sessions where user_id = $1 limit 1000', [userId]);
}

/** How many records of each kind the archive will hold (for the progress shown while it is built). */
export async function countRecords(db: DbHandle, userId: string): Promise<Record<string, number>> {
  const [row] = await db.sql.query<Record<string, number>>(
    `select
       (select count(*)::int from sessions where user_id = $1) as sessions,
       (select count(*)::int from user_devices where user_id = $1) as devices,
       (select count(*)::int from generations where user_id = $1 and deleted_at is null) as generations,
       (select count(*)::int from generations where user_id = $1 and deleted_at is null and status = 'succeeded' and output_url like 'store:%') as creation_files,
       (select count(*)::int from media where user_id = $1 and deleted_at is null) as "references",
       (select count(*)::int from orders where user_id = $1) as orders,
       (select count(*)::int from subscriptions where user_id = $1) as subscriptions,
       (select count(*)::int from credit_ledger where user_id = $1) as ledger,
       (select count(*)::int from api_keys where user_id = $1) as api_keys,
       (select count(*)::int from api_request_log where user_id = $1) as api_requests,
       (select count(*)::int from webhook_endpoints where user_id = $1) as webhook_endpoints,
       (select count(*)::int from webhook_deliveries where user_id = $1) as webhook_deliveries,
       (select count(*)::int from moderation_cases t where ${DECIDED_CASES}) as moderation,
       (select count(*)::int from privacy_requests where user_id = $1) as privacy_requests`,
    [userId],
  );
  return row ?? {};
}
