import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, onPostgresServer, type TestDatabase } from '../helpers/db';
import { childEnv, cli, startServerProcess, type ServerProcess } from '../helpers/process';
import { testRedisUrl } from '../helpers/redis';
import { until } from '../helpers/wait';

const redisUrl = await testRedisUrl();

/**
 * The per-key rate limit holds across web processes: its state is in PostgreSQL, so two
 * `--role=web` processes behind a load balancer count the same requests. Then the same with the
 * counters in Redis (`REDIS_URL`). PostgreSQL pass only (the embedded database admits one process).
 */
describe.skipIf(!onPostgresServer())('API rate limits across two web processes', () => {
  let db: TestDatabase;
  const procs: ServerProcess[] = [];
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await Promise.all(procs.map((p) => p.stop()));
    await (db as TestDatabase | undefined)?.drop();
  });

  async function sixRequests(email: string, extraEnv: Record<string, string>) {
    const env = childEnv({ DATABASE_URL: db.url, API_RATE_PER_MINUTE: '5', API_USER_RATE_PER_MINUTE: '100' });
    expect((await cli(['user:create', '--email', email, '--password', 'long enough 1'], env)).code).toBe(0);
    const created = await cli(['apikey:create', '--email', email, '--name', 'load test', '--json'], env);
    expect(created.code, created.stderr).toBe(0);
    const { secret, id } = JSON.parse(created.stdout) as { secret: string; id: string };

    const urls: string[] = [];
    for (let i = 0; i < 2; i++) {
      const web = startServerProcess(
        ['--role=web'],
        childEnv({ DATABASE_URL: db.url, PORT: '0', HOST: '127.0.0.1', API_RATE_PER_MINUTE: '5', API_USER_RATE_PER_MINUTE: '100', ...extraEnv }),
      );
      procs.push(web);
      urls.push((await web.waitFor(/"url":"http:\/\/127\.0\.0\.1:\d+"/)).slice(7, -1));
    }
    const auth = { authorization: `Bearer ${secret}` };
    const statuses: number[] = [];
    let limited: Response | undefined;
    for (let i = 0; i < 6; i++) {
      const res = await fetch(`${urls[i % 2]!}/v1/videos`, { headers: auth });
      statuses.push(res.status);
      if (res.status === 429) limited = res;
      else expect(res.headers.get('x-ratelimit-remaining')).toBe(String(4 - i));
    }
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);
    expect(Number(limited!.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(limited!.headers.get('x-ratelimit-limit')).toBe('5');
    expect(((await limited!.json()) as { error: { type: string; code: string } }).error).toMatchObject({
      type: 'rate_limit_error',
      code: 'rate_limit_exceeded',
    });

    // each process writes its log row after the response: wait for all six
    const logged = () =>
      db.sql.query<{ status: number; bytes_out: number }>('select status, bytes_out from api_request_log where key_id = $1 order by id', [id]);
    const log = await until(
      async () => {
        const rows = await logged();
        return rows.length >= 6 && rows;
      },
      { what: 'six request log rows' },
    );
    // two processes write the rows, so their order is not the requests' order
    expect(log.map((l) => l.status).sort((a, b) => a - b)).toEqual([200, 200, 200, 200, 200, 429]);
    expect(log.every((l) => l.bytes_out > 0)).toBe(true);
    return { id, urls };
  }

  it('the 6th request in a minute gets 429 with Retry-After, whichever process serves it; every request is logged', async () => {
    const { id, urls } = await sixRequests('ratelimit@example.com', {});
    expect(((await (await fetch(`${urls[0]!}/readyz`)).json()) as { checks: object }).checks).toEqual({ database: 'ok', queue: 'ok' });
    const [bucket] = await db.sql.query<{ count: number }>('select count::int as count from rate_limit_buckets where key = $1', [`api:key:${id}`]);
    expect(bucket?.count).toBe(6);
  }, 120_000);

  it.skipIf(!redisUrl)(
    'the same with the counters in Redis (REDIS_URL): nothing is counted in the database',
    async () => {
      const { id, urls } = await sixRequests('ratelimit-redis@example.com', { REDIS_URL: redisUrl! });
      expect(((await (await fetch(`${urls[1]!}/readyz`)).json()) as { checks: object }).checks).toEqual({ database: 'ok', queue: 'ok', redis: 'ok' });
      const buckets = await db.sql.query('select key from rate_limit_buckets where key = $1', [`api:key:${id}`]);
      expect(buckets).toHaveLength(0);
    },
    120_000,
  );
});
