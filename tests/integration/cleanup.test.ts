import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/server/adapters/clock';
import { seedGeneration } from '../helpers/seed';
import { cleanupExpired } from '../../src/server/domain/system/cleanup';
import { claimChallengeUse } from '../../src/server/domain/abuse/challenge.repo';
import { createUsersService } from '../../src/server/domain/users/users.service';
import { createRateLimiter } from '../../src/server/lib/rate-limit';
import { createTestDatabase, type TestDatabase } from '../helpers/db';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => (db as TestDatabase | undefined)?.drop());

const HOUR = 3600_000;

describe('maintenance cleanup', () => {
  it('removes expired sessions, tokens and rate-limit windows, forgets day-old idempotency keys, and keeps live ones', async () => {
    const clock = new FakeClock();
    const u = await createUsersService({ database: db }).create({ email: 'cleanup@example.com', password: 'long enough' });
    // sessions and one-time tokens are Better Auth's: it dates them with its own time, and they expire by the database's (ADR 14)
    await db.sql.query(
      `insert into sessions (id, user_id, token, expires_at) values
         ('s-old', $1, 't-old', now() - interval '1 minute'), ('s-live', $1, 't-live', now() + interval '1 day')`,
      [u.id],
    );
    await db.sql.query(
      `insert into verifications (id, identifier, value, expires_at) values
         ('v-old', 'x', 'y', now() - interval '1 minute'), ('v-live', 'x', 'y', now() + interval '1 hour')`,
    );
    // rate-limit windows and generations are made as the app makes them, and age on the clock
    const limiter = createRateLimiter(db, clock);
    const generation = (id: string, key: string) => seedGeneration(db, u.id, { id, prompt: 'p', idempotencyKey: key, requestHash: 'h' }, clock.now());
    await limiter.hit('old', 3, 60);
    await generation('00000000-0000-4000-8000-000000000001', 'old-key');
    await clock.advance(23 * HOUR);
    await generation('00000000-0000-4000-8000-000000000002', 'live-key');
    await clock.advance(2 * HOUR);
    await limiter.hit('live', 3, 60);
    // redeemed bot challenges are kept until their expiry (issue 19)
    await claimChallengeUse(db, 'challenge-old', new Date(clock.nowMs() - 1000));
    await claimChallengeUse(db, 'challenge-live', new Date(clock.nowMs() + 600_000));
    // now: the old window ended 25 hours ago, the old key is 25 hours old and the live one 2 hours
    expect(await cleanupExpired(db, clock.now())).toEqual({ sessions: 1, verifications: 1, rateLimitBuckets: 1, idempotencyKeys: 1, challengeUses: 1 });
    expect((await db.sql.query<{ id: string }>('select id from bot_challenge_uses')).map((r) => r.id)).toEqual(['challenge-live']);
    expect((await db.sql.query<{ k: string | null }>('select idempotency_key as k from generations order by id')).map((r) => r.k)).toEqual([null, 'live-key']);
    expect((await db.sql.query<{ id: string }>('select id from sessions')).map((r) => r.id)).toEqual(['s-live']);
    expect((await db.sql.query<{ id: string }>('select id from verifications')).map((r) => r.id)).toEqual(['v-live']);
    expect((await db.sql.query<{ key: string }>('select key from rate_limit_buckets')).map((r) => r.key)).toEqual(['live']);
  });
});

describe('rate limiter', () => {
  it('counts per key in a fixed window and tells when to retry', async () => {
    const clock = new FakeClock();
    const limiter = createRateLimiter(db, clock);
    const results = [];
    for (let i = 0; i < 4; i++) results.push(await limiter.hit('test:key', 3, 60));
    expect(results.map((r) => r.allowed)).toEqual([true, true, true, false]);
    expect(results[3]!.retryAfterSeconds).toBeGreaterThan(0);
    expect(results[3]!.retryAfterSeconds).toBeLessThanOrEqual(60);
    expect((await limiter.hit('test:other', 3, 60)).allowed).toBe(true);
    // an elapsed window starts again at 1
    await clock.advance(60_000);
    expect((await limiter.hit('test:key', 3, 60)).count).toBe(1);
  });

  it('stays exact under concurrent hits', async () => {
    const limiter = createRateLimiter(db);
    const results = await Promise.all(Array.from({ length: 20 }, () => limiter.hit('test:burst', 5, 60)));
    expect(results.filter((r) => r.allowed)).toHaveLength(5);
    expect(results.map((r) => r.count).sort((x, y) => x - y)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
  });
});
