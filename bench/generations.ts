import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import pino from 'pino';
import { parseConfig, type Config } from '../src/server/config';
import { openDatabase } from '../src/server/db/client';
import { BOSS_SCHEMA } from '../src/server/db/migrate';
import { generationDispatch } from '../src/server/jobs/names';
import { startPlatform, type Platform } from '../src/server/runtime';
import { freePort, postgresAdminUrl, postgresSkipReason, withTempDatabase } from './support';

/**
 * `npm run bench -- generations` (or `npx tsx bench/generations.ts`): the submit path
 * (POST /api/generations: validate, price, hold, insert, enqueue in one transaction) and the read
 * path (GET /api/generations/:id), over real HTTP on localhost, with the platform in the web role
 * only (no workers: every task stays queued, nothing is rendered).
 *
 * Runs on the embedded PGlite, then on PostgreSQL when DATABASE_URL is set or a server answers on
 * 127.0.0.1:5432 (database `test`, user postgres, trust auth); there a fresh database
 * `bench_<random>` is created, migrated by the platform's start, and dropped afterwards.
 *
 * Env: BENCH_CONCURRENCY (16) in-flight requests, BENCH_REQUESTS (2000) per case, BENCH_WARMUP
 * (100) unmeasured requests before each case, BENCH_PGLITE=file|memory (file: PGlite in DATA_DIR
 * as `npm start` runs it), DATABASE_POOL_SIZE for the PostgreSQL pool (platform default 10),
 * BENCH_POSTGRES=0 to skip PostgreSQL.
 */

const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 2000);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 100);
const PGLITE_MODE = process.env.BENCH_PGLITE === 'memory' ? 'memory' : 'file';
const PASSWORD = 'a fine load test phrase 1';
/** local-preview, 2 s at 480p: 2 credits, rendered by ffmpeg (never, here: no workers) */
const BODY = { model: 'local-preview', prompt: 'A paper boat drifting down a rain gutter, close-up', duration: 2, resolution: '480p' };
const CREDITS_PER_USER = 10_000_000;

interface LoadResult {
  requests: number;
  elapsedMs: number;
  p50: number;
  p99: number;
  statuses: Record<string, number>;
  ids: string[][];
}

interface Row {
  database: string;
  case: string;
  requests: number;
  concurrency: number;
  rps: number;
  p50: number;
  p99: number;
  errors: string;
}

interface Client {
  cookie: string;
  userId: string;
}

function load(
  platform: Platform,
  config: Config,
  opts: { method: 'GET' | 'POST'; total: number; clients: { cookie: string; body?: unknown; paths?: string[] }[] },
) {
  const worker = new Worker(new URL('./request-load.mjs', import.meta.url), {
    workerData: {
      baseUrl: platform.url,
      origin: new URL(config.PUBLIC_URL).origin,
      method: opts.method,
      path: '/api/generations',
      total: opts.total,
      concurrency: CONCURRENCY,
      clients: opts.clients,
    },
  });
  return new Promise<LoadResult>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
}

/** A verified user with plenty of credits, signed in (each from its own address: sign-in is limited per IP). */
async function signIn(platform: Platform, config: Config, email: string, n: number): Promise<Client> {
  const u = await platform.ctx.services.users.create({ email, password: PASSWORD, name: 'Bench User', credits: CREDITS_PER_USER });
  const res = await fetch(`${platform.url!}/api/auth/sign-in/email`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: new URL(config.PUBLIC_URL).origin, 'x-forwarded-for': `198.51.100.${(n % 250) + 1}` },
    body: JSON.stringify({ email, password: PASSWORD }),
  });
  if (res.status !== 200) throw new Error(`sign-in of ${email} failed: ${res.status} ${await res.text()}`);
  const cookie = res.headers
    .getSetCookie()
    .map((c) => c.split(';')[0]!)
    .join('; ');
  return { cookie, userId: u.id };
}

function formatErrors(statuses: Record<string, number>): string {
  const bad = Object.entries(statuses).filter(([code]) => !/^2\d\d$/.test(code));
  return bad.length ? bad.map(([code, n]) => `${n}x ${code}`).join(', ') : '0';
}

