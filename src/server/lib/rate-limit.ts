import type { Database } from '../db/client';

export interface RateLimitResult {
  allowed: boolean;
  /** hits in the current window, including this one */
  count: number;
  limit: number;
  remaining: number;
  /** seconds until the window resets */
  retryAfterSeconds: number;
}

/**
 * Fixed-window rate limiter in the database: one atomic upsert per hit, so the limit holds across
 * every web process. A key is any string, e.g. `signin:ip:1.2.3.4`. Expired windows are removed by
 * the maintenance.cleanup job.
 */
export function createRateLimiter(database: Pick<Database, 'sql'>) {
  return {
    async hit(key: string, limit: number, windowSeconds: number): Promise<RateLimitResult> {
      const [row] = await database.sql.query<{ count: number; retry: number }>(
        `insert into rate_limit_buckets (key, count, reset_at)
         values ($1, 1, now() + make_interval(secs => $2))
         on conflict (key) do update set
           count = case when rate_limit_buckets.reset_at <= now() then 1 else rate_limit_buckets.count + 1 end,
           reset_at = case when rate_limit_buckets.reset_at <= now() then now() + make_interval(secs => $2) else rate_limit_buckets.reset_at end
         returning count, ceil(extract(epoch from reset_at - now()))::int as retry`,
        [key, windowSeconds],
      );
      const count = row!.count;
      return { allowed: count <= limit, count, limit, remaining: Math.max(0, limit - count), retryAfterSeconds: Math.max(1, row!.retry) };
    },
    async reset(key: string): Promise<void> {
      await database.sql.query('delete from rate_limit_buckets where key = $1', [key]);
    },
  };
}
export type RateLimiter = ReturnType<typeof createRateLimiter>;
