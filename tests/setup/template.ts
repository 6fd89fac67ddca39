import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import pg from 'pg';
import { openDatabase } from '../../src/server/db/client';
import { migrate, readMigrations } from '../../src/server/db/migrate';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const TMP = path.join(ROOT, '.tmp');

/** Changes whenever the migrations or the pg-boss version change. */
function schemaFingerprint(): string {
  const boss = JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules/pg-boss/package.json'), 'utf8')) as { version: string };
  const h = createHash('sha256').update(boss.version);
  for (const m of readMigrations()) h.update(m.id).update(m.hash);
  return h.digest('hex').slice(0, 16);
}

/**
 * A migrated PGlite data dir as a tarball, built once and reused until the schema changes. Kept
 * uncompressed (40 MB instead of 5): every test file loads it, and gunzipping cost each load
 * about 0.4 s of CPU.
 */
export async function ensurePgliteTemplate(): Promise<string> {
  fs.mkdirSync(TMP, { recursive: true });
  const file = path.join(TMP, `pglite-template-${schemaFingerprint()}.tar`);
  if (fs.existsSync(file)) return file;
  const db = await openDatabase({});
  await migrate(db);
  const blob = await db.dumpDataDir!();
  await db.close();
  const tmp = `${file}.${process.pid}`;
  fs.writeFileSync(tmp, gunzipSync(Buffer.from(await blob.arrayBuffer())));
  fs.renameSync(tmp, file);
  return file;
}

export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/** For the PostgreSQL run: a migrated template database that each test file clones. */
export async function ensurePgTemplate(url: string): Promise<string> {
  const base = new URL(url).pathname.slice(1) || 'postgres';
  const template = `${base}_tpl_${schemaFingerprint()}`.toLowerCase();
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    const exists = await admin.query('select 1 from pg_database where datname = $1', [template]);
    if (exists.rowCount) return template;
    // stale templates and leftovers of earlier runs
    const old = await admin.query(`select datname from pg_database where datname like $1`, [`${base}\\_tpl\\_%`]);
    for (const r of old.rows as { datname: string }[]) await admin.query(`drop database if exists "${r.datname}" with (force)`);
    await admin.query(`create database "${template}"`);
  } finally {
    await admin.end();
  }
  const db = await openDatabase({ url: withDatabase(url, template), poolSize: 1 });
  await migrate(db);
  await db.close();
  return template;
}
