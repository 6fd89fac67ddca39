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
  // `slim-1`: the tarball's layout (slimDataDirTar), so a cached template of another layout is rebuilt
  const h = createHash('sha256').update(boss.version).update('slim-1');
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
  fs.writeFileSync(tmp, slimDataDirTar(gunzipSync(Buffer.from(await blob.arrayBuffer()))));
  fs.renameSync(tmp, file);
  return file;
}

/**
 * The data dir tarball without what no test reads, so each of the ~190 loads of a run copies half
 * the bytes into PGlite's in-memory file system (about 0.1-0.2 s less CPU per app start): the
 * `template0` and `template1` databases (`base/1`, `base/4`: PGlite tests never CREATE DATABASE),
 * and the zero-filled tail of the current WAL segment (16 MB, of which the migrations use a part;
 * PostgreSQL reads WAL only up to the last checkpoint's record and extends the file as it writes).
 * A plain ustar walk: 512-byte headers, data padded to 512 bytes.
 */
export function slimDataDirTar(tar: Buffer): Buffer {
  const out: Buffer[] = [];
  let pending: Buffer[] = []; // a pax header ('x') belongs to the entry after it
  let off = 0;
  const field = (h: Buffer, start: number, len: number) =>
    h
      .subarray(start, start + len)
      .toString('latin1')
      .replace(/\0.*$/s, '');
  while (off + 512 <= tar.length) {
    const header = tar.subarray(off, off + 512);
    if (header.every((b) => b === 0)) break; // end of archive
    const prefix = field(header, 345, 155);
    const name = (prefix ? `${prefix}/` : '') + field(header, 0, 100);
    const size = parseInt(field(header, 124, 12).trim() || '0', 8);
    const type = String.fromCharCode(header[156]!);
    const data = tar.subarray(off + 512, off + 512 + size);
    off += 512 + Math.ceil(size / 512) * 512;
    if (type === 'x') {
      pending.push(Buffer.from(header), Buffer.from(data), Buffer.alloc((512 - (size % 512)) % 512));
      continue;
    }
    const entry = pending;
    pending = [];
    if (/^\/?base\/(1|4)(\/|$)/.test(name)) continue;
    if (type === '0' && !entry.length && /^\/?pg_wal\/[0-9A-F]{24}$/.test(name)) {
      let end = data.length;
      while (end > 0 && data[end - 1] === 0) end--;
      end = Math.min(data.length, Math.ceil(end / 8192) * 8192);
      const h = Buffer.from(header);
      h.write(end.toString(8).padStart(11, '0') + '\0', 124, 12, 'latin1');
      h.fill(' ', 148, 156);
      let sum = 0;
      for (const b of h) sum += b;
      h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'latin1');
      out.push(h, data.subarray(0, end), Buffer.alloc((512 - (end % 512)) % 512));
      continue;
    }
    out.push(...entry, Buffer.from(header), Buffer.from(data), Buffer.alloc((512 - (size % 512)) % 512));
  }
  out.push(Buffer.alloc(1024));
  return Buffer.concat(out);
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
    // templates of other schemas (older checkouts). Another run on this server may be using one right
    // now (a second checkout, another branch): a template that has clones belongs to a run in progress
    // (each run drops its clones when it ends), and one somebody is connected to cannot be dropped; both stay.
    const names = (await admin.query(`select datname from pg_database where datname like $1`, [`${base}\\_tpl\\_%`])).rows as { datname: string }[];
    const all = new Set(names.map((r) => r.datname));
    const templates = [...all].filter((n) => /_tpl_[0-9a-f]+$/.test(n) && n !== template);
    for (const t of templates) {
      if ([...all].some((n) => n.startsWith(`${t}_t_`))) continue;
      await admin.query(`drop database if exists "${t}"`).catch(() => undefined);
    }
    await admin.query(`create database "${template}"`);
  } finally {
    await admin.end();
  }
  const db = await openDatabase({ url: withDatabase(url, template), poolSize: 1 });
  await migrate(db);
  await db.close();
  return template;
}
