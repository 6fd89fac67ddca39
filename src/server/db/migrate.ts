import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { installQueueSchema } from '../jobs/boss';
import type { Database } from './client';
import { appliedMigrations, ensureMigrationsTable, lockMigrations, recordMigration, runMigrationStatement } from './migrations.repo';

export const MIGRATIONS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../migrations');
export { BOSS_SCHEMA } from '../jobs/boss';

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
    await lockMigrations(tx);
    await ensureMigrationsTable(tx);
    const done = await appliedMigrations(tx);
    const applied: string[] = [];
    for (const file of files) {
      const hash = done.get(file.id);
      if (hash !== undefined) {
        if (hash !== file.hash) throw new Error(`Migration ${file.id} was changed after it was applied; add a new migration instead.`);
        continue;
      }
      for (const statement of file.sql.split('--> statement-breakpoint')) {
        if (statement.trim()) await runMigrationStatement(tx, statement);
      }
      await recordMigration(tx, file.id, file.hash);
      applied.push(file.id);
    }
    await installQueueSchema(tx);
    return { applied, total: files.length };
  });
}
