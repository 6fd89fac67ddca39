import { Redis } from 'ioredis';
import type { Database } from '../db/client';
import { redactUrl } from '../config';
import { AppError, StartupError } from '../errors';

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
 * A fixed-window counter shared by every web process. A key is any string, e.g.
 * `signin:ip:1.2.3.4`; the window starts with the first hit. Two stores implement it with the same
 * contract (tests/contract/rate-limit.test.ts): PostgreSQL (the default: no extra service) and
 * Redis (when `REDIS_URL` is set: keeps the per-request upsert off the database).
 */
export interface RateLimiter {
  readonly store: 'postgres' | 'redis';
  hit(key: string, limit: number, windowSeconds: number): Promise<RateLimitResult>;
  reset(key: string): Promise<void>;
  /** resolves when the store answers (readiness) */
  ping(): Promise<void>;
  close(): Promise<void>;
}

const result = (count: number, limit: number, retrySeconds: number): RateLimitResult => ({
  allowed: count <= limit,
  count,
  limit,
  remaining: Math.max(0, limit - count),
  retryAfterSeconds: Math.max(1, retrySeconds),
});

/**
 * In the database: one atomic upsert per hit. Expired windows are removed by the
 * maintenance.cleanup job.
 */
export function createRateLimiter(database: Pick<Database, 'sql'>): RateLimiter {
  return {
    store: 'postgres',
    async hit(key, limit, windowSeconds) {
      const [row] = await database.sql.query<{ count: number; retry: number }>(
        `insert into rate_limit_buckets (key, count, reset_at)
         values ($1, 1, now() + make_interval(secs => $2))
         on conflict (key) do update set
           count = case when rate_limit_buckets.reset_at <= now() then 1 else rate_limit_buckets.count + 1 end,
           reset_at = case when rate_limit_buckets.reset_at <= now() then now() + make_interval(secs => $2) else rate_limit_buckets.reset_at end
         returning count, ceil(extract(epoch from reset_at - now()))::int as retry`,
        [key, windowSeconds],
      );
      return result(row!.count, limit, row!.retry);
    },
    async reset(key) {
      await database.sql.query('delete from rate_limit_buckets where key = $1', [key]);
    },
    async ping() {
      await database.sql.query('select 1');
    },
    async close() {},
  };
}

// INCR and the expiry in one step: a key never lives without its window, whatever runs concurrently
const HIT_SCRIPT = `
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if count == 1 or ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}
`;

export interface RedisRateLimiterOptions {
  /** prepended to every key (default `save-sora:rl:`), so one Redis can serve several things */
  prefix?: string;
  onError?: (err: Error) => void;
}

/**
 * In Redis. Keys expire with their window, so nothing needs cleaning. When Redis cannot be reached
 * a hit fails with 503 (the limit is not silently dropped) after a short retry.
 */
export function createRedisRateLimiter(url: string, opts: RedisRateLimiterOptions = {}): RateLimiter & { connect(): Promise<void> } {
  const prefix = opts.prefix ?? 'save-sora:rl:';
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 5_000,
    maxRetriesPerRequest: 2,
    // reconnect with a capped back-off while the process runs
    retryStrategy: (times) => Math.min(times * 200, 2_000),
  });
  // without a listener every failed reconnection would be an unhandled 'error' event
  let lastReport = 0;
  let lastError: Error | null = null;
  client.on('error', (err: Error) => {
    lastError = err;
    if (Date.now() - lastReport < 30_000) return;
    lastReport = Date.now();
    opts.onError?.(err);
  });
  const unavailable = (err: unknown) =>
    new AppError('rate_limit_unavailable', 'The service is briefly unavailable. Try again in a few seconds.', 503, { cause: (err as Error).message });
  return {
    store: 'redis',
    async connect() {
      try {
        await client.connect();
        await client.ping();
      } catch (err) {
        client.disconnect();
        // connect() rejects with "Connection is closed"; the reason came as an 'error' event
        const reason = (lastError ?? (err as Error)).message.replace(/\.$/, '');
        throw new StartupError(`Cannot connect to Redis at REDIS_URL ${redactUrl(url)}: ${reason}.`);
      }
    },
    async hit(key, limit, windowSeconds) {
      let reply: unknown;
      try {
        reply = await client.eval(HIT_SCRIPT, 1, prefix + key, String(windowSeconds * 1000));
      } catch (err) {
        throw unavailable(err);
      }
      const [count, ttlMs] = reply as [number, number];
      return result(Number(count), limit, Math.ceil(Number(ttlMs) / 1000));
    },
    async reset(key) {
      try {
        await client.del(prefix + key);
      } catch (err) {
        throw unavailable(err);
      }
    },
    async ping() {
      await client.ping();
    },
    async close() {
      if (client.status === 'end') return;
      await client.quit().catch(() => client.disconnect());
    },
  };
}

/** The configured store: Redis when `REDIS_URL` is set (checked now), else the database. */
export async function openRateLimiter(
  config: { REDIS_URL?: string | undefined },
  database: Pick<Database, 'sql'>,
  onError?: (err: Error) => void,
): Promise<RateLimiter> {
  if (!config.REDIS_URL) return createRateLimiter(database);
  const limiter = createRedisRateLimiter(config.REDIS_URL, onError ? { onError } : {});
  await limiter.connect();
  return limiter;
}
