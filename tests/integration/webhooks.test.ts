import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GenerationView } from '../../src/shared/api';
import type { WebhookDeliveryView } from '../../src/shared/api/developer';
import { FakeClock } from '../../src/server/adapters/clock';
import { BOSS_SCHEMA } from '../../src/server/db/migrate';
import { createWebhooksService } from '../../src/server/domain/webhooks/webhooks.service';
import { runCommand } from '../../src/server/cli/commands';
import { webhooksDeliver, webhooksFanOut } from '../../src/server/jobs/names';
import { closeAll } from '../helpers/close';
import { jobsDone, until as untilChanged } from '../helpers/wait';
import { startGenerationsApp, waitFinal, type GenerationsApp } from './generations/setup';

/** What the customer's server received. */
interface Received {
  path: string;
  headers: Record<string, string>;
  body: string;
  at: number;
}

type Endpoint = { id: string; url: string; secret: string; enabled: boolean; events: string[] };

let g: GenerationsApp;
let receiver: http.Server;
let port: number;
const received: Received[] = [];
/** per path: how many requests it has answered */
const hits = new Map<string, number>();

function answer(path: string, n: number): number {
  if (path.startsWith('/flaky')) return n <= 2 ? 500 : 200; // 500 twice, then 200
  if (path.startsWith('/down')) return 503;
  if (path.startsWith('/redirect')) return 302;
  return 200;
}

const hook = (path: string) => `http://127.0.0.1:${port}${path}`;
const at = (path: string) => received.filter((r) => r.path === path);

/**
 * Resolves with `check`'s first truthy answer, looking again each time one of the app's jobs settles
 * (every delivery attempt is a job, and the customer's server has its request before the job ends).
 */
const until = <T>(what: string, check: () => Promise<T | undefined | null | false> | T | undefined | null | false, timeoutMs = 50_000): Promise<T> =>
  untilChanged(check, { app: g.app, what, timeoutMs });

/** Every fan-out and delivery the app was asked for has run: whatever it was going to send has been sent. */
const sent = () => jobsDone(g.app, [webhooksFanOut.name, webhooksDeliver.name]);

beforeAll(async () => {
  receiver = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '/';
      const n = (hits.get(path) ?? 0) + 1;
      hits.set(path, n);
      received.push({ path, headers: req.headers as Record<string, string>, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() });
      const status = answer(path, n);
      res.writeHead(status, status === 302 ? { location: hook('/ok-after-redirect') } : {}).end(status >= 400 ? 'oops' : 'ok');
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  port = (receiver.address() as AddressInfo).port;
  g = await startGenerationsApp({ WEBHOOK_ALLOW_HOSTS: `127.0.0.1:${port}`, WEBHOOK_RETRY_BASE_SECONDS: '1' });
}, 120_000);

afterAll(async () => {
  await closeAll(g);
  await new Promise<void>((r) => receiver.close(() => r()));
});

type Client = Awaited<ReturnType<GenerationsApp['user']>>;

async function addEndpoint(c: Client, path: string, extra: Record<string, unknown> = {}): Promise<Endpoint> {
  const res = await c.post('/api/webhooks/endpoints', { url: hook(path), ...extra });
  expect(res.status, res.body).toBe(201);
  return res.json<Endpoint>();
}

async function deliveries(c: Client, endpointId: string): Promise<WebhookDeliveryView[]> {
  const res = await c.get(`/api/webhooks/endpoints/${endpointId}/deliveries?limit=100`);
  expect(res.status, res.body).toBe(200);
  return res.json<{ deliveries: WebhookDeliveryView[] }>().deliveries;
}

function verify(secret: string, r: Received) {
  return new Webhook(secret).verify(r.body, {
    'webhook-id': r.headers['webhook-id']!,
    'webhook-timestamp': r.headers['webhook-timestamp']!,
    'webhook-signature': r.headers['webhook-signature']!,
  }) as { type: string; timestamp: string; data: Record<string, unknown> };
}

