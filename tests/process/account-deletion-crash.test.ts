import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CheckoutResponse, OrderView } from '../../src/shared/api';
import { openDatabase, pgliteDir, type Database } from '../../src/server/db/client';
import { startFakeStripe, type FakeStripe } from '../fakes/stripe';
import { freePort } from '../helpers/app';
import { TestClient } from '../helpers/client';
import { createTestDatabase, onPostgresServer, type TestDatabase } from '../helpers/db';
import { childEnv, cli, startServerProcess, type ServerProcess } from '../helpers/process';
import { until } from '../helpers/wait';
import { payOnFakePage } from '../integration/billing/setup';

/**
 * SIGKILL in the middle of an account deletion, then a rerun (issue 17): killed while the payment
 * provider is canceling the subscription (nothing deleted yet), and killed inside the deletion's
 * transaction (on PostgreSQL deterministically: the transaction is made to wait on a row lock this
 * test holds, half-way through its deletes; on the embedded database at the moment the server logs
 * that it starts). Each time, either nothing is deleted or all of it; the rerun finishes cleanly,
 * the subscription is canceled once, the kept records carry the pseudonym and the files are gone.
 */

/** A proxy in front of the fake Stripe that can hold subscription cancellations (the provider "hangs"). */
async function startHoldingProxy(target: string) {
  let hold = false;
  const held: http.ServerResponse[] = [];
  const server = http.createServer((req, res) => {
    if (hold && req.method === 'DELETE' && req.url?.startsWith('/v1/subscriptions/')) {
      held.push(res);
      return;
    }
    const up = http.request(new URL(req.url ?? '/', target), { method: req.method, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    held,
    setHold(on: boolean) {
      hold = on;
    },
    async close() {
      for (const r of held) r.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('a killed account deletion finishes on the next run', () => {
  let stripe: FakeStripe;
  let proxy: Awaited<ReturnType<typeof startHoldingProxy>>;
  let db: TestDatabase | undefined;
  let server: ServerProcess | undefined;
  let lock: pg.Client | undefined;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'savesora-delete-crash-'));

  beforeAll(async () => {
    stripe = await startFakeStripe();
    proxy = await startHoldingProxy(stripe.url);
    if (onPostgresServer()) db = await createTestDatabase();
  });
  afterAll(async () => {
    await lock?.end().catch(() => {});
    await server?.stop();
    // (undefined when setup failed half-way)
    await (proxy as typeof proxy | undefined)?.close();
    const fake = stripe as FakeStripe | undefined;
    await fake?.settled().catch(() => {});
    await fake?.close();
    await db?.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  /** Looks at the database: through the test's own connection on PostgreSQL, by opening the data dir while the server is down on PGlite. */
  async function inspect<T>(fn: (d: Database) => Promise<T>): Promise<T> {
    if (db) return fn(db);
    const d = await openDatabase({ pgliteDataDir: pgliteDir(dataDir) });
    try {
      return await fn(d);
    } finally {
      await d.close();
    }
  }

  /** Files of the disk store whose path names the account. */
  function filesOf(userId: string): string[] {
    const root = path.join(dataDir, 'storage', 'objects');
    if (!fs.existsSync(root)) return [];
    return fs
      .readdirSync(root, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => path.join(e.parentPath, e.name))
      .filter((p) => p.includes(userId));
  }

  async function kill(s: ServerProcess) {
    s.child.kill('SIGKILL');
    await new Promise((r) => (s.child.exitCode !== null || s.child.signalCode !== null ? r(null) : s.child.once('exit', r)));
  }

  it('SIGKILL while the provider cancels and inside the transaction: nothing half-deleted, and the rerun finishes', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const env = childEnv({
      DATA_DIR: dataDir,
      PORT: String(port),
      HOST: '127.0.0.1',
      PUBLIC_URL: url,
      DATABASE_URL: db?.url,
      WORKER_POLL_INTERVAL_MS: '200',
      SIGNUP_FREE_CREDITS: '0',
      STRIPE_SECRET_KEY: stripe.secretKey,
      STRIPE_WEBHOOK_SECRET: stripe.webhookSecret,
      STRIPE_API_BASE: proxy.url,
    });
    stripe.setWebhookUrl(`${url}/webhooks/stripe`);
    const start = async () => {
      const s = startServerProcess([], env);
      await s.waitFor(/"url":"http:\/\/127\.0\.0\.1:\d+"/, 90_000);
      return s;
    };
    server = await start();
    const created = await Promise.all(
      [
        ['crash-admin@example.com', 'admin'],
        ['crash-victim@example.com', 'user'],
      ].map(([email, role]) => cli(['user:create', '--email', email!, '--password', 'restart phrase 1', '--role', role!, '--credits', '5'], env)),
    );
    expect(created.map((r) => r.code)).toEqual([0, 0]);
    const admin = new TestClient(url);
    expect((await admin.post('/api/auth/sign-in/email', { email: 'crash-admin@example.com', password: 'restart phrase 1' })).status).toBe(200);
    const victim = new TestClient(url);
    expect((await victim.post('/api/auth/sign-in/email', { email: 'crash-victim@example.com', password: 'restart phrase 1' })).status).toBe(200);
    const userId = (await victim.get('/api/me')).json<{ id: string }>().id;

    // a subscription through Stripe, and a reference file in the store
    const checkout = await victim.post('/api/billing/checkout', { plan: 'max-monthly', provider: 'stripe', currency: 'usd' });
    expect(checkout.status, checkout.body).toBe(200);
    const { orderId, url: payUrl } = checkout.json<CheckoutResponse>();
    await payOnFakePage(payUrl);
    await until(async () => (await victim.get(`/api/billing/orders/${orderId}`)).json<OrderView>().status === 'paid', {
      timeoutMs: 20_000,
      recheckMs: 100,
      what: 'the order paid',
    });
    const stripeSub = [...stripe.sessions.values()].find((s) => s.client_reference_id === orderId)!.subscription as string;
    const form = new FormData();
    form.append('file', new Blob([new Uint8Array(await pngBytes())], { type: 'image/png' }), 'ref.png');
    expect((await victim.request('POST', '/api/uploads', form)).status).toBe(201);
    expect(filesOf(userId).length).toBeGreaterThan(0);

    const everything = (d: Database) =>
      Promise.all([
        d.sql.query<{ n: string }>('select count(*) as n from users where id = $1', [userId]),
        d.sql.query<{ n: string }>('select count(*) as n from generations where user_id = $1', [userId]),
        d.sql.query<{ n: string }>('select count(*) as n from media where user_id = $1', [userId]),
        d.sql.query<{ n: string }>('select count(*) as n from orders where user_id = $1', [userId]),
        d.sql.query<{ status: string; user_id: string | null; subject_ref: string }>('select status, user_id, subject_ref from account_deletions', []),
        d.sql.query<{ status: string; user_id: string | null; subject_ref: string | null }>(
          'select status, user_id, subject_ref from subscriptions where provider_ref = $1',
          [stripeSub],
        ),
      ]).then(([users, gens, media, orders, deletions, subs]) => ({
        users: Number(users[0]!.n),
        generations: Number(gens[0]!.n),
        media: Number(media[0]!.n),
        orders: Number(orders[0]!.n),
        deletions,
        subscription: subs[0]!,
      }));

    // --- 1. killed while Stripe holds the cancellation: nothing is deleted ----------------------
    proxy.setHold(true);
    const first = admin.post(`/api/admin/users/${userId}/delete`, { reason: 'asked by mail', when: 'now' }).catch((err: unknown) => err);
    await until(() => proxy.held.length === 1, { timeoutMs: 20_000, recheckMs: 20, what: 'the cancellation to reach Stripe' });
    await kill(server);
    await first;
    const GENERATIONS = 5000;
    const afterFirst = await inspect(async (d) => {
      const state = await everything(d);
      // a big account, so that the deletion's transaction takes a while (one statement, while the server is down)
      await d.sql.query(
        `insert into generations (id, user_id, model_id, mode, prompt, duration_seconds, resolution, aspect_ratio, audio, price_credits, status, deadline_at)
         select gen_random_uuid()::text, $1, 'local-preview', 'text-to-video', 'scene ' || i, 2, '480p', '16:9', false, 2, 'succeeded', now()
           from generate_series(1, $2::int) as i`,
        [userId, GENERATIONS],
      );
      return state;
    });
    expect(afterFirst).toMatchObject({ users: 1, generations: 0, media: 1, orders: 1, subscription: { status: 'active', user_id: userId } });
    expect(afterFirst.deletions).toMatchObject([{ status: 'running', user_id: userId }]);
    expect(stripe.subscriptions.get(stripeSub)!.status).toBe('active');
    expect(filesOf(userId).length).toBeGreaterThan(0);
    proxy.setHold(false);

    // --- 2. killed inside the transaction: all of it or none ------------------------------------
    server = await start();
    if (db) {
      // hold the order row: the deletion's transaction stops at it, after deleting the generations
      lock = new pg.Client({ connectionString: db.url });
      lock.on('error', () => {});
      await lock.connect();
      await lock.query('begin');
      await lock.query('select 1 from orders where id = $1 for update', [orderId]);
    }
    const second = admin.post(`/api/admin/users/${userId}/delete`, { reason: 'asked by mail', when: 'now' }).catch((err: unknown) => err);
    if (lock) {
      // (asked on another connection: inside the lock's transaction pg_stat_activity would be a snapshot)
      await until(
        async () =>
          (
            await db!.sql.query<{ n: string }>(
              `select count(*) as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock' and query ilike '%update orders set%'`,
            )
          )[0]!.n === '1',
        { timeoutMs: 30_000, recheckMs: 20, what: 'the deletion to wait on the order row' },
      );
    } else {
      await server.waitFor(/"msg":"accounts: deleting the account data"/, 30_000);
    }
    await kill(server);
    await second;
    if (lock) {
      await lock.query('rollback');
      // the killed server's connections end (the one that waited on the lock once it is let go)
      await lock.end();
      await until(
        async () =>
          (
            await db!.sql.query<{ n: string }>(
              `select count(*) as n from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid() and state not in ('idle')`,
            )
          )[0]!.n === '0',
        { timeoutMs: 30_000, recheckMs: 50, what: 'the killed server’s connections to end' },
      );
      lock = undefined;
    }
    const afterSecond = await inspect(everything);
    // the provider step finished before the transaction: canceled with Stripe, and marked here
    expect(stripe.subscriptions.get(stripeSub)!.status).toBe('canceled');
    expect(afterSecond.subscription.status).toBe('canceled');
    const rolledBack = afterSecond.users === 1;
    if (db) expect(rolledBack, 'on PostgreSQL the kill lands inside the transaction').toBe(true);
    if (rolledBack) {
      expect(afterSecond).toMatchObject({ users: 1, generations: GENERATIONS, media: 1, orders: 1, subscription: { user_id: userId, subject_ref: null } });
      expect(afterSecond.deletions).toMatchObject([{ status: 'running', user_id: userId }]);
      expect(filesOf(userId).length).toBeGreaterThan(0);
    } else {
      // (embedded database: the transaction had committed before the kill landed) all of it
      expect(afterSecond).toMatchObject({ users: 0, generations: 0, media: 0, orders: 0, subscription: { user_id: null } });
      expect(afterSecond.deletions).toMatchObject([{ status: 'completed', user_id: null }]);
    }
    console.info(`account-deletion-crash: second kill ${rolledBack ? 'inside the transaction (rolled back)' : 'after the commit'}`);

    // --- 3. the rerun finishes cleanly ------------------------------------------------------------
    server = await start();
    if (rolledBack) {
      const rerun = await admin.post(`/api/admin/users/${userId}/delete`, { reason: 'asked by mail', when: 'now' });
      expect(rerun.status, rerun.body).toBe(200);
      expect(rerun.json()).toMatchObject({ outcome: 'deleted', removed: { generations: GENERATIONS, media: 1 }, kept: { orders: 1, subscriptions: 1 } });
    }
    // the files go by job in the restarted server
    await until(() => filesOf(userId).length === 0, { timeoutMs: 30_000, recheckMs: 200, what: 'the account’s files to be removed' });
    expect(await server.stop()).toBe(0);
    server = undefined;
    const final = await inspect(everything);
    const ref = final.deletions[0]!.subject_ref;
    expect(final).toMatchObject({ users: 0, generations: 0, media: 0, orders: 0, subscription: { status: 'canceled', user_id: null, subject_ref: ref } });
    expect(final.deletions).toEqual([{ status: 'completed', user_id: null, subject_ref: ref }]);
    const kept = await inspect((d) => d.sql.query('select status, subject_ref from orders where id = $1', [orderId]));
    expect(kept).toEqual([{ status: 'paid', subject_ref: ref }]);
    // exactly one cancellation reached Stripe (the first was held by the proxy and never arrived)
    const cancels = stripe.requests.filter((r) => r.method === 'DELETE' && r.path === `/v1/subscriptions/${stripeSub}`);
    expect(cancels).toHaveLength(1);
    expect(cancels[0]!.headers['idempotency-key']).toMatch(/^account-deletion:/);
  }, 240_000); // three server starts and two kills on 2 cores
});

async function pngBytes(): Promise<Buffer> {
  const sharp = (await import('sharp')).default;
  return sharp({ create: { width: 16, height: 16, channels: 3, background: '#884422' } })
    .png()
    .toBuffer();
}
