import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GenerationView } from '../../src/shared/api';
import { freePort } from '../helpers/app';
import { TestClient } from '../helpers/client';
import { closeAll } from '../helpers/close';
import { createTestDatabase, onPostgresServer, type TestDatabase } from '../helpers/db';
import { childEnv, cli, startServerProcess, type ServerProcess } from '../helpers/process';
import { startFakeFal, type FakeFal } from '../fakes/fal';
import { startFakeKie, type FakeKie } from '../fakes/kie';
import { until } from '../helpers/wait';

/**
 * SIGKILL while generations are being submitted and polled, then start again: every task
 * finishes, none stays in flight, no upstream task is created twice, and the ledger adds up.
 */
describe('a killed process resumes its generations', () => {
  let kie: FakeKie;
  let fal: FakeFal;
  let db: TestDatabase | undefined;
  let server: ServerProcess | undefined;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'savesora-crash-'));

  beforeAll(async () => {
    [kie, fal] = await Promise.all([startFakeKie({ stepMs: 700 }), startFakeFal({ stepMs: 700 })]);
    if (onPostgresServer()) db = await createTestDatabase();
  });
  afterAll(async () => {
    await server?.stop();
    await closeAll(kie, fal);
    await db?.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('SIGKILL mid-dispatch and mid-poll, restart: all tasks end, settled once, no duplicate upstream task', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const env = childEnv({
      DATA_DIR: dataDir,
      PORT: String(port),
      HOST: '127.0.0.1',
      PUBLIC_URL: url,
      DATABASE_URL: db?.url,
      WORKER_POLL_INTERVAL_MS: '200',
      WORKER_CONCURRENCY: '8',
      PROVIDER_TIMEOUT_MS: '1000',
      GENERATION_MAX_IN_FLIGHT: '100',
      GENERATION_UNKNOWN_OUTCOME_GRACE_SECONDS: '3',
      GENERATION_POLL_MAX_INTERVAL_SECONDS: '2',
      KIE_API_KEY: kie.apiKey,
      KIE_BASE_URL: kie.url,
      KIE_UPLOAD_URL: kie.url,
      KIE_WEBHOOK_HMAC_KEY: kie.hmacKey,
      FAL_KEY: fal.apiKey,
      FAL_QUEUE_URL: fal.url,
      FAL_JWKS_URL: fal.jwksUrl,
    });
    const start = async () => {
      const s = startServerProcess([], env);
      await s.waitFor(/"url":"http:\/\/127\.0\.0\.1:\d+"/, 90_000);
      return s;
    };
    server = await start();
    expect((await cli(['user:create', '--email', 'crash@example.com', '--password', 'restart phrase 1', '--credits', '1000'], env)).code).toBe(0);
    const c = new TestClient(url);
    expect((await c.post('/api/auth/sign-in/email', { email: 'crash@example.com', password: 'restart phrase 1' })).status).toBe(200);

    // the first submits hang upstream for a while (in flight when the process dies)
    kie.inject({ kind: 'delay', ms: 2500 }, 4);
    // all at once, so they are in flight together even on a slow machine
    const ids = await Promise.all(
      Array.from({ length: 12 }, async (_, i) => {
        const res = await c.post('/api/generations', { model: 'kling-3.0', prompt: `crash ${i}`, duration: 3, resolution: '720p', audio: false });
        expect(res.status, res.body).toBe(202);
        return res.json<GenerationView>().id;
      }),
    );
    // let dispatch start and some tasks run upstream (checked, not timed: a loaded machine is
    // slower), then kill without warning
    const statuses = async () => (await Promise.all(ids.map(async (id) => (await c.get(`/api/generations/${id}`)).json<GenerationView>().status))).sort();
    // (the other process's state, looked at again every 50 ms; after 8 s the checks below report what was seen)
    let statusesAtKill: string[] = [];
    await until(
      async () => {
        statusesAtKill = await statuses();
        return statusesAtKill.includes('submitting') && statusesAtKill.includes('running');
      },
      { timeoutMs: 8_000, recheckMs: 50, what: 'tasks submitting and running at once' },
    ).catch(() => undefined);
    server.child.kill('SIGKILL');
    await new Promise((r) => server!.child.once('exit', r));
    // killed mid-dispatch (submits hanging upstream) and mid-poll (tasks running upstream)
    expect(statusesAtKill, statusesAtKill.join(',')).toContain('submitting');
    expect(statusesAtKill, statusesAtKill.join(',')).toContain('running');

    server = await start();
    expect((await c.post('/api/auth/sign-in/email', { email: 'crash@example.com', password: 'restart phrase 1' })).status).toBe(200);
    // every task ends in the restarted process (looked at every 500 ms; after 60 s the checks below report what is left)
    let views: GenerationView[] = [];
    await until(
      async () => {
        views = await Promise.all(ids.map(async (id) => (await c.get(`/api/generations/${id}`)).json<GenerationView>()));
        return views.every((v) => ['succeeded', 'failed', 'canceled'].includes(v.status));
      },
      { timeoutMs: 60_000, recheckMs: 500, what: 'every task to end' },
    ).catch(() => undefined);
    expect(views.map((v) => v.status).filter((s) => !['succeeded', 'failed', 'canceled'].includes(s))).toEqual([]);
    expect(views.filter((v) => v.status === 'succeeded').length).toBeGreaterThan(0);

    // settled once each, and the ledger adds up
    const credits = (await c.get('/api/credits?limit=100')).json<{
      balance: number;
      held: number;
      history: { items: { kind: string; reference: string | null; amount: number }[] };
    }>();
    expect(credits.held).toBe(0);
    const spent = views.filter((v) => v.status === 'succeeded').reduce((n, v) => n + v.price, 0);
    expect(credits.balance).toBe(1000 - spent);
    for (const v of views) {
      const mine = credits.history.items
        .filter((i) => i.reference === `generation:${v.id}`)
        .map((i) => i.kind)
        .sort();
      expect(mine, v.id).toEqual(v.status === 'succeeded' ? ['capture', 'hold'] : ['hold', 'release']);
    }

    // no upstream task was created twice for one of ours
    const perTask = new Map<string, number>();
    for (const t of kie.tasks.values()) {
      const task = t.callBackUrl ? new URL(t.callBackUrl).searchParams.get('task') : null;
      if (task) perTask.set(task, (perTask.get(task) ?? 0) + 1);
    }
    expect([...perTask.entries()].filter(([, n]) => n > 1)).toEqual([]);
  }, 180_000);
});