/** One database: start the web role, make users, run the three cases. */
async function runOn(databaseUrl: string | undefined): Promise<Row[]> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'savesora-bench-gen-'));
  const port = await freePort();
  const config: Config = {
    ...parseConfig({
      PORT: String(port),
      HOST: '127.0.0.1',
      PUBLIC_URL: `http://127.0.0.1:${port}`,
      DATA_DIR: dataDir,
      LOG_LEVEL: 'silent',
      NODE_ENV: 'production',
      GENERATION_MAX_IN_FLIGHT: '100000',
      SIGNUP_FREE_CREDITS: '0',
      // sign-in is rate-limited per IP: each bench user signs in from its own X-Forwarded-For
      TRUST_PROXY: 'true',
      ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
      ...(process.env.DATABASE_POOL_SIZE ? { DATABASE_POOL_SIZE: process.env.DATABASE_POOL_SIZE } : {}),
    }),
    SESSION_SECRET: 'bench-secret-bench-secret-bench-secret',
    embeddedDatabase: !databaseUrl,
  };
  const label = databaseUrl ? `PostgreSQL (pool ${config.DATABASE_POOL_SIZE})` : `PGlite (${PGLITE_MODE === 'memory' ? 'in memory' : 'file'})`;
  // PGlite in memory only when asked; otherwise the platform opens its database as `npm start` does
  const database = !databaseUrl && PGLITE_MODE === 'memory' ? await openDatabase({}) : undefined;
  const t0 = performance.now();
  const platform = await startPlatform({ config, logger: pino({ level: 'silent' }), role: 'web', ...(database ? { database } : {}) });
  const startMs = performance.now() - t0;
  const rows: Row[] = [];
  try {
    const tag = randomBytes(3).toString('hex');
    // scrypt (N=2^17) on create and on sign-in makes this the slow part of the setup: in parallel
    const t0 = performance.now();
    const all = await Promise.all(Array.from({ length: CONCURRENCY + 1 }, (_, i) => signIn(platform, config, `bench-${tag}-${i}@example.com`, i)));
    const users = all.slice(0, CONCURRENCY);
    const single = all[CONCURRENCY]!;
    console.log(
      `  ${label}: platform (web role) started in ${startMs.toFixed(0)} ms, ${all.length} users created and signed in in ${(performance.now() - t0).toFixed(0)} ms`,
    );

    const record = (name: string, r: LoadResult) => {
      const row: Row = {
        database: label,
        case: name,
        requests: r.requests,
        concurrency: CONCURRENCY,
        rps: r.requests / (r.elapsedMs / 1000),
        p50: r.p50,
        p99: r.p99,
        errors: formatErrors(r.statuses),
      };
      rows.push(row);
      console.log(`  ${label} | ${name}: ${Math.round(row.rps)} req/s, p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms, errors ${row.errors}`);
    };

    // warm-up requests are not measured, but their submits count in the row check below
    let submitted = 0;
    const run = async (method: 'GET' | 'POST', clients: { cookie: string; body?: unknown; paths?: string[] }[]) => {
      if (WARMUP) {
        const w = await load(platform, config, { method, total: WARMUP, clients });
        submitted += w.ids.flat().length;
        const bad = formatErrors(w.statuses);
        if (bad !== '0') console.log(`  ${label}: warm-up errors: ${bad}`);
      }
      const r = await load(platform, config, { method, total: REQUESTS, clients });
      submitted += r.ids.flat().length;
      return r;
    };

    // 1. submits, one user per connection
    const submitMulti = await run(
      'POST',
      users.map((u) => ({ cookie: u.cookie, body: BODY })),
    );
    record(`POST /api/generations, ${users.length} users`, submitMulti);

    // 2. submits, every connection the same user (serialized on that user's balance row)
    record('POST /api/generations, 1 user', await run('POST', [{ cookie: single.cookie, body: BODY }]));

    // 3. reads of the tasks case 1 created, each connection reading its own user's
    const readers = users.map((u, i) => ({ cookie: u.cookie, paths: submitMulti.ids[i]!.map((id) => `/api/generations/${id}`) }));
    if (readers.some((r) => r.paths.length === 0)) throw new Error('a user has no generation to read (every submit failed?)');
    record(`GET /api/generations/:id, ${users.length} users`, await run('GET', readers));

    // every 2xx submit must have left one queued generation, one hold and one dispatch job
    const sql = platform.ctx.database.sql;
    const count = async (q: string, params: unknown[] = []) => (await sql.query<{ n: number }>(q, params))[0]!.n;
    const generations = await count(`select count(*)::int as n from generations where status = 'queued'`);
    const holds = await count(`select count(*)::int as n from credit_ledger where kind = 'hold'`);
    const jobs = await count(`select count(*)::int as n from ${BOSS_SCHEMA}.job where name = $1`, [generationDispatch.name]);
    const ok = generations === submitted && holds === submitted && jobs === submitted;
    console.log(
      `  ${label}: ${submitted} submits answered 2xx (warm-up included); in the database: ${generations} queued generations, ${holds} holds, ${jobs} dispatch jobs${ok ? '' : ' -- MISMATCH'}`,
    );
  } finally {
    await platform.stop({ graceful: false });
    await database?.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
  return rows;
}

function printTable(rows: Row[]) {
  const head = ['database', 'case', 'requests', 'concurrency', 'req/s', 'p50 ms', 'p99 ms', 'errors'];
  const cells = rows.map((r) => [
    r.database,
    r.case,
    String(r.requests),
    String(r.concurrency),
    String(Math.round(r.rps)),
    r.p50.toFixed(2),
    r.p99.toFixed(2),
    r.errors,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => c.map((v, i) => (i >= 2 && i <= 6 ? v.padStart(widths[i]!) : v.padEnd(widths[i]!))).join('  ');
  console.log(line(head));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const c of cells) console.log(line(c));
}

export async function generationsBench(): Promise<void> {
  console.log(
    `generations: web role only (no workers), local-preview 2 s 480p, ${REQUESTS} requests per case after ${WARMUP} warm-up, ${CONCURRENCY} in flight (keep-alive HTTP from a worker thread); cores: ${os.cpus().length}; node ${process.version}`,
  );
  const rows: Row[] = [];
  rows.push(...(await runOn(undefined)));

  const adminUrl = await postgresAdminUrl();
  if (!adminUrl) console.log(`  PostgreSQL: skipped (${postgresSkipReason()})`);
  else rows.push(...(await withTempDatabase(adminUrl, runOn)));
  console.log('');
  printTable(rows);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  generationsBench().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
