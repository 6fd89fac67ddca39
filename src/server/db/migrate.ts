import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import PgBoss from 'pg-boss';
import type { Database } from './client';

export const MIGRATIONS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../migrations');
/** pg-boss keeps its tables in their own schema */
export const BOSS_SCHEMA = 'pgboss';
/** arbitrary constant shared by every process of this app: "savesora" in ASCII, folded to int8 */
const MIGRATION_LOCK_KEY = 0x7361766573_6f72n.toString();

interface MigrationFile {
  id: string;
  sql: string;
  hash: string;
}

export function readMigrations(dir = MIGRATIONS_DIR): MigrationFile[] {
  return fs
    .readdirSync(dir)
    .filter((f) => /^\d{4}_.+\.sql$/.test(f))
    .sort()
    .map((f) => {
      const sql = fs.readFileSync(path.join(dir, f), 'utf8');
      return { id: f.replace(/\.sql$/, ''), sql, hash: createHash('sha256').update(sql).digest('hex') };
    });
}

export interface MigrateResult {
  applied: string[];
  total: number;
}

/**
 * Apply the committed SQL migrations (forward-only) and install/upgrade pg-boss's schema, in one
 * transaction under a transaction-scoped advisory lock: processes that start together queue
 * behind the lock, and the ones that come second find nothing left to do. An applied migration
 * whose file changed afterwards is an error (migrations are immutable once released).
 */
export async function migrate(database: Database): Promise<MigrateResult> {
  const files = readMigrations();
  return database.transaction(async (tx) => {
    await tx.sql.query(`select pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`);
    await tx.sql.exec(`create table if not exists schema_migrations (
      id text primary key,
      hash text not null,
      applied_at timestamptz not null default now()
    )`);
    const done = new Map((await tx.sql.query<{ id: string; hash: string }>('select id, hash from schema_migrations')).map((r) => [r.id, r.hash]));
    const applied: string[] = [];
    for (const file of files) {
      const hash = done.get(file.id);
      if (hash !== undefined) {
        if (hash !== file.hash) throw new Error(`Migration ${file.id} was changed after it was applied; add a new migration instead.`);
        continue;
      }
      for (const statement of file.sql.split('--> statement-breakpoint')) {
        if (statement.trim()) await tx.sql.exec(statement);
      }
      await tx.sql.query('insert into schema_migrations (id, hash) values ($1, $2)', [file.id, file.hash]);
      applied.push(file.id);
    }
    await installBossSchema(tx.sql);
    return { applied, total: files.length };
  });
}

async function installBossSchema(sql: Database['sql']): Promise<void> {
  const exists = await sql.query<{ n: number }>(
    `select count(*)::int as n from information_schema.tables where table_schema = $1 and table_name = 'version'`,
    [BOSS_SCHEMA],
  );
  if (exists[0]!.n > 0) return; // pg-boss upgrades its own schema on start (under its own lock)
  // pg-boss's construction plan wraps itself in BEGIN/COMMIT; we are already in a transaction.
  const plan = PgBoss.getConstructionPlans(BOSS_SCHEMA)
    .replace(/^\s*BEGIN;\s*/i, '')
    .replace(/\s*COMMIT;\s*$/i, '');
  await sql.exec(plan);
}
