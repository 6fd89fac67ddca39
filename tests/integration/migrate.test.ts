import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { describe, expect, inject, it } from 'vitest';
import { openDatabase } from '../../src/server/db/client';
import { migrate, readMigrations } from '../../src/server/db/migrate';
import { withDatabase } from '../setup/template';

const serverUrl = inject('databaseUrl');

/** an empty database: a fresh in-memory PGlite, or a new database on the server */
async function emptyDatabase() {
  if (!serverUrl) return { url: undefined, drop: async () => {} };
  const name = `${inject('pgRunPrefix')}_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`create database "${name}"`);
  await admin.end();
  return {
    url: withDatabase(serverUrl, name),
    async drop() {
      const c = new pg.Client({ connectionString: serverUrl });
      await c.connect();
      await c.query(`drop database if exists "${name}" with (force)`);
      await c.end();
    },
  };
}

describe('migrations', () => {
  it('apply once, are idempotent, and race safely when processes start together', async () => {
    const target = await emptyDatabase();
    // on the server: two separate connection pools, as two processes would have
    const a = await openDatabase({ url: target.url });
    const b = target.url ? await openDatabase({ url: target.url }) : a;
    try {
      const [ra, rb] = await Promise.all([migrate(a), migrate(b)]);
      const files = readMigrations().map((m) => m.id);
      // exactly one of them applied everything, the other found nothing to do
      expect([...ra.applied, ...rb.applied].sort()).toEqual(files);
      const rows = await a.sql.query<{ id: string }>('select id from schema_migrations order by id');
      expect(rows.map((r) => r.id)).toEqual(files);
      const boss = await a.sql.query<{ n: number }>(`select count(*)::int as n from pgboss.version`);
      expect(boss[0]!.n).toBe(1);
      expect((await migrate(a)).applied).toEqual([]);
    } finally {
      if (b !== a) await b.close();
      await a.close();
      await target.drop();
    }
  });

  it('refuses to run when an applied migration was edited afterwards', async () => {
    const target = await emptyDatabase();
    const db = await openDatabase({ url: target.url });
    try {
      await migrate(db);
      await db.sql.query(`update schema_migrations set hash = 'edited' where id = $1`, [readMigrations()[0]!.id]);
      await expect(migrate(db)).rejects.toThrow(/was changed after it was applied/);
    } finally {
      await db.close();
      await target.drop();
    }
  });
});
