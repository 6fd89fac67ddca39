import { randomUUID } from 'node:crypto';
import { desc, eq } from 'drizzle-orm';
import type { DbHandle } from '../../db/client';
import { retentionRuns } from '../../db/schema';
import { heldGenerationSql, heldMediaSql, heldUserSql } from '../moderation/holds.repo';
import type { RetentionKindId } from './retention';

/**
 * SQL of the retention schedule (retention.ts). Every query takes the kind's cutoff (the instant
 * before which its period has ended) and the clock's `now` (for holds) as parameters, never SQL
 * `now()`; the exceptions are the report's counts of what `maintenance.cleanup` removes by the
 * database's time (Better Auth dates sessions and tokens with its own clock, ADR 14).
 *
 * Deletes are bounded: one batch of at most `limit` rows per statement (the caller runs each batch
 * in its own transaction and loops), chosen with `for update skip locked` so two runs at once never
 * wait on each other or remove a row twice.
 */

/** A table rule: rows of `table` (alias `a`) whose period ended before `$1` (cutoff), unless `held` at `$2` (now). */
interface TableRule {
  table: string;
  /** the columns that identify a row */
  key: readonly string[];
  /** past the period, with `$1::timestamptz` the cutoff */
  past: string;
  /** kept by a legal hold, with `$2::timestamptz` the clock's now (NOTHING_HELD: nothing to hold) */
  held: string;
  /** a statement run first in the batch's transaction (the audit log's trigger refuses deletes without it) */
  unlock?: string;
}

const NOW = '$2::timestamptz';
/** no hold applies (still names the parameter, so its type is known) */
const NOTHING_HELD = '$2::timestamptz is null';
const userHeld = (col: string) => `(${col} is not null and ${heldUserSql(col, NOW)})`;

/** The kinds the retention job removes with one delete per batch. */
export const tableRules = {
  'api-request-log': {
    table: 'api_request_log',
    key: ['id'],
    past: 'a.created_at < $1::timestamptz',
    held: userHeld('a.user_id'),
  },
  'webhook-deliveries': {
    table: 'webhook_deliveries',
    key: ['id'],
    past: 'a.created_at < $1::timestamptz',
    held: `(${userHeld('a.user_id')} or exists (select 1 from generations g where g.id = a.payload->'data'->>'id' and ${heldGenerationSql('g', NOW)}))`,
  },
  'payment-events': {
    table: 'payment_events',
    key: ['provider', 'event_id'],
    past: `a.state in ('applied', 'ignored') and coalesce(a.applied_at, a.received_at) < $1::timestamptz`,
    held: `exists (select 1 from orders o where o.id = a.order_id and ${userHeld('o.user_id')})`,
  },
  'sign-in-devices': {
    table: 'user_devices',
    key: ['user_id', 'fingerprint'],
    past: 'a.last_seen_at < $1::timestamptz',
    held: userHeld('a.user_id'),
  },
  'account-signals': {
    table: 'account_signals',
    key: ['id'],
    past: 'a.last_seen_at < $1::timestamptz',
    held: userHeld('a.user_id'),
  },
  'payment-failures': {
    table: 'payment_failures',
    key: ['id'],
    past: 'a.failed_at < $1::timestamptz',
    held: userHeld('a.user_id'),
  },
  'deleted-account-subscriptions': {
    table: 'subscriptions',
    key: ['id'],
    past: 'a.user_id is null and a.updated_at < $1::timestamptz and not exists (select 1 from orders o where o.subscription_id = a.id)',
    held: NOTHING_HELD,
  },
  'deleted-account-ledger': {
    table: 'credit_ledger',
    key: ['id'],
    past: `a.user_id is null and a.created_at < $1::timestamptz
      and not exists (select 1 from orders o where a.reference like 'order:%' and o.id = substr(a.reference, 7))
      and not exists (select 1 from subscriptions s where a.reference like 'subscription:%' and s.id = substr(a.reference, 14))`,
    held: NOTHING_HELD,
  },
  'account-deletions': {
    table: 'account_deletions',
    key: ['id'],
    past: `a.status = 'completed' and a.completed_at < $1::timestamptz`,
    held: userHeld('a.user_id'),
  },
  'canceled-account-deletions': {
    table: 'account_deletions',
    key: ['id'],
    past: `a.status = 'canceled' and a.canceled_at < $1::timestamptz`,
    held: userHeld('a.user_id'),
  },
  'privacy-requests': {
    table: 'privacy_requests',
    key: ['id'],
    past: `a.status in ('done', 'rejected') and a.closed_at < $1::timestamptz`,
    held: `(${userHeld('a.user_id')} or ${userHeld('a.subject_user_id')})`,
  },
  'mailing-recipients': {
    table: 'mailing_recipients',
    key: ['mailing_id', 'user_id'],
    past: `a.status <> 'pending' and exists (select 1 from mailings m where m.id = a.mailing_id and m.status <> 'sending'
      and coalesce(m.finished_at, m.created_at) < $1::timestamptz)`,
    held: userHeld('a.user_id'),
  },
  'audit-log': {
    table: 'audit_log',
    key: ['id'],
    past: 'a.at < $1::timestamptz',
    held: `(a.target_type = 'user' and ${userHeld('a.target_id')})`,
    unlock: `set local savesora.audit_retention = 'on'`,
  },
  'retention-runs': {
    table: 'retention_runs',
    key: ['id'],
    // (a run that never finished is as old: it crashed long ago)
    past: 'a.started_at < $1::timestamptz',
    held: NOTHING_HELD,
  },
} as const satisfies Partial<Record<RetentionKindId, TableRule>>;

