import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../../src/server/db/client';
import { jobDefinitions } from '../../src/server/jobs/names';
import { JobQueue } from '../../src/server/jobs/queue';
import { createTestDatabase, type TestDatabase } from '../helpers/db';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => (db as TestDatabase | undefined)?.drop());

describe('starting the job queue', () => {
  it('several processes starting at once create each queue exactly once, without deadlocks', async () => {
    // on the server: one pool per "process"; on PGlite the single connection is shared
    const pools: Database[] = db.url ? await Promise.all(Array.from({ length: 4 }, () => openDatabase({ url: db.url, poolSize: 3 }))) : [db, db, db, db];
    const queues = pools.map((p) => new JobQueue(p, pino({ level: 'silent' }), { supervise: false }));
    try {
      await Promise.all(queues.map((q) => q.start()));
      const rows = await db.sql.query<{ name: string; retry_limit: number; expire_seconds: number }>(
        `select name, retry_limit, expire_seconds from pgboss.queue order by name`,
      );
      expect(rows.map((r) => r.name)).toEqual(jobDefinitions.map((d) => d.name).sort());
      const probe = rows.find((r) => r.name === 'system.probe')!;
      expect(probe).toMatchObject({ retry_limit: 0, expire_seconds: 60 });
    } finally {
      await Promise.all(queues.map((q) => q.stop({ graceful: false })));
      if (db.url) await Promise.all(pools.map((p) => p.close()));
    }
  });
});
