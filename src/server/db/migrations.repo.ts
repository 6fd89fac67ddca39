import type { DbHandle } from './client';

/**
 * SQL of the migration runner (migrate.ts): its lock and its own record of applied files, the
 * `schema_migrations` table, which the runner creates itself (it is not part of the Drizzle schema:
 * it has to exist before any migration ran).
 */

/** arbitrary constant shared by every process of this app: "savesora" in ASCII, folded to int8 */
const MIGRATION_LOCK_KEY = 0x7361766573_6f72n.toString();

/** Until the transaction ends: processes that start together queue here, one at a time. */
export async function lockMigrations(tx: DbHandle): Promise<void> {
  await tx.sql.query(`select pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`);
}

export async function ensureMigrationsTable(tx: DbHandle): Promise<void> {
  await tx.sql.exec(`create table if not exists schema_migrations (
    id text primary key,
    hash text not null,
    applied_at timestamptz not null default now()
  )`);
}

/** id -> hash of every applied migration */
export async function appliedMigrations(tx: DbHandle): Promise<Map<string, string>> {
  const rows = await tx.sql.query<{ id: string; hash: string }>('select id, hash from schema_migrations');
  return new Map(rows.map((r) => [r.id, r.hash]));
}

/** One statement of a migration file, as written (DDL, several statements allowed). */
export async function runMigrationStatement(tx: DbHandle, statement: string): Promise<void> {
  await tx.sql.exec(statement);
}

export async function recordMigration(tx: DbHandle, id: string, hash: string): Promise<void> {
  await tx.sql.query('insert into schema_migrations (id, hash) values ($1, $2)', [id, hash]);
}