export type TableRuleKind = keyof typeof tableRules;

export interface DueCount {
  /** past the period and not held: what a run would remove now */
  due: number;
  /** past the period but kept by a legal hold */
  held: number;
}

const toCount = (row: { due?: number | string | null; held?: number | string | null } | undefined): DueCount => ({
  due: Number(row?.due ?? 0),
  held: Number(row?.held ?? 0),
});

/** How many rows of a table kind are past their period, due and held. */
export async function countTableRule(db: DbHandle, kind: TableRuleKind, cutoff: Date, now: Date): Promise<DueCount> {
  const r: TableRule = tableRules[kind];
  const [row] = await db.sql.query<{ due: number; held: number }>(
    `select count(*) filter (where not (${r.held}))::int as due, count(*) filter (where ${r.held})::int as held
       from ${r.table} a where ${r.past}`,
    [cutoff.toISOString(), now.toISOString()],
  );
  return toCount(row);
}

/** Deletes one batch (at most `limit` rows) of a table kind that is past its period and not held; returns how many went. */
export async function deleteTableRuleBatch(db: DbHandle, kind: TableRuleKind, cutoff: Date, now: Date, limit: number): Promise<number> {
  const r: TableRule = tableRules[kind];
  const cols = (alias: string) => r.key.map((k) => `${alias}.${k}`).join(', ');
  if (r.unlock) await db.sql.query(r.unlock);
  const rows = await db.sql.query(
    `delete from ${r.table} d where (${cols('d')}) in (
       select ${cols('a')} from ${r.table} a where ${r.past} and not (${r.held}) limit $3 for update skip locked)
     returning 1`,
    [cutoff.toISOString(), now.toISOString(), limit],
  );
  return rows.length;
}

// ---- data exports (the archive goes when the link ends; the record later) -----------------------

const exportHeld = userHeld('a.user_id');

/** Ready exports whose link has ended at `now`, and failed ones still naming a file: what the exports service's `expire` removes. */
const exportFilePast = `((a.status = 'ready' and a.expires_at <= $1::timestamptz) or (a.status = 'failed' and a.storage_key is not null))`;

export async function countExpiredExportFiles(db: DbHandle, now: Date): Promise<DueCount> {
  const [row] = await db.sql.query<{ due: number; held: number }>(
    `select count(*) filter (where not (${exportHeld}))::int as due, count(*) filter (where ${exportHeld})::int as held
       from data_exports a where ${exportFilePast}`,
    [now.toISOString(), now.toISOString()],
  );
  return toCount(row);
}

const exportRecordPast = `a.status in ('expired', 'failed') and coalesce(a.expires_at, a.finished_at, a.created_at) < $1::timestamptz`;

/** Expired or failed export records past the period, not held (a failed build may still name a partial file). */
export async function oldExportRecords(db: DbHandle, cutoff: Date, now: Date, limit: number): Promise<{ id: string; storageKey: string | null }[]> {
  return db.sql.query<{ id: string; storageKey: string | null }>(
    `select a.id, a.storage_key as "storageKey" from data_exports a where ${exportRecordPast} and not (${exportHeld})
      limit $3 for update skip locked`,
    [cutoff.toISOString(), now.toISOString(), limit],
  );
}

export async function countOldExportRecords(db: DbHandle, cutoff: Date, now: Date): Promise<DueCount> {
  const [row] = await db.sql.query<{ due: number; held: number }>(
    `select count(*) filter (where not (${exportHeld}))::int as due, count(*) filter (where ${exportHeld})::int as held
       from data_exports a where ${exportRecordPast}`,
    [cutoff.toISOString(), now.toISOString()],
  );
  return toCount(row);
}

export async function deleteExportRows(db: DbHandle, ids: readonly string[]): Promise<number> {
  if (!ids.length) return 0;
  return (await db.sql.query(`delete from data_exports where id = any($1::text[]) returning 1`, [[...ids]])).length;
}

// ---- orders of deleted accounts ----------------------------------------------------------------

const orderPast = `a.user_id is null and greatest(a.created_at, a.updated_at, coalesce(a.paid_at, a.created_at)) < $1::timestamptz`;

export async function countDeletedAccountOrders(db: DbHandle, cutoff: Date): Promise<DueCount> {
  const [row] = await db.sql.query<{ due: number }>(`select count(*)::int as due from orders a where ${orderPast}`, [cutoff.toISOString()]);
  return { due: row?.due ?? 0, held: 0 };
}

