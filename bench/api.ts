import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import pino from 'pino';
import { parseConfig, type Config } from '../src/server/config';
import { openDatabase } from '../src/server/db/client';
import { migrate } from '../src/server/db/migrate';
import { createRateLimiter, createRedisRateLimiter, type RateLimiter } from '../src/server/lib/rate-limit';
import { startPlatform } from '../src/server/runtime';
import { testRedisUrl } from '../tests/helpers/redis';
import { freePort, postgresAdminUrl, postgresSkipReason, withTempDatabase } from './support';

/**
 * `npm run bench -- api`: the developer API's hot path and its rate-limit stores.
 * 1. `hit()` of each rate-limit store (PGlite in memory, the PostgreSQL server, Redis), 32 at once.
 * 2. `GET /v1/videos?limit=20` with an API key over keep-alive HTTP (key lookup by hash, per-key
 *    and per-user limits, the list query, a request-log row), with the counters in the database
 *    and, when a Redis server answers, in Redis.
 * PostgreSQL runs when DATABASE_URL is set or a server answers on 127.0.0.1:5432; Redis when
 * REDIS_TEST_URL is set or a server answers on 127.0.0.1:6379.
 */
const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 4000);
const CONNECTIONS = Number(process.env.BENCH_CONCURRENCY ?? 32);

async function limiterBench(label: string, limiter: RateLimiter) {
  const latencies: number[] = [];
  const end = Date.now() + DURATION_MS;
  let n = 0;
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async (_, c) => {
      while (Date.now() < end) {
        const t0 = performance.now();
        // 256 keys: a busy service with many keys, some of them hot
        await limiter.hit(`bench:${(n++ * 7 + c) % 256}`, 1_000_000, 60);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? 0;
  console.log(
    `rate-limit hit, ${label.padEnd(22)} ${String(Math.round(latencies.length / (DURATION_MS / 1000))).padStart(6)} hits/s  p50 ${pct(50).toFixed(2)} ms  p99 ${pct(99).toFixed(2)} ms  (${CONNECTIONS} at once, in process)`,
  );
}

async function httpLoad(url: string, headers: Record<string, string>) {
  const worker = new Worker(new URL('./http-load.mjs', import.meta.url), { workerData: { url, connections: CONNECTIONS, durationMs: DURATION_MS, headers } });
  const r = await new Promise<{ requests: number; errors: number; p50: number; p99: number }>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  return { ...r, rps: Math.round(r.requests / (DURATION_MS / 1000)) };
}

async function apiBench(label: string, databaseUrl: string | undefined, redisUrl: string | null) {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'savesora-bench-api-'));
  const port = await freePort();
  const config: Config = {
    ...parseConfig({
      PORT: String(port),
      HOST: '127.0.0.1',
      DATA_DIR: dataDir,
      LOG_LEVEL: 'silent',
      NODE_ENV: 'production',
      API_RATE_PER_MINUTE: '100000',
      API_USER_RATE_PER_MINUTE: '100000',
      ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
      ...(redisUrl ? { REDIS_URL: redisUrl } : {}),
    }),
    SESSION_SECRET: 'bench-secret-bench-secret-bench-secret',
    embeddedDatabase: !databaseUrl,
  };
  const database = databaseUrl ? undefined : await openDatabase({});
  const platform = await startPlatform({ config, logger: pino({ level: 'silent' }), role: 'web', ...(database ? { database } : {}) });
  try {
    const user = await platform.ctx.services.users.create({ email: `bench-api-${port}@example.com`, password: 'a fine load test phrase 1', name: 'Bench' });
    const key = await platform.ctx.services.developer.createKey(user.id, { name: 'bench', scopes: ['videos:read'] });
    const r = await httpLoad(`${platform.url!}/v1/videos?limit=20`, { authorization: `Bearer ${key.secret}` });
    const [logged] = await platform.ctx.database.sql.query<{ n: number }>('select count(*)::int as n from api_request_log where key_id = $1', [key.id]);
    console.log(
      `GET /v1/videos, ${label.padEnd(30)} ${String(r.rps).padStart(6)} req/s  p50 ${r.p50.toFixed(2)} ms  p99 ${r.p99.toFixed(2)} ms  errors ${r.errors}  (${CONNECTIONS} connections; ${logged?.n ?? 0} requests in the log)`,
    );
  } finally {
    await platform.stop({ graceful: false });
    await database?.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

export async function apiBenchmarks(): Promise<void> {
  const adminUrl = await postgresAdminUrl();
  const redisUrl = await testRedisUrl();
  console.log(`api: ${DURATION_MS} ms per case; cores: ${os.cpus().length}; node ${process.version}`);

  const pglite = await openDatabase({});
  await migrate(pglite);
  await limiterBench('PGlite (in memory)', createRateLimiter(pglite));
  await pglite.close();
  if (adminUrl) {
    await withTempDatabase(adminUrl, async (url) => {
      const db = await openDatabase({ url, poolSize: 10 });
      await migrate(db);
      await limiterBench('PostgreSQL (pool 10)', createRateLimiter(db));
      await db.close();
    });
  }
  if (redisUrl) {
    const redis = createRedisRateLimiter(redisUrl, { prefix: `bench:${process.pid}:` });
    await redis.connect();
    await limiterBench('Redis (one connection)', redis);
    await redis.close();
  }

  await apiBench('PGlite, counters in the database', undefined, null);
  if (adminUrl) {
    await withTempDatabase(adminUrl, (url) => apiBench('PostgreSQL, counters in PostgreSQL', url, null));
    if (redisUrl) await withTempDatabase(adminUrl, (url) => apiBench('PostgreSQL, counters in Redis', url, redisUrl));
  } else console.log(`  PostgreSQL: skipped (${postgresSkipReason()})`);
  if (!redisUrl) console.log('  Redis: skipped (REDIS_TEST_URL not set and nothing answers on 127.0.0.1:6379)');
}
