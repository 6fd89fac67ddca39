import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import pg from 'pg';
import { inject } from 'vitest';
import { openDatabase, type Database } from '../../src/server/db/client';
import { withDatabase } from '../setup/template';

export interface TestDatabase extends Database {
  /** connection URL on the PostgreSQL run; undefined on PGlite */
  url: string | undefined;
  /** closes and, on the PostgreSQL run, drops the database */
  drop(): Promise<void>;
}

export const onPostgresServer = () => Boolean(inject('databaseUrl'));

/** the template tarball, read once per worker (a worker runs many files: vitest.config.ts, isolate) */
let template: { file: string; blob: Blob } | undefined;
function pgliteTemplate(file: string): Blob {
  if (template?.file !== file) template = { file, blob: new Blob([fs.readFileSync(file)]) };
  return template.blob;
}

/**
 * A fresh, migrated database for one test file: an in-memory PGlite loaded from the template
 * tarball, or (when DATABASE_URL is set) a new PostgreSQL database cloned from the template.
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  const url = inject('databaseUrl');
  if (!url) {
    const db = await openDatabase({ loadDataDir: pgliteTemplate(inject('pgliteTemplate')) });
    return Object.assign(db, { url: undefined, drop: () => db.close() });
  }
  const template = inject('pgTemplate');
  const name = `${inject('pgRunPrefix')}_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    await admin.query(`create database "${name}" template "${template}"`);
  } finally {
    await admin.end();
  }
  const dbUrl = withDatabase(url, name);
  const db = await openDatabase({ url: dbUrl, poolSize: 5 });
  return Object.assign(db, {
    url: dbUrl,
    async drop() {
      // a connection still in use must not hold the test up: the drop below ends it anyway
      await Promise.race([db.close(), new Promise((r) => setTimeout(r, 10_000).unref())]);
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      await c.query(`drop database if exists "${name}" with (force)`);
      await c.end();
    },
  });
}