describe('customer webhooks', () => {
  it('refuses private and reserved URLs at creation (400 on url)', async () => {
    const c = await g.user('wh-private@example.com', 0);
    for (const url of ['http://10.0.0.1/hook', 'http://localhost:9/', 'http://127.0.0.1:9/', 'http://169.254.169.254/latest/meta-data', 'http://[::1]/x']) {
      const res = await c.post('/api/webhooks/endpoints', { url });
      expect(res.status, url).toBe(400);
      expect(res.json().error.fields).toEqual([{ field: 'url', message: 'The URL points to a private or reserved network address.' }]);
    }
    expect((await c.post('/api/webhooks/endpoints', { url: 'ftp://example.com/x' })).status).toBe(400);
    expect((await c.get('/api/webhooks/endpoints')).json()).toEqual({ endpoints: [] });
    // a change of URL is checked the same way
    const e = await addEndpoint(c, '/ok');
    const patch = await c.request('PATCH', `/api/webhooks/endpoints/${e.id}`, { url: 'http://10.0.0.1/hook' });
    expect(patch.status).toBe(400);
    expect(patch.json().error.fields[0].field).toBe('url');
  });

  it('stores the signing secret encrypted and shows it to its owner', async () => {
    const c = await g.user('wh-secret@example.com', 0);
    const e = await addEndpoint(c, '/ok', { description: 'prod' });
    expect(e).toMatchObject({ url: hook('/ok'), description: 'prod', enabled: true, events: ['video.completed', 'video.failed'] });
    expect(e.secret).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
    expect(Buffer.from(e.secret.slice(6), 'base64')).toHaveLength(24);
    const [row] = await g.app.db.sql.query<{ secret_encrypted: string }>('select secret_encrypted from webhook_endpoints where id = $1', [e.id]);
    expect(row!.secret_encrypted).toMatch(/^v1\.[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(row!.secret_encrypted).not.toContain(e.secret.slice(6));
    expect(row!.secret_encrypted).not.toContain(e.secret.slice(6, 20));
    const shown = await c.get(`/api/webhooks/endpoints/${e.id}/secret`);
    expect(shown.status).toBe(200);
    expect(shown.headers.get('cache-control')).toBe('no-store');
    expect(shown.json()).toMatchObject({ id: e.id, secret: e.secret });
    const list = (await c.get('/api/webhooks/endpoints')).json<{ endpoints: Record<string, unknown>[] }>();
    expect(list.endpoints).toHaveLength(1);
    expect(list.endpoints[0]).not.toHaveProperty('secret');
  });

  it('sends a signed video.completed without the prompt when a video is ready', async () => {
    const c = await g.user('wh-completed@example.com', 100);
    const e = await addEndpoint(c, '/completed');
    const prompt = 'A secret lighthouse prompt 7f3a';
    const v = (await c.post('/api/generations', { model: 'local-preview', prompt, duration: 2, resolution: '480p' })).json<GenerationView>();
    const final = await waitFinal(c, v.id, 60_000);
    expect(final.status).toBe('succeeded');
    const r = await until('the video.completed event', () => at('/completed')[0]);
    expect(r.headers['content-type']).toBe('application/json');
    expect(r.headers['webhook-id']).toMatch(/^msg_/);
    expect(r.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    const event = verify(e.secret, r);
    expect(event).toEqual({
      type: 'video.completed',
      timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      data: {
        id: v.id,
        object: 'video',
        model: 'local-preview',
        status: 'completed',
        created_at: expect.any(Number),
        completed_at: expect.any(Number),
        error: null,
      },
    });
    expect(r.body).not.toContain('lighthouse');
    expect(r.body).not.toContain('prompt');
    // a wrong secret does not verify
    expect(() => new Webhook(`whsec_${Buffer.alloc(24, 1).toString('base64')}`).verify(r.body, r.headers)).toThrow();

    const [d] = await until('delivered', async () => {
      const list = await deliveries(c, e.id);
      return list[0]?.status === 'delivered' ? list : null;
    });
    expect(d).toMatchObject({
      id: r.headers['webhook-id'],
      eventType: 'video.completed',
      status: 'delivered',
      attempts: 1,
      lastStatus: 200,
      lastError: null,
      nextAttemptAt: null,
    });

    // a repeated fan-out is a no-op
    expect(await g.app.platform.ctx.services.webhooks.fanOut(v.id)).toBe(0);
    await sent();
    expect(at('/completed')).toHaveLength(1);
  }, 90_000);

  it('sends video.failed for a failed generation, only to endpoints subscribed to it', async () => {
    const c = await g.user('wh-failed@example.com', 100);
    const e = await addEndpoint(c, '/failed', { events: ['video.failed'] });
    const onlyCompleted = await addEndpoint(c, '/only-completed', { events: ['video.completed'] });
    const disabled = await addEndpoint(c, '/disabled');
    expect((await c.request('PATCH', `/api/webhooks/endpoints/${disabled.id}`, { enabled: false })).json()).toMatchObject({ enabled: false });
    const v = (await c.post('/api/generations', { model: 'sora-2', prompt: 'doomed [fake:fail]', duration: 4 })).json<GenerationView>();
    expect((await waitFinal(c, v.id, 60_000)).status).toBe('failed');
    const r = await until('the video.failed event', () => at('/failed')[0]);
    const event = verify(e.secret, r);
    expect(event).toMatchObject({
      type: 'video.failed',
      data: { id: v.id, object: 'video', model: 'sora-2', status: 'failed', error: { code: 'generation_failed', message: expect.any(String) } },
    });
    expect(r.body).not.toContain('doomed');
    await sent();
    expect(at('/only-completed')).toEqual([]);
    expect(at('/disabled')).toEqual([]);
    expect(await deliveries(c, onlyCompleted.id)).toEqual([]);
  }, 90_000);

  it('sends video.failed for a canceled generation', async () => {
    const web = await startGenerationsApp({ WEBHOOK_ALLOW_HOSTS: `127.0.0.1:${port}` }, { role: 'web' });
    try {
      // a web-only process: the generation stays queued and can be canceled; the fan-out job waits
      const c = await web.user('wh-canceled@example.com', 10);
      await addEndpoint(c, '/canceled');
      const v = (await c.post('/api/generations', { model: 'local-preview', prompt: 'never mind', duration: 2, resolution: '480p' })).json<GenerationView>();
      expect((await c.post(`/api/generations/${v.id}/cancel`)).json()).toMatchObject({ status: 'canceled' });
      const jobs = await web.app.db.sql.query<{ data: { generationId: string } }>(`select data from ${BOSS_SCHEMA}.job where name = 'webhooks.fan-out'`);
      expect(jobs.map((j) => j.data.generationId)).toEqual([v.id]);
      // run the fan-out by hand, as a worker would
      const ctx = web.app.platform.ctx;
      expect(await ctx.services.webhooks.fanOut(v.id)).toBe(1);
      const [d] = await web.app.db.sql.query<{ id: string; payload: { type: string; data: Record<string, unknown> } }>(
        'select id, payload from webhook_deliveries',
      );
      expect(d!.payload).toMatchObject({ type: 'video.failed', data: { id: v.id, status: 'failed', error: { code: 'canceled' } } });
      await ctx.services.webhooks.deliver(d!.id);
      expect(at('/canceled')).toHaveLength(1);
      expect(JSON.parse(at('/canceled')[0]!.body)).toMatchObject({ type: 'video.failed', data: { id: v.id } });
    } finally {
      await web.close();
    }
  }, 90_000);

  it('"send test event" delivers a signed webhook.test', async () => {
    const c = await g.user('wh-test@example.com', 0);
    const e = await addEndpoint(c, '/test-event');
    const res = await c.post(`/api/webhooks/endpoints/${e.id}/test`);
    expect(res.status, res.body).toBe(202);
    const view = res.json<WebhookDeliveryView>();
    expect(view).toMatchObject({ endpointId: e.id, eventType: 'webhook.test', status: 'pending', attempts: 0 });
    const r = await until('the test event', () => at('/test-event')[0]);
    expect(r.headers['webhook-id']).toBe(view.id);
    const event = verify(e.secret, r);
    expect(event).toEqual({ type: 'webhook.test', timestamp: expect.any(String), data: { id: expect.stringMatching(/^test_/) } });
  });

  it('a delivery whose attempt was lost (worker crash) is picked up again by the sweep', async () => {
    const c = await g.user('wh-sweep@example.com', 0);
    const e = await addEndpoint(c, '/swept');
    const view = (await c.post(`/api/webhooks/endpoints/${e.id}/test`)).json<WebhookDeliveryView>();
    await until('the first attempt', () => at('/swept')[0]);
    // as if a worker had claimed a second attempt and died: pending, its lease long past, no job left
    await g.app.db.sql.query(
      `update webhook_deliveries set status = 'pending', delivered_at = null, next_attempt_at = now() - interval '10 minutes' where id = $1`,
      [view.id],
    );
    await g.app.db.sql.query(`delete from pgboss.job where name = 'webhooks.deliver' and data->>'deliveryId' = $1`, [view.id]);
    expect(await g.app.platform.ctx.services.webhooks.sweep()).toBeGreaterThanOrEqual(1);
    await until('the swept attempt', () => at('/swept')[1]);
    const [d] = (await deliveries(c, e.id)).filter((x) => x.id === view.id);
    expect(d).toMatchObject({ status: 'delivered', attempts: 2 });
    // nothing is stuck any more
    expect(await g.app.platform.ctx.services.webhooks.sweep()).toBe(0);
  });

  it('counts a redirect as a failure and does not follow it', async () => {
    const c = await g.user('wh-redirect@example.com', 0);
    const e = await addEndpoint(c, '/redirect');
    await c.post(`/api/webhooks/endpoints/${e.id}/test`);
    // attempts counts an attempt when it starts (a lost one is seen); wait for its outcome too
    const d = await until('the first attempt', async () => (await deliveries(c, e.id)).find((x) => x.attempts >= 1 && x.lastError));
    expect(d).toMatchObject({ status: 'pending', lastStatus: 302 });
    expect(d.lastError).toContain('redirects are not followed');
    expect(at('/ok-after-redirect')).toEqual([]);
    // "retry" on a pending delivery waiting out a long back-off: sent again now
    await g.app.db.sql.query(`update webhook_deliveries set next_attempt_at = now() + interval '1 hour' where id = $1`, [d.id]);
    const before = at('/redirect').length;
    const retried = await c.post(`/api/webhooks/deliveries/${d.id}/retry`, {});
    expect(retried.status, retried.body).toBe(202);
    expect(retried.json()).toMatchObject({ id: d.id, status: 'pending' });
    await until('the attempt asked for', () => at('/redirect').length > before, 5000);
    await c.request('DELETE', `/api/webhooks/endpoints/${e.id}`);
  });

  it('does not send to a host that resolves to a private address at send time', async () => {
    const c = await g.user('wh-rebind@example.com', 0);
    const e = await addEndpoint(c, '/rebind');
    // the address behind the URL changed since it was checked (localhost is not in WEBHOOK_ALLOW_HOSTS)
    await g.app.db.sql.query('update webhook_endpoints set url = $1 where id = $2', [`http://localhost:${port}/rebind`, e.id]);
    await c.post(`/api/webhooks/endpoints/${e.id}/test`);
    const d = await until('the refused attempt', async () => (await deliveries(c, e.id)).find((x) => x.attempts >= 1 && x.lastError));
    expect(d).toMatchObject({ status: 'pending', lastStatus: null, lastError: 'The URL points to a private or reserved network address.' });
    expect(at('/rebind')).toEqual([]);
    await c.request('DELETE', `/api/webhooks/endpoints/${e.id}`);
  });

  it('lists deliveries newest first with cursors, attempts and statuses', async () => {
    const c = await g.user('wh-log@example.com', 0);
    const e = await addEndpoint(c, '/log');
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await c.post(`/api/webhooks/endpoints/${e.id}/test`)).json<WebhookDeliveryView>().id);
    await until('all delivered', async () => (await deliveries(c, e.id)).every((d) => d.status === 'delivered'));
    const seen: WebhookDeliveryView[] = [];
    let cursor: string | null = null;
    type Page = { deliveries: WebhookDeliveryView[]; nextCursor: string | null };
    do {
      const res = await c.get(`/api/webhooks/endpoints/${e.id}/deliveries?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      const page = res.json<Page>();
      expect(page.deliveries.length).toBeLessThanOrEqual(2);
      seen.push(...page.deliveries);
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen.map((d) => d.id)).toEqual([...ids].reverse());
    for (const d of seen)
      expect(d).toMatchObject({ status: 'delivered', attempts: 1, lastStatus: 200, eventType: 'webhook.test', deliveredAt: expect.any(String) });
    expect((await c.get(`/api/webhooks/endpoints/${e.id}/deliveries?cursor=nonsense`)).status).toBe(400);
  });

  it("answers 404 for another user's endpoints and deliveries", async () => {
    const a = await g.user('wh-owner@example.com', 0);
    const b = await g.user('wh-other@example.com', 0);
    const e = await addEndpoint(a, '/owner');
    const d = (await a.post(`/api/webhooks/endpoints/${e.id}/test`)).json<WebhookDeliveryView>();
    await until('delivered', async () => (await deliveries(a, e.id))[0]?.status === 'delivered');
    const tries = [
      await b.get(`/api/webhooks/endpoints/${e.id}/secret`),
      await b.request('PATCH', `/api/webhooks/endpoints/${e.id}`, { enabled: false }),
      await b.request('DELETE', `/api/webhooks/endpoints/${e.id}`),
      await b.post(`/api/webhooks/endpoints/${e.id}/test`),
      await b.get(`/api/webhooks/endpoints/${e.id}/deliveries`),
      await b.post(`/api/webhooks/deliveries/${d.id}/retry`),
    ];
    expect(tries.map((r) => r.status)).toEqual([404, 404, 404, 404, 404, 404]);
    expect((await b.get('/api/webhooks/endpoints')).json()).toEqual({ endpoints: [] });
    // nothing changed for the owner
    expect((await a.get('/api/webhooks/endpoints')).json().endpoints[0]).toMatchObject({ id: e.id, enabled: true });
    expect(at('/owner')).toHaveLength(1);
    // and signed-out requests are refused
    const anon = await fetch(`${g.app.url}/api/webhooks/endpoints`);
    expect(anon.status).toBe(401);
  });

  it('allows at most 5 enabled endpoints and 10 test events a minute', async () => {
    const c = await g.user('wh-limits@example.com', 0);
    const eps: Endpoint[] = [];
    for (let i = 0; i < 5; i++) eps.push(await addEndpoint(c, `/limit${i}`));
    const sixth = await c.post('/api/webhooks/endpoints', { url: hook('/limit5') });
    expect(sixth.status).toBe(409);
    expect(sixth.json().error.code).toBe('too_many_endpoints');
    // disable one: room for another; enabling the first again is then over the limit
    await c.request('PATCH', `/api/webhooks/endpoints/${eps[0]!.id}`, { enabled: false });
    await addEndpoint(c, '/limit5');
    const enable = await c.request('PATCH', `/api/webhooks/endpoints/${eps[0]!.id}`, { enabled: true });
    expect(enable.status).toBe(409);
    // other changes are fine
    const changed = await c.request('PATCH', `/api/webhooks/endpoints/${eps[1]!.id}`, {
      description: 'renamed',
      events: ['video.failed'],
      url: hook('/limit1b'),
    });
    expect(changed.status, changed.body).toBe(200);
    expect(changed.json()).toMatchObject({ description: 'renamed', events: ['video.failed'], url: hook('/limit1b'), enabled: true });
    // a disabled endpoint gets no test events
    expect((await c.post(`/api/webhooks/endpoints/${eps[0]!.id}/test`)).status).toBe(409);

    const statuses: number[] = [];
    for (let i = 0; i < 11; i++) statuses.push((await c.post(`/api/webhooks/endpoints/${eps[2]!.id}/test`)).status);
    expect(statuses).toEqual([...Array(10).fill(202), 429]);
  });

  it('a SESSION_SECRET rotation: secrets open with SESSION_SECRET_PREVIOUS until secrets:reseal moves them to the new one', async () => {
    const c = await g.user('wh-rotate@example.com', 0);
    const e = await addEndpoint(c, '/ok');
    const { ctx } = g.app.platform;
    const oldSecret = ctx.config.SESSION_SECRET;
    const newSecret = 'a-brand-new-session-secret-after-rotation-0001';
    const service = (current: string, previous: string[] = []) =>
      createWebhooksService({
        database: ctx.database,
        queue: ctx.queue,
        logger: ctx.logger,
        config: { ...ctx.config, SESSION_SECRET: current, SESSION_SECRET_PREVIOUS: previous },
      });
    const userId = (await g.app.db.sql.query<{ id: string }>('select id from users where email = $1', ['wh-rotate@example.com']))[0]!.id;

    // the new secret alone cannot read what the old one sealed; with the old one as previous it can
    await expect(service(newSecret).revealSecret(userId, e.id)).rejects.toThrow();
    const rotated = service(newSecret, [oldSecret]);
    expect((await rotated.revealSecret(userId, e.id)).secret).toBe(e.secret);

    // secrets:reseal (the CLI command) moves every endpoint secret to the new one
    const out = JSON.parse(await runCommand({ database: ctx.database, services: { ...ctx.services, webhooks: rotated } }, 'secrets:reseal', ['--json'])) as {
      checked: number;
      resealed: number;
      unreadable: number;
    };
    expect(out.unreadable).toBe(0);
    expect(out.resealed).toBe(out.checked);
    expect(out.checked).toBeGreaterThanOrEqual(1);
    expect((await service(newSecret).revealSecret(userId, e.id)).secret).toBe(e.secret);
    expect(await rotated.resealSecrets()).toMatchObject({ resealed: 0, unreadable: 0 });
    // an unrelated secret opens nothing: those endpoints are counted, not touched
    expect(await service('yet-another-session-secret-nobody-used-0002').resealSecrets()).toMatchObject({ resealed: 0, unreadable: out.checked });

    // back to the app's secret, so the running app reads them again
    expect((await service(oldSecret, [newSecret]).resealSecrets()).resealed).toBe(out.checked);
    const shown = await c.get(`/api/webhooks/endpoints/${e.id}/secret`);
    expect(shown.status, shown.body).toBe(200);
    expect(shown.json()).toMatchObject({ secret: e.secret });
  });
});

/**
 * Back-off, deletion and the 24-hour give-up, on clock time. A web process on a fake clock: no
 * worker takes the queued jobs, so the test runs each attempt as the worker would (the job's
 * handler, `deliver`), after moving the clock. Whether an attempt is due is decided by the
 * delivery's own next_attempt_at on that clock (a job that runs early does nothing); the delayed job
 * each failure leaves in the queue is only the alarm that runs it then, checked here by its delay.
 */
describe('customer webhooks on the clock', () => {
  const clock = new FakeClock();
  let t: GenerationsApp;
  beforeAll(async () => {
    // on a whole second, so each attempt's webhook-timestamp shows the back-off exactly
    await clock.set(Math.ceil(clock.nowMs() / 1000) * 1000);
    t = await startGenerationsApp({ WEBHOOK_ALLOW_HOSTS: `127.0.0.1:${port}`, WEBHOOK_RETRY_BASE_SECONDS: '1' }, { role: 'web', clock });
  }, 120_000);
  afterAll(() => closeAll(t));

  /** one run of the webhooks.deliver job for this delivery */
  const runDeliverJob = (deliveryId: string) => t.app.platform.ctx.services.webhooks.deliver(deliveryId);
  /** the delays (seconds) of the webhooks.deliver jobs queued for this delivery, oldest first */
  async function queuedDelays(deliveryId: string): Promise<number[]> {
    const rows = await t.app.db.sql.query<{ delay: number }>(
      `select extract(epoch from start_after - created_on)::int as delay from ${BOSS_SCHEMA}.job
        where name = 'webhooks.deliver' and data->>'deliveryId' = $1 order by created_on`,
      [deliveryId],
    );
    return rows.map((r) => r.delay);
  }

  it('retries a failing endpoint with back-off until it answers 2xx (attempts 3)', async () => {
    const c = await t.user('wh-flaky@example.com', 0);
    const e = await addEndpoint(c, '/flaky');
    const view = (await c.post(`/api/webhooks/endpoints/${e.id}/test`)).json<WebhookDeliveryView>();
    await runDeliverJob(view.id);
    const afterFirst = (await deliveries(c, e.id))[0]!;
    expect(afterFirst).toMatchObject({ status: 'pending', attempts: 1, lastStatus: 500, lastError: 'The endpoint answered 500: oops.' });
    expect(afterFirst.nextAttemptAt).toBe(new Date(clock.nowMs() + 1000).toISOString());
    // back-off: about 1 s, then about 2 s; a job that runs before then sends nothing
    await clock.advance(999);
    await runDeliverJob(view.id);
    expect(at('/flaky')).toHaveLength(1);
    await clock.advance(1);
    await runDeliverJob(view.id);
    expect(at('/flaky')).toHaveLength(2);
    await clock.advance(1999);
    await runDeliverJob(view.id);
    expect(at('/flaky')).toHaveLength(2);
    await clock.advance(1);
    await runDeliverJob(view.id);
    const done = (await deliveries(c, e.id))[0];
    expect(done).toMatchObject({ id: view.id, status: 'delivered', attempts: 3, lastStatus: 200, lastError: null, nextAttemptAt: null });
    const got = at('/flaky');
    expect(got).toHaveLength(3);
    // the same message id on every attempt, each one signed for its own timestamp
    expect(new Set(got.map((r) => r.headers['webhook-id']))).toEqual(new Set([view.id]));
    for (const r of got) verify(e.secret, r);
    const stamps = got.map((r) => Number(r.headers['webhook-timestamp']));
    expect([stamps[1]! - stamps[0]!, stamps[2]! - stamps[1]!]).toEqual([1, 2]);
    // the job of the test event, then the one each failure left for its retry
    expect(await queuedDelays(view.id)).toEqual([0, 1, 2]);

    // a delivered one can be sent again by hand
    const retried = await c.post(`/api/webhooks/deliveries/${view.id}/retry`);
    expect(retried.status, retried.body).toBe(202);
    expect(retried.json()).toMatchObject({ id: view.id, status: 'pending' });
    expect(await queuedDelays(view.id)).toEqual([0, 1, 2, 0]);
    await runDeliverJob(view.id);
    expect(at('/flaky')).toHaveLength(4);
    expect((await deliveries(c, e.id))[0]?.status).toBe('delivered');
  });

  it('stops delivering when the endpoint is deleted', async () => {
    const c = await t.user('wh-delete@example.com', 0);
    const e = await addEndpoint(c, '/down');
    const view = (await c.post(`/api/webhooks/endpoints/${e.id}/test`)).json<WebhookDeliveryView>();
    await runDeliverJob(view.id);
    expect(at('/down')).toHaveLength(1);
    expect((await c.request('DELETE', `/api/webhooks/endpoints/${e.id}`)).status).toBe(204);
    // well past the next back-off (1 s, then 2 s): the queued retry finds nothing to send
    await clock.advance(3500);
    await runDeliverJob(view.id);
    expect(await t.app.platform.ctx.services.webhooks.sweep()).toBe(0);
    expect(at('/down')).toHaveLength(1);
    expect(await t.app.db.sql.query('select id from webhook_deliveries where endpoint_id = $1', [e.id])).toEqual([]);
    expect((await c.get(`/api/webhooks/endpoints/${e.id}/deliveries`)).status).toBe(404);
  });

  it('gives up after 24 hours: the last failure marks the delivery failed, and it can be retried by hand', async () => {
    const c = await t.user('wh-giveup@example.com', 0);
    const e = await addEndpoint(c, '/down-old');
    const view = (await c.post(`/api/webhooks/endpoints/${e.id}/test`)).json<WebhookDeliveryView>();
    await runDeliverJob(view.id);
    expect((await deliveries(c, e.id))[0]).toMatchObject({ status: 'pending', attempts: 1 });
    // a day after the event: the next failure is the last
    await clock.set(Date.parse(view.createdAt) + 24 * 3600_000);
    await runDeliverJob(view.id);
    const d = (await deliveries(c, e.id))[0]!;
    expect(d).toMatchObject({ id: view.id, status: 'failed', lastStatus: 503, nextAttemptAt: null });
    expect(d.attempts).toBeLessThanOrEqual(2);
    expect(at('/down-old')).toHaveLength(d.attempts);
    expect(await queuedDelays(view.id)).toEqual([0, 1]);
    // nothing more is sent: a late job and the sweep find it settled
    await clock.advance(3600_000);
    await runDeliverJob(view.id);
    expect(await t.app.platform.ctx.services.webhooks.sweep()).toBe(0);
    expect(at('/down-old')).toHaveLength(d.attempts);
    expect((await c.post(`/api/webhooks/deliveries/${view.id}/retry`)).status).toBe(202);
    await runDeliverJob(view.id);
    expect((await deliveries(c, e.id))[0]).toMatchObject({ status: 'failed', attempts: d.attempts + 1 });
    expect(at('/down-old')).toHaveLength(d.attempts + 1);
  });
});
