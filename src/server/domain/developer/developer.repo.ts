import { and, count, desc, eq, isNull, lt, not, or, sql } from 'drizzle-orm';
import type { DbHandle } from '../../db/client';
import { rowMapper } from '../../db/rows';
import { apiKeys, apiRequestLog } from '../../db/schema';
import { heldUserCondition } from '../moderation/holds.repo';

/**
 * SQL for API keys (api_keys) and the API request log (api_request_log). Times are the caller's
 * clock (`at` / `now`): a key's expiry, revocation and last use, a request's time, the usage days.
 */

export type ApiKeyRow = typeof apiKeys.$inferSelect;
export type NewApiKey = Pick<ApiKeyRow, 'id' | 'userId' | 'name' | 'prefix' | 'secretHash' | 'scopes'> & { expiresInDays: number | null };
export type RequestLogRow = typeof apiRequestLog.$inferSelect;
export type NewRequestLog = Omit<typeof apiRequestLog.$inferInsert, 'id' | 'createdAt'>;
const DAY_MS = 86_400_000;
const toKey = rowMapper(apiKeys);
const toLogRow = rowMapper(apiRequestLog);

export async function countActiveKeys(db: DbHandle, userId: string): Promise<number> {
  const [row] = await db.db
    .select({ n: count() })
    .from(apiKeys)
    .where(and(eq(apiKeys.userId, userId), isNull(apiKeys.revokedAt)));
  return row?.n ?? 0;
}

/** A key created at `at`: it expires `expiresInDays` later (never when null). */
export async function insertApiKey(db: DbHandle, key: NewApiKey, at: Date): Promise<ApiKeyRow> {
  const { expiresInDays, ...fields } = key;
  const [row] = await db.db
    .insert(apiKeys)
    .values({ ...fields, expiresAt: expiresInDays === null ? null : new Date(at.getTime() + expiresInDays * DAY_MS) })
    .returning();
  if (!row) throw new Error('the api key insert returned no row');
  return row;
}

/** The user's keys, newest first (revoked ones too). */
export async function listUserKeys(db: DbHandle, userId: string): Promise<ApiKeyRow[]> {
  return db.db.select().from(apiKeys).where(eq(apiKeys.userId, userId)).orderBy(desc(apiKeys.createdAt));
}

/** Revokes one of the user's keys at `at` (a revoked key stays revoked as it was); false when it is not theirs. */
export async function revokeUserKey(db: DbHandle, userId: string, id: string, at: Date): Promise<boolean> {
  const rows = await db.db
    .update(apiKeys)
    .set({ revokedAt: sql`coalesce(${apiKeys.revokedAt}, ${at.toISOString()}::timestamptz)` })
    .where(and(eq(apiKeys.id, id), eq(apiKeys.userId, userId)))
    .returning({ id: apiKeys.id });
  return rows.length > 0;
}

/** the API rate of the user's running subscription's plan (null: the settings' default) */
const planRateSql = (userIdExpr: string) =>
  `(select p.api_requests_per_minute from subscriptions s join plans p on p.id = s.plan_id
     where s.user_id = ${userIdExpr} and s.status in ('active', 'past_due') order by s.created_at desc limit 1)`;

export async function planRateOf(db: DbHandle, userId: string): Promise<number | null> {
  const [row] = await db.sql.query<{ rate: number | null }>(`select ${planRateSql('$1')} as rate`, [userId]);
  return row?.rate ?? null;
}

export interface KeyWithOwner {
  key: ApiKeyRow;
  userStatus: string;
  /** the API rate of the owner's plan (null: the settings' default) */
  planRate: number | null;
}

/** The key with this secret hash, its owner's status and their plan's rate, in one round trip (this runs on every API request). */
export async function findKeyBySecretHash(db: DbHandle, secretHash: string): Promise<KeyWithOwner | null> {
  const [row] = await db.sql.query<Record<string, unknown> & { user_status: string; plan_rate: number | null }>(
    `select k.*, u.status as user_status, ${planRateSql('k.user_id')} as plan_rate
       from api_keys k join users u on u.id = k.user_id where k.secret_hash = $1`,
    [secretHash],
  );
  return row ? { key: toKey(row), userStatus: row.user_status, planRate: row.plan_rate } : null;
}

