import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeClock } from '../../../src/server/adapters/clock';
import type { PaymentEvent } from '../../../src/server/adapters/payments';
import { createCredits } from '../../../src/server/domain/credits/credits';
import { sqlCreditsRepo } from '../../../src/server/domain/credits/credits.repo';
import { bucketOf, histogramOf } from '../../../src/server/domain/admin/stats.histogram';
import { adminStatsRollup } from '../../../src/server/jobs/names';
import type { DashboardView } from '../../../src/shared/api';
import { startTestApp, type TestApp } from '../../helpers/app';
import { TestClient } from '../../helpers/client';
import { closeAll } from '../../helpers/close';
import { seedGeneration } from '../../helpers/seed';
import { jobsDone } from '../../helpers/wait';

/**
 * The console's dashboard (issue 18): rows seeded at known instants (through the credits and
 * billing services, dated by their clocks, and by SQL), rolled up into `stats_hourly`, read through
 * GET /api/admin/dashboard. One app on a FakeClock standing at half past the current hour.
 */

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const N = Math.floor(Date.now() / HOUR) * HOUR + 30 * MIN;
const H = Math.floor(N / HOUR) * HOUR;
const D = Math.floor(N / DAY) * DAY;
const at = (ms: number) => new Date(ms);

const clock = new FakeClock(N);
let app: TestApp;
let admin: TestClient;
let support: TestClient;
let moderator: TestClient;
let normal: TestClient;
const ids: Record<'a' | 'b' | 'c' | 'd', string> = { a: '', b: '', c: '', d: '' };

async function signedIn(email: string, role: 'admin' | 'support' | 'moderator' | 'user'): Promise<TestClient> {
  const password = 'a fine password 1';
  await app.platform.ctx.services.users.create({ email, password, name: role, role });
  const c = new TestClient(app.url);
  const res = await c.post('/api/auth/sign-in/email', { email, password });
  if (res.status !== 200) throw new Error(`sign-in failed: ${res.status} ${res.body}`);
  return c;
}

const sql = <T = Record<string, unknown>>(text: string, params: unknown[] = []) => app.db.sql.query<T>(text, params);
const rollup = () => app.platform.ctx.services.stats.rollup(clock.now());

async function dashboard(range: string): Promise<DashboardView> {
  const res = await admin.get(`/api/admin/dashboard?range=${range}`);
  expect(res.status, res.body).toBe(200);
  return res.json<DashboardView>();
}

/** The stats rows of one metric and hour, without the (metric, hour) columns. */
async function rows(metric: string, hour: number) {
  const r = await sql<{ dim1: string; dim2: string; count: string; total: string; ok: string; histogram: number[] | null }>(
    'select dim1, dim2, count, total, ok, histogram from stats_hourly where metric = $1 and hour = $2::timestamptz order by dim1, dim2',
    [metric, at(hour).toISOString()],
  );
  return r.map((x) => ({ dim1: x.dim1, dim2: x.dim2, count: Number(x.count), total: Number(x.total), ok: Number(x.ok), histogram: x.histogram }));
}

async function user(email: string, createdAt: number): Promise<string> {
  const [r] = await sql<{ id: string }>('insert into users (email, name, created_at, updated_at) values ($1, $2, $3, $3) returning id', [
    email,
    email.split('@')[0],
    at(createdAt).toISOString(),
  ]);
  return r!.id;
}

/** A generation created at `created` that ended `tookMs` later with `status`. */
async function generation(userId: string, modelId: string, provider: string | null, created: number, tookMs: number, status: string) {
  const g = await seedGeneration(app.db, userId, { modelId }, at(created));
  await sql('update generations set status = $2, provider = $3, finished_at = $4, updated_at = $4 where id = $1', [
    g.id,
    status,
    provider,
    at(created + tookMs).toISOString(),
  ]);
  return g.id;
}

/** The credits module dated at `when` (its own clock), in one transaction. */
const creditsAt = (when: number) => createCredits(sqlCreditsRepo, { now: () => at(when) });
const inTx = <T>(fn: (tx: Parameters<Parameters<TestApp['db']['transaction']>[0]>[0]) => Promise<T>) => app.db.transaction(fn);

