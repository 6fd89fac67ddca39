import type { DbHandle } from '../db/client';

/**
 * SQL of the database rate-limit store (table rate_limit_buckets: one fixed window per key). The
 * time is the caller's clock, passed in: the windows follow the same clock as the rest of the app.
 */

/**
 * Count one hit in `key`'s window, starting a new window of `windowSeconds` when there is none or
 * the old one has ended at `now`. One atomic upsert: concurrent hits are each counted once.
 */
export async function hitBucket(db: Pick<DbHandle, 'sql'>, key: string, windowSeconds: number, now: Date): Promise<{ count: number; retrySeconds: number }> {
  const [row] = await db.sql.query<{ count: number; retry: number }>(
    `insert into rate_limit_buckets (key, count, reset_at)
     values ($1, 1, $3::timestamptz + make_interval(secs => $2))
     on conflict (key) do update set
       count = case when rate_limit_buckets.reset_at <= $3::timestamptz then 1 else rate_limit_buckets.count + 1 end,
       reset_at = case when rate_limit_buckets.reset_at <= $3::timestamptz then $3::timestamptz + make_interval(secs => $2) else rate_limit_buckets.reset_at end
     returning count, ceil(extract(epoch from reset_at - $3::timestamptz))::int as retry`,
    [key, windowSeconds, now.toISOString()],
  );
  if (!row) throw new Error('the rate-limit upsert returned no row');
  return { count: row.count, retrySeconds: row.retry };
}

/** Hits in `key`'s window at `now` without counting one; 0 when there is none or it has ended. */
export async function peekBucket(db: Pick<DbHandle, 'sql'>, key: string, now: Date): Promise<number> {
  const [row] = await db.sql.query<{ count: number }>('select count from rate_limit_buckets where key = $1 and reset_at > $2::timestamptz', [
    key,
    now.toISOString(),
  ]);
  return row?.count ?? 0;
}

export async function deleteBucket(db: Pick<DbHandle, 'sql'>, key: string): Promise<void> {
  await db.sql.query('delete from rate_limit_buckets where key = $1', [key]);
}

/** Windows that ended more than an hour before `now` (the maintenance.cleanup job); returns how many. */
export async function deleteExpiredBuckets(db: Pick<DbHandle, 'sql'>, now: Date): Promise<number> {
  const rows = await db.sql.query(`delete from rate_limit_buckets where reset_at < $1::timestamptz - interval '1 hour' returning 1`, [now.toISOString()]);
  return rows.length;
}

/** Resolves when the database answers (readiness of the database store). */
export async function pingDatabase(db: Pick<DbHandle, 'sql'>): Promise<void> {
  await db.sql.query('select 1');
}