/** Records the key's use at `now`, at most once a minute per key. */
export async function touchKeyLastUsed(db: DbHandle, id: string, now: Date): Promise<void> {
  await db.db
    .update(apiKeys)
    .set({ lastUsedAt: now })
    .where(and(eq(apiKeys.id, id), or(isNull(apiKeys.lastUsedAt), lt(apiKeys.lastUsedAt, new Date(now.getTime() - 60_000)))));
}

/** One API request, made at `at`. */
export async function insertRequestLog(db: DbHandle, entry: NewRequestLog, at: Date): Promise<void> {
  await db.db.insert(apiRequestLog).values({ ...entry, createdAt: at });
}

/** the first instant of the UTC day `days - 1` days before the day of `now` (both parameters) */
const sinceDays = (days: string, now: string) =>
  `date_trunc('day', ${now}::timestamptz at time zone 'UTC') at time zone 'UTC' - make_interval(days => ${days} - 1)`;

/** Requests and errors (status >= 400) per UTC day (YYYY-MM-DD) over the last `days` days up to `now`; days without requests are absent. */
export async function requestsPerDay(db: DbHandle, userId: string, days: number, now: Date): Promise<{ day: string; requests: number; errors: number }[]> {
  return db.sql.query(
    `select to_char(date_trunc('day', created_at at time zone 'UTC'), 'YYYY-MM-DD') as day, count(*)::int as requests,
            count(*) filter (where status >= 400)::int as errors
       from api_request_log where user_id = $1 and created_at >= ${sinceDays('$2', '$3')}
      group by 1`,
    [userId, days, now.toISOString()],
  );
}

/** Credits captured per UTC day for videos made through the API over the last `days` days up to `now`. */
export async function apiCreditsPerDay(db: DbHandle, userId: string, days: number, now: Date): Promise<{ day: string; credits: number }[]> {
  const rows = await db.sql.query<{ day: string; credits: string | number }>(
    `select to_char(date_trunc('day', l.created_at at time zone 'UTC'), 'YYYY-MM-DD') as day, coalesce(-sum(l.held_delta), 0) as credits
       from credit_ledger l join generations g on l.reference = 'generation:' || g.id
      where l.user_id = $1 and l.kind = 'capture' and g.api_key_id is not null
        and l.created_at >= ${sinceDays('$2', '$3')}
      group by 1`,
    [userId, days, now.toISOString()],
  );
  return rows.map((r) => ({ day: r.day, credits: Number(r.credits) }));
}

export type RequestLogWithKey = RequestLogRow & { keyName: string | null };

/** The user's most recent API requests, newest first, with the name of the key used. */
export async function recentRequests(db: DbHandle, userId: string, limit: number): Promise<RequestLogWithKey[]> {
  const rows = await db.sql.query<Record<string, unknown> & { key_name: string | null }>(
    `select l.*, k.name as key_name from api_request_log l left join api_keys k on k.id = l.key_id
      where l.user_id = $1 order by l.id desc limit $2`,
    [userId, limit],
  );
  return rows.map((r) => ({ ...toLogRow(r), keyName: r.key_name }));
}

/** Removes request logs older than `retentionDays` before `now`; returns how many. */
export async function deleteOldRequestLogs(db: DbHandle, retentionDays: number, now: Date): Promise<number> {
  const rows = await db.db
    .delete(apiRequestLog)
    .where(
      and(
        sql`${apiRequestLog.createdAt} < ${now.toISOString()}::timestamptz - make_interval(days => ${retentionDays})`,
        // a legal hold on the user keeps their records
        or(isNull(apiRequestLog.userId), not(heldUserCondition(apiRequestLog.userId, now))),
      ),
    )
    .returning({ id: apiRequestLog.id });
  return rows.length;
}