/**
 * One batch of orders of deleted accounts past the period, deleted with the ledger rows that name
 * them (`order:<id>`, kept pseudonymised with the order); returns the orders and ledger rows removed.
 */
export async function deleteDeletedAccountOrdersBatch(db: DbHandle, cutoff: Date, limit: number): Promise<{ orders: number; ledger: number }> {
  const ids = (
    await db.sql.query<{ id: string }>(`select a.id from orders a where ${orderPast} limit $2 for update skip locked`, [cutoff.toISOString(), limit])
  ).map((r) => r.id);
  if (!ids.length) return { orders: 0, ledger: 0 };
  const refs = ids.map((id) => `order:${id}`);
  const ledger = await db.sql.query(`delete from credit_ledger where user_id is null and reference = any($1::text[]) returning 1`, [refs]);
  const orders = await db.sql.query(`delete from orders where id = any($1::text[]) and user_id is null returning 1`, [ids]);
  return { orders: orders.length, ledger: ledger.length };
}

// ---- the mail outbox ---------------------------------------------------------------------------

/** Of `emails` (any case), those of accounts under a legal hold at `now`, lower case. */
export async function heldEmailsAmong(db: DbHandle, emails: readonly string[], now: Date): Promise<Set<string>> {
  if (!emails.length) return new Set();
  const rows = await db.sql.query<{ email: string }>(
    `select lower(u.email) as email from users u where lower(u.email) = any($1::text[]) and ${heldUserSql('u.id', NOW)}`,
    [emails.map((e) => e.toLowerCase()), now.toISOString()],
  );
  return new Set(rows.map((r) => r.email));
}

// ---- what other jobs remove (counted for the report) -------------------------------------------

/** What `maintenance.cleanup`, `media.purge` and the probe remove, counted as they count it. */
export async function countOtherJobsDue(
  db: DbHandle,
  now: Date,
  cutoffs: { deletedCreations: Date; idempotencyKeys: Date; probeRuns: Date },
): Promise<Record<'sessions' | 'one-time-tokens' | 'rate-limit-windows' | 'idempotency-keys' | 'deleted-creations' | 'job-probe-runs', DueCount>> {
  const [row] = await db.sql.query<Record<string, number>>(
    `select
       (select count(*) from sessions where expires_at < now())::int as sessions,
       (select count(*) from verifications where expires_at < now())::int as tokens,
       (select count(*) from rate_limit_buckets where reset_at < $1::timestamptz - interval '1 hour')::int as buckets,
       (select count(*) from generations where idempotency_key is not null and created_at <= $3::timestamptz)::int as keys,
       (select count(*) from generations g where g.deleted_at < $2::timestamptz and not ${heldGenerationSql('g', '$1::timestamptz')})::int
         + (select count(*) from media m where m.deleted_at < $2::timestamptz and not ${heldMediaSql('m', '$1::timestamptz')})::int as creations,
       (select count(*) from generations g where g.deleted_at < $2::timestamptz and ${heldGenerationSql('g', '$1::timestamptz')})::int
         + (select count(*) from media m where m.deleted_at < $2::timestamptz and ${heldMediaSql('m', '$1::timestamptz')})::int as creations_held,
       (select count(*) from job_probe_runs where handled_at < $4::timestamptz)::int as probes`,
    [now.toISOString(), cutoffs.deletedCreations.toISOString(), cutoffs.idempotencyKeys.toISOString(), cutoffs.probeRuns.toISOString()],
  );
  const n = (k: string) => row?.[k] ?? 0;
  return {
    sessions: { due: n('sessions'), held: 0 },
    'one-time-tokens': { due: n('tokens'), held: 0 },
    'rate-limit-windows': { due: n('buckets'), held: 0 },
    'idempotency-keys': { due: n('keys'), held: 0 },
    'deleted-creations': { due: n('creations'), held: n('creations_held') },
    'job-probe-runs': { due: n('probes'), held: 0 },
  };
}

// ---- the run log -------------------------------------------------------------------------------

export type RetentionRunRow = typeof retentionRuns.$inferSelect;
export type RetentionResults = NonNullable<RetentionRunRow['results']>;

export async function insertRetentionRun(db: DbHandle, startedAt: Date): Promise<string> {
  const id = randomUUID();
  await db.db.insert(retentionRuns).values({ id, startedAt });
  return id;
}

export async function finishRetentionRun(db: DbHandle, id: string, finishedAt: Date, results: RetentionResults, error: string | null): Promise<void> {
  await db.db.update(retentionRuns).set({ finishedAt, results, error }).where(eq(retentionRuns.id, id));
}

export async function latestRetentionRun(db: DbHandle): Promise<RetentionRunRow | null> {
  const [row] = await db.db.select().from(retentionRuns).orderBy(desc(retentionRuns.startedAt)).limit(1);
  return row ?? null;
}
