import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** Helpers shared by the benchmarks. */

const DEFAULT_PG = 'postgres://postgres@127.0.0.1:5432/test';

export { freePort } from '../tests/helpers/net';

/** The PostgreSQL server to use, or null: DATABASE_URL, else the local test server if it answers. */
export async function postgresAdminUrl(): Promise<string | null> {
  if (process.env.BENCH_POSTGRES === '0') return null;
  if (process.env.DATABASE_URL) return process.env.DATABASE_URL;
  const c = new pg.Client({ connectionString: DEFAULT_PG, connectionTimeoutMillis: 1000 });
  c.on('error', () => {});
  try {
    await c.connect();
    await c.end();
    return DEFAULT_PG;
  } catch {
    await c.end().catch(() => {});
    return null;
  }
}

export const postgresSkipReason = () =>
  process.env.BENCH_POSTGRES === '0' ? 'BENCH_POSTGRES=0' : 'DATABASE_URL not set and nothing answers on 127.0.0.1:5432';

async function adminQuery(adminUrl: string, sql: string) {
  const c = new pg.Client({ connectionString: adminUrl });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

/** Run `fn` on a fresh database `bench_<random>` of that server, dropped afterwards. */
export async function withTempDatabase<T>(adminUrl: string, fn: (url: string) => Promise<T>): Promise<T> {
  const name = `bench_${randomBytes(5).toString('hex')}`;
  await adminQuery(adminUrl, `create database "${name}"`);
  try {
    const u = new URL(adminUrl);
    u.pathname = `/${name}`;
    return await fn(u.toString());
  } finally {
    await adminQuery(adminUrl, `drop database if exists "${name}" with (force)`);
  }
}
