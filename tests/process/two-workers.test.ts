import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { createProbeService } from '../../src/server/domain/system/probe';
import { JobQueue } from '../../src/server/jobs/queue';
import { createTestDatabase, onPostgresServer, type TestDatabase } from '../helpers/db';
import { childEnv, cli, startServerProcess, type ServerProcess } from '../helpers/process';

/**
 * Scale-out on a PostgreSQL server: two `--role=worker` processes share one queue and no job runs
 * twice. The embedded database admits one process, so this runs in the PostgreSQL pass.
 */
describe.skipIf(!onPostgresServer())('several worker processes on one PostgreSQL server', () => {
  let db: TestDatabase;
  const workers: ServerProcess[] = [];
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await Promise.all(workers.map((w) => w.stop()));
    await (db as TestDatabase | undefined)?.drop();
  });

  it('two --role=worker processes never run the same job', async () => {
    const env = childEnv({ DATABASE_URL: db.url, WORKER_CONCURRENCY: '4', WORKER_POLL_INTERVAL_MS: '100' });
    for (let i = 0; i < 2; i++) workers.push(startServerProcess(['--role=worker'], env));
    await Promise.all(workers.map((w) => w.waitFor(/Save Sora worker is running/)));

    const queue = new JobQueue(db, pino({ level: 'silent' }), { supervise: false });
    await queue.start();
    const probes = createProbeService(db, queue);
    const total = 1000;
    const token = await probes.send(total);
    const result = await probes.waitFor(token, total, 60_000);
    await queue.stop({ graceful: false });

    expect(result.runs).toHaveLength(total);
    expect(new Set(result.runs.map((r) => r.jobId)).size).toBe(total); // no job ran twice
    const perWorker = new Map<string, number>();
    for (const r of result.runs) perWorker.set(r.workerId, (perWorker.get(r.workerId) ?? 0) + 1);
    expect([...perWorker.keys()], JSON.stringify([...perWorker])).toHaveLength(2); // both workers took part
    // nothing is left to run or running
    const left = await db.sql.query<{ n: number }>(`select count(*)::int as n from pgboss.job where name = 'system.probe' and state <> 'completed'`);
    expect(left[0]!.n).toBe(0);
  });

  it('the CLI works directly on the server database and a web process serves alongside the workers', async () => {
    const env = childEnv({ DATABASE_URL: db.url });
    const created = await cli(['user:create', '--email', 'pg@example.com', '--password', 'long enough', '--credits', '7'], env);
    expect(created.code).toBe(0);
    const web = startServerProcess(['--role=web'], childEnv({ DATABASE_URL: db.url, PORT: '0', HOST: '127.0.0.1' }));
    workers.push(web);
    const line = await web.waitFor(/"url":"http:\/\/127\.0\.0\.1:\d+"/);
    const url = line.slice(7, -1);
    expect(await (await fetch(`${url}/readyz`)).json()).toEqual({ status: 'ready', checks: { database: 'ok', queue: 'ok' } });
    const probe = await cli(['queue:probe', '--count', '4'], env);
    expect(probe.code).toBe(0);
    expect(probe.stdout).toMatch(/^4 of 4 probe job\(s\) ran/);
    const listed = await cli(['user:list'], env);
    expect(listed.stdout).toMatch(/pg@example\.com\s+user\s+active\s+7/);
  });
});
