import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/server/adapters/clock';
import { AppError, StartupError } from '../../src/server/errors';
import { createRateLimiter, createRedisRateLimiter, openRateLimiter, type RateLimiter } from '../../src/server/lib/rate-limit';
import { closeAll } from '../helpers/close';
import { createTestDatabase, type TestDatabase } from '../helpers/db';
import { testRedisUrl } from '../helpers/redis';

/**
 * One contract, two stores: the database counter table (the default) and Redis (`REDIS_URL`).
 * The Redis half runs wherever a Redis server answers (CI sets REDIS_TEST_URL, which makes it
 * mandatory there); on a machine without one it is skipped, as the default never uses Redis.
 */
const redisUrl = await testRedisUrl();

interface Harness {
  limiter: RateLimiter;
  close(): Promise<void>;
}

/** Each store is timed by a fake clock: windows pass when the test moves it, not by waiting. */
function contract(name: string, make: (clock: FakeClock) => Promise<Harness>, skip = false) {
  describe.skipIf(skip)(`rate-limit store: ${name}`, () => {
    let h: Harness;
    const clock = new FakeClock();
    // keys unique to this run, so a shared Redis or database keeps nothing between runs that matters
    const key = (k: string) => `contract:${randomUUID()}:${k}`;
    beforeAll(async () => {
      h = await make(clock);
    });
    afterAll(async () => {
      await closeAll(h);
    });

    it('counts hits in a window and refuses the one over the limit, with the seconds left', async () => {
      const k = key('basic');
      const results = [];
      for (let i = 0; i < 4; i++) results.push(await h.limiter.hit(k, 3, 60));
      expect(results.map((r) => [r.count, r.allowed, r.remaining])).toEqual([
        [1, true, 2],
        [2, true, 1],
        [3, true, 0],
        [4, false, 0],
      ]);
      for (const r of results) {
        expect(r.limit).toBe(3);
        expect(r.retryAfterSeconds).toBeGreaterThanOrEqual(1);
        expect(r.retryAfterSeconds).toBeLessThanOrEqual(60);
      }
    });

    it('peek reads the count of the current window without counting a hit (0 once it has ended)', async () => {
      const k = key('peek');
      expect(await h.limiter.peek(k)).toBe(0);
      await h.limiter.hit(k, 5, 60);
      await h.limiter.hit(k, 5, 60);
      expect(await h.limiter.peek(k)).toBe(2);
      expect(await h.limiter.peek(k)).toBe(2);
      await clock.advance(61_000);
      expect(await h.limiter.peek(k)).toBe(0);
    });

    it('keys are independent', async () => {
      const a = key('a');
      const b = key('b');
      await h.limiter.hit(a, 1, 60);
      expect((await h.limiter.hit(a, 1, 60)).allowed).toBe(false);
      expect(await h.limiter.hit(b, 1, 60)).toMatchObject({ allowed: true, count: 1 });
    });

    it('a new window starts when the old one has passed', async () => {
      const k = key('window');
      await h.limiter.hit(k, 1, 1);
      expect((await h.limiter.hit(k, 1, 1)).allowed).toBe(false);
      await clock.advance(999);
      expect((await h.limiter.hit(k, 1, 1)).allowed).toBe(false);
      await clock.advance(1);
      expect(await h.limiter.hit(k, 1, 1)).toMatchObject({ allowed: true, count: 1 });
    });

    it('times the window by its clock: the seconds left count down as the clock moves', async () => {
      const k = key('countdown');
      expect((await h.limiter.hit(k, 1, 60)).retryAfterSeconds).toBe(60);
      await clock.advance(20_500);
      expect(await h.limiter.hit(k, 1, 60)).toMatchObject({ allowed: false, count: 2, retryAfterSeconds: 40 });
      await clock.advance(39_500);
      expect(await h.limiter.hit(k, 1, 60)).toMatchObject({ allowed: true, count: 1, retryAfterSeconds: 60 });
    });

    it('reset forgets a key', async () => {
      const k = key('reset');
      await h.limiter.hit(k, 1, 60);
      await h.limiter.reset(k);
      expect(await h.limiter.hit(k, 1, 60)).toMatchObject({ allowed: true, count: 1 });
    });

    it('concurrent hits are each counted once: 40 at once get the counts 1 to 40', async () => {
      const k = key('concurrent');
      const results = await Promise.all(Array.from({ length: 40 }, () => h.limiter.hit(k, 25, 60)));
      expect(results.map((r) => r.count).sort((x, y) => x - y)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
      expect(results.filter((r) => r.allowed)).toHaveLength(25);
    });
  });
}

contract('PostgreSQL', async (clock) => {
  const db: TestDatabase = await createTestDatabase();
  return { limiter: createRateLimiter(db, clock), close: () => db.drop() };
});

contract(
  `Redis${redisUrl ? '' : ' (skipped: no Redis server on 127.0.0.1:6379 and REDIS_TEST_URL unset)'}`,
  async (clock) => {
    const limiter = createRedisRateLimiter(redisUrl!, { prefix: `test:${randomUUID()}:`, clock });
    await limiter.connect();
    return { limiter, close: () => limiter.close() };
  },
  !redisUrl,
);

describe('choosing the rate-limit store', () => {
  it('the database without REDIS_URL; an unreachable REDIS_URL is a start-up error without the password', async () => {
    const db = await createTestDatabase();
    try {
      expect((await openRateLimiter({}, db)).store).toBe('postgres');
      const err = await openRateLimiter({ REDIS_URL: 'redis://:s3cret@127.0.0.1:1/0' }, db).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StartupError);
      expect((err as Error).message).toMatch(/^Cannot connect to Redis at REDIS_URL redis:\/\/:\*\*\*@127\.0\.0\.1:1\/0: .*ECONNREFUSED/);
      expect((err as Error).message).not.toContain('s3cret');
    } finally {
      await db.drop();
    }
  });

  it.skipIf(!redisUrl)('Redis: a counter left by an older version (a plain string key) is replaced by a new window', async () => {
    const prefix = `test:${randomUUID()}:`;
    const raw = new Redis(redisUrl!);
    const limiter = createRedisRateLimiter(redisUrl!, { prefix });
    try {
      await limiter.connect();
      await raw.set(`${prefix}old`, '7', 'PX', 60_000);
      expect(await limiter.hit('old', 3, 60)).toMatchObject({ allowed: true, count: 1 });
      expect(await raw.type(`${prefix}old`)).toBe('hash');
      expect(await raw.pttl(`${prefix}old`)).toBeGreaterThan(59_000);
    } finally {
      await limiter.close();
      raw.disconnect();
    }
  });

  it.skipIf(!redisUrl)('Redis with REDIS_URL; when Redis goes away a hit fails with 503, not an unlimited pass', async () => {
    const db = await createTestDatabase();
    const limiter = await openRateLimiter({ REDIS_URL: redisUrl! }, db);
    try {
      expect(limiter.store).toBe('redis');
      expect((await limiter.hit(`contract:${randomUUID()}`, 5, 60)).count).toBe(1);
      // a client whose server cannot be reached (nothing listens there) fails the hit
      const gone = createRedisRateLimiter('redis://127.0.0.1:1');
      const err = await gone.hit('x', 1, 60).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AppError);
      expect(err).toMatchObject({ status: 503, code: 'rate_limit_unavailable' });
      await gone.close();
    } finally {
      await limiter.close();
      await db.drop();
    }
  });
});
