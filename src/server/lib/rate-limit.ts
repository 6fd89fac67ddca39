import { Redis } from 'ioredis';
import { systemClock, type Clock } from '../adapters/clock';
import type { Database } from '../db/client';
import { redactUrl } from '../config';
import { AppError, StartupError } from '../errors';
import { deleteBucket, hitBucket, peekBucket, pingDatabase } from './rate-limit.repo';

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
  /** hits in `key`'s current window, without counting one (0 when it has none or it has ended) */
  peek(key: string): Promise<number>;
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
 * In the database: one atomic upsert per hit, windows timed by `clock`. Expired windows are removed
 * by the maintenance.cleanup job.
 */
export function createRateLimiter(database: Pick<Database, 'sql'>, clock: Clock = systemClock): RateLimiter {
  return {
    store: 'postgres',
    async hit(key, limit, windowSeconds) {
      const { count, retrySeconds } = await hitBucket(database, key, windowSeconds, clock.now());
      return result(count, limit, retrySeconds);
    },
    async peek(key) {
      return peekBucket(database, key, clock.now());
    },
    async reset(key) {
      await deleteBucket(database, key);
    },
    async ping() {
      await pingDatabase(database);
    },
    async close() {},
  };
}

/**
 * One hit, atomically: the key is a hash of the count (`c`) and the window's end in the clock's
 * milliseconds (`r`); the time comes in (ARGV: now, window), so Redis's own clock decides nothing.
 * The key expires a minute after its window ends (the slack keeps a window whole when the caller's
 * clock runs slower than Redis's, e.g. a test's fake clock), so nothing needs cleaning. A string
 * key (a counter written before the window end was stored) is replaced.
 */
const HIT_SCRIPT = `
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local kind = redis.call('TYPE', KEYS[1]).ok
if kind ~= 'hash' and kind ~= 'none' then redis.call('DEL', KEYS[1]) end
local reset = tonumber(redis.call('HGET', KEYS[1], 'r'))
local count
if reset == nil or reset <= now then
  reset = now + window
  count = 1
  redis.call('HSET', KEYS[1], 'c', 1, 'r', reset)
else
  count = redis.call('HINCRBY', KEYS[1], 'c', 1)
end
redis.call('PEXPIRE', KEYS[1], reset - now + 60000)
return {count, reset - now}
`;

export interface RedisRateLimiterOptions {
  /** prepended to every key (default `save-sora:rl:`), so one Redis can serve several things */
  prefix?: string;
  onError?: (err: Error) => void;
  /** times the windows (default: the system clock) */
  clock?: Clock;
}

/**
 * In Redis. Keys expire with their window, so nothing needs cleaning. When Redis cannot be reached
 * a hit fails with 503 (the limit is not silently dropped) after a short retry.
 */
export function createRedisRateLimiter(url: string, opts: RedisRateLimiterOptions = {}): RateLimiter & { connect(): Promise<void> } {
  const prefix = opts.prefix ?? 'save-sora:rl:';
  const clock = opts.clock ?? systemClock;
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
        reply = await client.eval(HIT_SCRIPT, 1, prefix + key, String(clock.nowMs()), String(windowSeconds * 1000));
      } catch (err) {
        throw unavailable(err);
      }
      const [count, msLeft] = reply as [number, number];
      return result(count, limit, Math.ceil(msLeft / 1000));
    },
    async peek(key) {
      let fields: (string | null)[];
      try {
        fields = await client.hmget(prefix + key, 'c', 'r');
      } catch (err) {
        throw unavailable(err);
      }
      const [count, reset] = fields;
      // a string key (written before windows were stored) or an ended window counts as none
      if (count == null || reset == null || Number(reset) <= clock.nowMs()) return 0;
      return Number(count);
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
  opts: { onError?: (err: Error) => void; clock?: Clock } = {},
): Promise<RateLimiter> {
  const clock = opts.clock ?? systemClock;
  if (!config.REDIS_URL) return createRateLimiter(database, clock);
  const limiter = createRedisRateLimiter(config.REDIS_URL, { clock, ...(opts.onError ? { onError: opts.onError } : {}) });
  await limiter.connect();
  return limiter;
}