async function order(userId: string, plan: string, currency: string, provider: string, amount: number) {
  const id = randomUUID();
  const [p] = await sql<{ credits: number; name: string; kind: string }>('select credits, name, kind from plans where id = $1', [plan]);
  await sql(
    `insert into orders (id, user_id, plan_id, plan_name, kind, credits, amount_minor, currency, provider, checkout_ref)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
    [id, userId, plan, p!.name, p!.kind, p!.credits, amount, currency, provider, `cs_${id}`],
  );
  return { id, paymentRef: `pi_${id}`, amount, currency, provider, checkoutRef: `cs_${id}` };
}

/** Applies a provider event through the billing service with the app's clock at `when`. */
async function eventAt(when: number, provider: string, event: PaymentEvent) {
  await clock.set(when);
  try {
    return await app.platform.ctx.services.billing.applyEvent(provider as 'stripe', event);
  } finally {
    await clock.set(N);
  }
}

const paid = (o: Awaited<ReturnType<typeof order>>): PaymentEvent => ({
  type: 'checkout.paid',
  eventId: `evt_paid_${o.id}`,
  orderId: o.id,
  checkoutRef: o.checkoutRef,
  paymentRef: o.paymentRef,
  amountMinor: o.amount,
  currency: o.currency,
});

/** Distinct users per bucket of the given activity (user, instant) pairs: the oracle for active users. */
function distinctPer(activity: { user: string; t: number }[], bucket: number, from: number, to: number): number {
  return new Set(activity.filter((x) => x.t >= from && x.t < to && Math.floor(x.t / bucket) * bucket === Math.floor(from / bucket) * bucket).map((x) => x.user))
    .size;
}

let activity: { user: string; t: number }[] = [];
let orders: Record<'o1' | 'o2' | 'o3' | 'o4', Awaited<ReturnType<typeof order>>>;

beforeAll(async () => {
  app = await startTestApp({ clock, env: { SIGNUP_FREE_CREDITS: '0' } });
  [admin, support, moderator, normal] = await Promise.all([
    signedIn('boss@example.com', 'admin'),
    signedIn('help@example.com', 'support'),
    signedIn('mod@example.com', 'moderator'),
    signedIn('someone@example.com', 'user'),
  ]);
  // the staff signed up long before any range (their sign-ins stay: they are activity, counted by the oracle below)
  await sql(`update users set created_at = $1 where email like '%@example.com'`, [at(D - 400 * DAY).toISOString()]);

  // sign-ups: two in the previous hour, one the day before (the previous 24 h), one 10 days ago
  ids.a = await user('ann@example.net', H - HOUR + 5 * MIN);
  ids.b = await user('bob@example.net', H - HOUR + 10 * MIN);
  ids.c = await user('cy@example.net', H - 25 * HOUR);
  ids.d = await user('dee@example.net', D - 10 * DAY + HOUR);

  // generations finished two hours ago (and two the day before): times to result 40/60/90 s (veo-3 on kie,
  // plus a failure), 120/121 s (kling on fal, one held for review), and one blocked before any provider
  const t0 = H - 2 * HOUR;
  await generation(ids.a, 'veo-3', 'kie', t0, 40_000, 'succeeded');
  await generation(ids.a, 'veo-3', 'kie', t0 + MIN, 60_000, 'succeeded');
  await generation(ids.a, 'veo-3', 'kie', t0 + 2 * MIN, 90_000, 'succeeded');
  await generation(ids.a, 'veo-3', 'kie', t0 + 3 * MIN, 30_000, 'failed');
  await generation(ids.b, 'kling', 'fal', t0 + 5 * MIN, 120_000, 'succeeded');
  await generation(ids.b, 'kling', 'fal', t0 + 6 * MIN, 121_000, 'under_review');
  await generation(ids.b, 'veo-3', null, t0 + 7 * MIN, 0, 'blocked');
  await generation(ids.c, 'veo-3', 'kie', H - 26 * HOUR, 30_000, 'succeeded');
  await generation(ids.c, 'veo-3', 'kie', H - 26 * HOUR + MIN, 30_000, 'succeeded');

  // credits through the credits module, each movement dated by its clock
  await inTx((tx) => creditsAt(H - HOUR + 20 * MIN).grant(tx, { userId: ids.a, credits: 100, reason: 'welcome', source: 'signup' }));
  await inTx((tx) => creditsAt(H - HOUR + 21 * MIN).grant(tx, { userId: ids.b, credits: 50, reason: 'support', source: 'operator' }));
  await inTx((tx) => creditsAt(t0).hold(tx, { userId: ids.a, generationId: 'g-a', credits: 10, reason: 'video' }));
  await inTx((tx) => creditsAt(t0 + MIN).capture(tx, { userId: ids.a, generationId: 'g-a', credits: 10, reason: 'video' }));
  await inTx((tx) => creditsAt(t0 + 5 * MIN).hold(tx, { userId: ids.b, generationId: 'g-b', credits: 5, reason: 'video' }));
  await inTx((tx) => creditsAt(t0 + 6 * MIN).release(tx, { userId: ids.b, generationId: 'g-b', credits: 5, reason: 'video' }));
  await inTx((tx) => creditsAt(H - HOUR + 30 * MIN).adjust(tx, { userId: ids.a, amount: -3, reason: 'correction' }));
  await inTx((tx) => creditsAt(H - HOUR + 31 * MIN).adjust(tx, { userId: ids.b, amount: 7, reason: 'correction' }));

  // money through the billing service: two paid USD orders (one refunded in two steps, one disputed), one EUR, one the day before
  orders = {
    o1: await order(ids.a, 'starter', 'usd', 'stripe', 1000),
    o2: await order(ids.b, 'creator', 'usd', 'stripe', 4500),
    o3: await order(ids.c, 'creator', 'eur', 'creem', 4200),
    o4: await order(ids.c, 'starter', 'usd', 'stripe', 1000),
  };
  const { o1, o2, o3, o4 } = orders;
  const refund = (eventId: string, refundedMinor: number): PaymentEvent => ({
    type: 'payment.refunded',
    eventId,
    paymentRef: o1.paymentRef,
    refundedMinor,
    currency: 'usd',
  });
  const dispute = (eventId: string): PaymentEvent => ({ type: 'payment.disputed', eventId, paymentRef: o2.paymentRef, amountMinor: 4500, currency: 'usd' });
  expect(await eventAt(H - HOUR + 40 * MIN, 'stripe', paid(o1))).toBe('applied');
  expect(await eventAt(H - HOUR + 41 * MIN, 'stripe', refund('re_1', 300))).toBe('applied');
  expect(await eventAt(H - HOUR + 41 * MIN, 'stripe', refund('re_1', 300))).toBe('duplicate');
  // the same cumulative amount under another event id (the console's refund, then the provider's own event): nothing moves
  expect(await eventAt(H - HOUR + 42 * MIN, 'stripe', refund('re_1_echo', 300))).toBe('applied');
  expect(await eventAt(H - HOUR + 43 * MIN, 'stripe', refund('re_2', 500))).toBe('applied');
  expect(await eventAt(H - HOUR + 45 * MIN, 'stripe', paid(o2))).toBe('applied');
  expect(await eventAt(H - HOUR + 46 * MIN, 'stripe', dispute('dp_1'))).toBe('applied');
  expect(await eventAt(H - HOUR + 47 * MIN, 'stripe', dispute('dp_1_update'))).toBe('applied');
  expect(await eventAt(H - HOUR + 50 * MIN, 'creem', paid(o3))).toBe('applied');
  expect(await eventAt(H - 30 * HOUR, 'stripe', paid(o4))).toBe('applied');
  const [o1Row] = await sql<{ status: string; refunded_minor: string }>('select status, refunded_minor from orders where id = $1', [o1.id]);
  expect(o1Row).toMatchObject({ status: 'partially_refunded' });
  expect(Number(o1Row!.refunded_minor)).toBe(500);

  // moderation cases: two opened in the previous hour, one the day before
  for (const [subject, action, opened] of [
    ['prompt', 'block', H - HOUR + 15 * MIN],
    ['output', 'flag', H - HOUR + 16 * MIN],
    ['report', 'flag', H - 30 * HOUR],
  ] as const) {
    await sql(`insert into moderation_cases (id, user_id, subject, action, opened_at, updated_at) values ($1, $2, $3, $4, $5, $5)`, [
      randomUUID(),
      ids.a,
      subject,
      action,
      at(opened).toISOString(),
    ]);
  }

  // who was active when: every generation created and every session (the staff signed in just now, in real time)
  const acts = await sql<{ user_id: string; created_at: Date }>(
    'select user_id, created_at from generations union all select user_id, created_at from sessions',
  );
  activity = acts.map((x) => ({ user: x.user_id, t: new Date(x.created_at).getTime() }));

  // as if no rollup ever ran: the every-minute schedule stops (the tests run the rollup, and the job once), and
  // what it may have run already is undone
  await app.platform.ctx.queue.boss.unschedule(adminStatsRollup.name);
  await jobsDone(app, [adminStatsRollup.name]);
  await sql('delete from stats_rollup_state');
  await sql('delete from stats_hourly');
});
afterAll(() => closeAll(app));

describe('who may see the dashboard', () => {
  it('admins get it; support and moderators 403; a normal user and a signed-out visitor 404; a bad range 400', async () => {
    expect((await admin.get('/api/admin/dashboard')).status).toBe(200);
    expect((await admin.get('/api/admin/dashboard')).json<DashboardView>().range).toBe('7d');
    for (const c of [support, moderator]) {
      const res = await c.get('/api/admin/dashboard?range=24h');
      expect(res.status).toBe(403);
      expect(res.json()).toMatchObject({ error: { code: 'forbidden' } });
    }
    for (const c of [normal, new TestClient(app.url)]) {
      const res = await c.get('/api/admin/dashboard?range=24h');
      expect(res.status).toBe(404);
      expect(res.json()).toMatchObject({ error: { code: 'not_found' } });
    }
    const bad = await admin.get('/api/admin/dashboard?range=1y');
    expect(bad.status).toBe(400);
  });
});

describe('the rollup', () => {
  it('before any run, the dashboard says so and shows nothing', async () => {
    const d = await dashboard('24h');
    expect(d.computedThrough).toBeNull();
    expect(d.rollupAt).toBeNull();
    expect(d.totals.generations.finished).toBe(0);
  });

  it('stores each metric per hour and dimensions, with the success histogram', async () => {
    const run = await rollup();
    // the first run: the last 7 days, today included; the history cursor starts there
    expect(run.forward).toEqual({ from: at(D - 6 * DAY), to: at(H + HOUR) });
    expect(run.backfill).toBeNull();
    expect(run.historyFrom).toEqual(at(D - 6 * DAY));
    expect(run.computedThrough).toEqual(at(N));

    expect(await rows('signups', H - HOUR)).toEqual([{ dim1: '', dim2: '', count: 2, total: 0, ok: 0, histogram: null }]);
    expect(await rows('generations', H - 2 * HOUR)).toEqual([
      { dim1: 'kling', dim2: 'fal', count: 2, total: 241_000, ok: 2, histogram: histogramOf([120_000, 121_000]) },
      { dim1: 'veo-3', dim2: '', count: 1, total: 0, ok: 0, histogram: null },
      { dim1: 'veo-3', dim2: 'kie', count: 4, total: 190_000, ok: 3, histogram: histogramOf([40_000, 60_000, 90_000]) },
    ]);
    expect(await rows('credits', H - 2 * HOUR)).toEqual([
      { dim1: 'capture', dim2: '', count: 1, total: 10, ok: 0, histogram: null },
      { dim1: 'hold', dim2: 'out', count: 2, total: 15, ok: 0, histogram: null },
      { dim1: 'release', dim2: 'in', count: 1, total: 5, ok: 0, histogram: null },
    ]);
    const lastHour = await rows('credits', H - HOUR);
    expect(lastHour.filter((r) => ['grant', 'adjustment', 'purchase'].includes(r.dim1))).toEqual([
      { dim1: 'adjustment', dim2: 'in', count: 1, total: 7, ok: 0, histogram: null },
      { dim1: 'adjustment', dim2: 'out', count: 1, total: 3, ok: 0, histogram: null },
      { dim1: 'grant', dim2: 'in', count: 2, total: 150, ok: 0, histogram: null },
      { dim1: 'purchase', dim2: 'in', count: 3, total: 11_000, ok: 0, histogram: null },
    ]);
    expect(await rows('revenue', H - HOUR)).toEqual([
      { dim1: 'eur', dim2: 'creem', count: 1, total: 4200, ok: 0, histogram: null },
      { dim1: 'usd', dim2: 'stripe', count: 2, total: 5500, ok: 0, histogram: null },
    ]);
    // 300, then the same 300 again (nothing), then 500 in all: two refunds, 500 refunded; one dispute despite two events
    expect(await rows('refunds', H - HOUR)).toEqual([{ dim1: 'usd', dim2: 'stripe', count: 2, total: 500, ok: 0, histogram: null }]);
    expect(await rows('disputes', H - HOUR)).toEqual([{ dim1: 'usd', dim2: 'stripe', count: 1, total: 4500, ok: 0, histogram: null }]);
    // (the dispute opened an account case too: a chargeback holds the account's generation for review)
    expect(await rows('moderation_flags', H - HOUR)).toEqual([
      { dim1: 'account', dim2: 'flag', count: 1, total: 0, ok: 0, histogram: null },
      { dim1: 'output', dim2: 'flag', count: 1, total: 0, ok: 0, histogram: null },
      { dim1: 'prompt', dim2: 'block', count: 1, total: 0, ok: 0, histogram: null },
    ]);
    // the day rows: the day's hour rows added up (histograms bucket by bucket)
    expect(await rows('generations:day', Math.floor((H - 2 * HOUR) / DAY) * DAY)).toEqual(await rows('generations', H - 2 * HOUR));
    expect((await rows('active_users', H - 2 * HOUR))[0]?.count).toBe(2);
    expect((await rows('active_users:day', D))[0]?.count).toBe(distinctPer(activity, DAY, D, D + DAY));
  });

  it('the 24 h dashboard: every figure of the range and of the 24 hours before', async () => {
    const d = await dashboard('24h');
    expect(d).toMatchObject({ range: '24h', granularity: 'hour', from: at(H - 23 * HOUR).toISOString(), to: at(H + HOUR).toISOString() });
    expect(d.previousFrom).toBe(at(H - 47 * HOUR).toISOString());
    expect(d.computedThrough).toBe(at(N).toISOString());
    expect(d.rollupAt).toBe(at(N).toISOString());
    const t = d.totals;
    expect(t.signups).toBe(2);
    expect(t.activeUsers).toBe(distinctPer(activity, DAY, D, D + DAY));
    expect(t.generations).toMatchObject({ finished: 7, succeeded: 5, successRate: 5 / 7 });
    // the successes took 40, 60, 90, 120 and 121 s: the median is 90 s, the 95th percentile 121 s
    expect(bucketOf(t.generations.p50Ms!)).toBe(bucketOf(90_000));
    expect(bucketOf(t.generations.p95Ms!)).toBe(bucketOf(121_000));
    expect(t.credits).toEqual({ granted: 11_157, grantedFree: 157, grantedBought: 11_000, spent: 10 });
    expect(t.revenue).toEqual([
      { currency: 'eur', provider: 'creem', count: 1, amountMinor: 4200 },
      { currency: 'usd', provider: 'stripe', count: 2, amountMinor: 5500 },
    ]);
    expect(t.refunds).toEqual([{ currency: 'usd', provider: 'stripe', count: 2, amountMinor: 500 }]);
    expect(t.disputes).toEqual([{ currency: 'usd', provider: 'stripe', count: 1, amountMinor: 4500 }]);
    expect(t.moderationFlags).toBe(3);

    const p = d.previous;
    expect(p.signups).toBe(1);
    expect(p.activeUsers).toBe(distinctPer(activity, DAY, D - DAY, D));
    expect(p.generations).toMatchObject({ finished: 2, succeeded: 2, successRate: 1 });
    expect(bucketOf(p.generations.p50Ms!)).toBe(bucketOf(30_000));
    expect(p.credits).toEqual({ granted: 1000, grantedFree: 0, grantedBought: 1000, spent: 0 });
    expect(p.revenue).toEqual([{ currency: 'usd', provider: 'stripe', count: 1, amountMinor: 1000 }]);
    expect(p.refunds).toEqual([]);
    expect(p.moderationFlags).toBe(1);

    // hourly points: 24, the last being the current hour
    const s = d.series;
    expect(s.buckets).toHaveLength(24);
    expect(s.buckets.at(-1)).toBe(at(H).toISOString());
    const i = s.buckets.indexOf(at(H - 2 * HOUR).toISOString());
    const j = s.buckets.indexOf(at(H - HOUR).toISOString());
    expect(s.finished[i]).toBe(7);
    expect(s.succeeded[i]).toBe(5);
    expect(s.finished.reduce((a, b) => a + b, 0)).toBe(7);
    expect(s.signups[j]).toBe(2);
    expect(s.creditsSpent[i]).toBe(10);
    expect(s.creditsGranted[j]).toBe(11_157);
    expect(s.refunds[j]).toBe(2);
    expect(s.disputes[j]).toBe(1);
    expect(s.moderationFlags[j]).toBe(3);
    expect(bucketOf(s.p50Ms[i]!)).toBe(bucketOf(90_000));
    expect(s.p50Ms[j]).toBeNull();
    expect(s.byModel.map((m) => [m.model, m.values[i]])).toEqual([
      ['veo-3', 5],
      ['kling', 2],
    ]);
    expect(s.revenue.map((r) => [r.currency, r.provider, r.values[j]])).toEqual([
      ['eur', 'creem', 4200],
      ['usd', 'stripe', 5500],
    ]);
    for (const [k, bucket] of s.buckets.entries()) {
      const from = Date.parse(bucket);
      expect(s.activeUsers[k], bucket).toBe(distinctPer(activity, HOUR, from, from + HOUR));
    }
    expect(d.models).toEqual([
      expect.objectContaining({ model: 'veo-3', provider: 'kie', finished: 4, succeeded: 3 }),
      expect.objectContaining({ model: 'kling', provider: 'fal', finished: 2, succeeded: 2 }),
      { model: 'veo-3', provider: '', finished: 1, succeeded: 0, p50Ms: null, p95Ms: null },
    ]);
    // veo-3 on kie: 40, 60, 90 s
    expect(bucketOf(d.models[0]!.p50Ms!)).toBe(bucketOf(60_000));
    expect(bucketOf(d.models[0]!.p95Ms!)).toBe(bucketOf(90_000));
  });

  it('counts rows that arrive late within the 2 hours it recomputes, and says where that stops', async () => {
    // committed after the run above, dated within the 2 hours before its watermark: counted by the next run
    await generation(ids.c, 'kling', 'fal', H - HOUR + 49 * MIN, 45_000, 'succeeded');
    activity.push({ user: ids.c, t: H - HOUR + 49 * MIN });
    await inTx((tx) => creditsAt(H - 2 * HOUR + 59 * MIN).grant(tx, { userId: ids.c, credits: 20, reason: 'late', source: 'operator' }));
    // dated 3 hours back: older than (watermark - 2 h), never recomputed
    await user('late@example.net', H - 3 * HOUR);
    const run = await rollup();
    expect(run.forward).toEqual({ from: at(H - 2 * HOUR), to: at(H + HOUR) });
    // and the 7 days before the first run's
    expect(run.backfill).toEqual({ from: at(D - 13 * DAY), to: at(D - 6 * DAY) });
    const d = await dashboard('24h');
    expect(d.totals.generations).toMatchObject({ finished: 8, succeeded: 6 });
    expect(d.totals.credits.grantedFree).toBe(177);
    expect(d.totals.signups).toBe(2);
    expect(await rows('signups', H - 3 * HOUR)).toEqual([]);
  });

  it('re-running changes nothing', async () => {
    const snapshot = () => sql('select metric, hour, dim1, dim2, count, total, ok, histogram from stats_hourly order by metric, hour, dim1, dim2');
    await rollup();
    const before = await snapshot();
    const dashboardBefore = await dashboard('7d');
    await rollup();
    await rollup();
    expect(await snapshot()).toEqual(before);
    // (each run also took the history 7 days further back, where there is nothing to count)
    const same = (d: DashboardView) => ({ ...d, historyFrom: null, live: null });
    expect(same(await dashboard('7d'))).toEqual(same(dashboardBefore));
  });

  it('fills in the history 7 days per run, newest first, until every range is complete', async () => {
    // the runs before went 7 more days back each: the sign-up of 10 days ago is in the 30 days
    let d = await dashboard('30d');
    expect(Date.parse(d.historyFrom!)).toBeLessThanOrEqual(D - 13 * DAY);
    expect(d.historyComplete).toBe(false);
    expect(d.totals.signups).toBe(4);
    let runs = 0;
    for (let run = await rollup(); !run.historyComplete; run = await rollup()) {
      expect(run.backfill!.to.getTime() - run.backfill!.from.getTime()).toBeLessThanOrEqual(7 * DAY);
      if (++runs > 30) throw new Error('the history never completed');
    }
    d = await dashboard('30d');
    expect(d.historyComplete).toBe(true);
    expect(d.historyFrom).toBe(at(D - 180 * DAY).toISOString());
  });

  it('7, 30 and 90 days: daily points, totals, and the previous range of the same length', async () => {
    const d7 = await dashboard('7d');
    expect(d7).toMatchObject({ granularity: 'day', from: at(D - 6 * DAY).toISOString(), to: at(H + HOUR).toISOString() });
    expect(d7.series.buckets).toHaveLength(7);
    expect(d7.series.buckets[0]).toBe(at(D - 6 * DAY).toISOString());
    // a, b and c (not the late one, dated 3 h back and never rolled up) / d, 10 days ago
    expect(d7.totals.signups).toBe(3);
    expect(d7.previous.signups).toBe(1);
    expect(d7.totals.generations).toMatchObject({ finished: 10, succeeded: 8 });
    expect(d7.totals.revenue).toEqual([
      { currency: 'eur', provider: 'creem', count: 1, amountMinor: 4200 },
      { currency: 'usd', provider: 'stripe', count: 3, amountMinor: 6500 },
    ]);
    expect(d7.totals.moderationFlags).toBe(4);
    expect(d7.series.finished.reduce((a, b) => a + b, 0)).toBe(10);
    for (const [k, bucket] of d7.series.buckets.entries()) {
      const from = Date.parse(bucket);
      expect(d7.series.activeUsers[k], bucket).toBe(distinctPer(activity, DAY, from, from + DAY));
    }
    // the average over the 6 complete days (today left out)
    const perDay = Array.from({ length: 6 }, (_, k) => D - 6 * DAY + k * DAY).map((day) => distinctPer(activity, DAY, day, day + DAY));
    expect(d7.totals.activeUsers).toBe(Math.round((perDay.reduce((a, b) => a + b, 0) / 6) * 10) / 10);

    const d30 = await dashboard('30d');
    expect(d30.series.buckets).toHaveLength(30);
    expect(d30.totals.signups).toBe(4);
    expect(d30.previous.signups).toBe(0);
    const d90 = await dashboard('90d');
    expect(d90.series.buckets).toHaveLength(90);
    expect(d90.totals.signups).toBe(4);
    expect(d90.totals.generations.finished).toBe(10);
  });
});

describe('the rollup job and the live figures', () => {
  it('the every-minute job runs the rollup through the queue', async () => {
    await clock.set(N + MIN);
    await app.platform.ctx.queue.enqueue(adminStatsRollup, {});
    await jobsDone(app, [adminStatsRollup.name]);
    const d = await dashboard('24h');
    expect(d.rollupAt).toBe(at(N + MIN).toISOString());
    expect(d.computedThrough).toBe(at(N + MIN).toISOString());
  });

  it('waiting jobs per queue with the oldest wait, and generations stuck past their deadline', async () => {
    const now = N + MIN;
    const boss = app.platform.ctx.queue.boss;
    // a queue no worker serves: one job due 5 minutes ago, one for later
    await boss.createQueue('test.unserved');
    await boss.send('test.unserved', {}, { startAfter: at(now - 5 * MIN) });
    await boss.send('test.unserved', {}, { startAfter: at(now + HOUR) });
    // one task past its deadline, one within it
    const stuck = await seedGeneration(app.db, ids.a, { modelId: 'veo-3', deadlineSeconds: 600 }, at(now - 11 * MIN));
    const fine = await seedGeneration(app.db, ids.a, { modelId: 'veo-3', deadlineSeconds: 600 }, at(now - 2 * MIN));
    await sql(`update generations set status = 'running' where id = any($1)`, [[stuck.id, fine.id]]);

    const d = await dashboard('24h');
    expect(d.live.queues.find((q) => q.name === 'test.unserved')).toEqual({ name: 'test.unserved', waiting: 2, due: 1, oldestWaitSeconds: 300 });
    expect(d.live).toMatchObject({ activeTasks: 2, stuckTasks: 1 });
  });
});
