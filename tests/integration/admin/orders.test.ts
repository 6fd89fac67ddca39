import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AdminOrderDetail, AdminOrderList, AdminReconcileResult, AdminRefundResult } from '../../../src/shared/api';
import { runCommand } from '../../../src/server/cli/commands';
import { TestClient } from '../../helpers/client';
import { closeAll } from '../../helpers/close';
import { until } from '../../helpers/wait';
import { startBillingApp, type BillingApp } from '../billing/setup';

/**
 * The console's orders section (issue 18) on one billing app with the fake Stripe, Creem and
 * NOWPayments: finding orders by every filter, an order's page (events, ledger, what is
 * refundable), full and partial refunds through the Stripe fake with the credits taken back as the
 * billing domain does, the refusals (409 over-refund, refunded, pending, disputed, a dashboard-only
 * provider; 502 when Stripe refuses, nothing changed), exactly one refund for 30 concurrent
 * requests, reconciliation of an event the webhooks missed, the audit entries, the CLI, the roles
 * and the recent sign-in.
 */
let b: BillingApp;
const PASSWORD = 'a fine password 1';
let n = 0;

interface Person extends TestClient {
  userId: string;
  email: string;
}

async function person(role: 'user' | 'support' | 'moderator' | 'admin'): Promise<Person> {
  const email = `orders-${role}-${++n}@example.com`;
  const u = await b.app.platform.ctx.services.users.create({ email, password: PASSWORD, name: `Orders ${role}`, role });
  const c = new TestClient(b.app.url, { ip: `192.0.2.${(n % 250) + 1}` });
  const res = await c.post('/api/auth/sign-in/email', { email, password: PASSWORD });
  if (res.status !== 200) throw new Error(`sign-in failed: ${res.status} ${res.body}`);
  return Object.assign(c, { userId: u.id, email });
}

const rows = <T = Record<string, unknown>>(text: string, params: unknown[] = []) => b.app.db.sql.query<T>(text, params);

let admin: Person;
let support: Person;
let moderator: Person;
let user: Person;

beforeAll(async () => {
  b = await startBillingApp({ TRUST_PROXY: 'true' });
  [admin, support, moderator, user] = await Promise.all([person('admin'), person('support'), person('moderator'), person('user')]);
});
afterAll(() => closeAll(b));

/** A buyer's paid order through the Stripe fake (or another provider), with its payment intent. */
async function paidOrder(plan = 'starter', provider = 'stripe') {
  const buyer = await b.buyer();
  const { orderId, url } = await b.checkout(buyer, plan, provider);
  await b.payOnPage(url);
  await b.waitOrder(buyer, orderId, 'paid');
  const session = [...b.stripe.sessions.values()].find((s) => s.client_reference_id === orderId);
  const pi = session ? String(session.payment_intent) : '';
  return { buyer, orderId, pi };
}

const chargeOf = (pi: string) => [...b.stripe.charges.values()].find((ch) => ch.payment_intent === pi)!;
const refundEvents = (pi: string) =>
  b.stripe.events.filter((e) => e.type === 'charge.refunded' && (e.data.object as { payment_intent?: string }).payment_intent === pi).length;
const detail = async (c: TestClient, id: string) => {
  const res = await c.get(`/api/admin/orders/${id}`);
  expect(res.status, res.body).toBe(200);
  return res.json<AdminOrderDetail>();
};
const list = async (c: TestClient, params: Record<string, string>) => {
  const res = await c.get(`/api/admin/orders?${new URLSearchParams(params)}`);
  expect(res.status, res.body).toBe(200);
  return res.json<AdminOrderList>();
};
const audit = (orderId: string) =>
  rows<{
    action: string;
    actor_id: string | null;
    actor_label: string;
    actor_role: string | null;
    via: string;
    ip: string | null;
    reason: string | null;
    before: unknown;
    after: unknown;
  }>(
    `select action, actor_id, actor_label, actor_role, via, ip, reason, before, after from audit_log where target_type = 'order' and target_id = $1 order by id`,
    [orderId],
  );
const clawbacks = async (orderId: string) =>
  (await rows<{ amount: string }>(`select amount from credit_ledger where reference = $1 and kind = 'clawback' order by id`, [`order:${orderId}`])).map((r) =>
    Number(r.amount),
  );

describe('finding orders', () => {
  it('filters by status, provider, currency, dates and a search by id, receipt, email and payment reference, in keyset pages', async () => {
    const first = await paidOrder();
    const second = await b.checkout(first.buyer, 'creator', 'stripe');
    await b.payOnPage(second.url);
    await b.waitOrder(first.buyer, second.orderId, 'paid');
    const pending = await b.buyer();
    const open = await b.checkout(pending, 'starter', 'creem');

    const mine = await list(support, { q: first.buyer.email.toUpperCase() });
    expect(mine.orders.map((o) => o.id)).toEqual([second.orderId, first.orderId]);
    expect(mine.orders[0]).toMatchObject({
      status: 'paid',
      provider: 'stripe',
      currency: 'usd',
      amountMinor: 4500,
      planName: 'Creator',
      user: { id: first.buyer.userId },
    });
    expect(mine.orders[0]!.receiptNumber).toMatch(/^SS-\d{4}-\d{6}$/);

    // one page at a time, newest first, no order twice
    const page1 = await list(support, { q: first.buyer.email, limit: '1' });
    expect(page1.orders.map((o) => o.id)).toEqual([second.orderId]);
    const page2 = await list(support, { q: first.buyer.email, limit: '1', cursor: page1.nextCursor! });
    expect(page2.orders.map((o) => o.id)).toEqual([first.orderId]);
    expect(page2.nextCursor).toBeNull();

    const receipt = mine.orders[1]!.receiptNumber!;
    for (const q of [first.orderId, receipt.toLowerCase(), first.pi]) expect((await list(support, { q })).orders.map((o) => o.id)).toEqual([first.orderId]);
    // the buyer's account id finds all their orders
    expect((await list(support, { q: first.buyer.userId })).orders).toHaveLength(2);

    expect((await list(support, { q: pending.email })).orders.map((o) => [o.id, o.status, o.provider])).toEqual([[open.orderId, 'pending', 'creem']]);
    expect((await list(support, { q: pending.email, status: 'paid' })).orders).toEqual([]);
    expect((await list(support, { q: first.buyer.email, status: 'paid', provider: 'stripe', currency: 'USD' })).orders).toHaveLength(2);
    expect((await list(support, { q: first.buyer.email, currency: 'eur' })).orders).toEqual([]);
    expect((await list(support, { provider: 'creem', status: 'pending' })).orders.every((o) => o.provider === 'creem' && o.status === 'pending')).toBe(true);
    const today = new Date().toISOString().slice(0, 10);
    const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
    const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
    expect((await list(support, { q: first.buyer.email, from: today, to: today })).orders).toHaveLength(2);
    expect((await list(support, { q: first.buyer.email, from: tomorrow })).orders).toEqual([]);
    expect((await list(support, { q: first.buyer.email, to: yesterday })).orders).toEqual([]);
    // the plain list holds them too, newest first
    const all = await list(admin, { limit: '100' });
    const ids = all.orders.map((o) => o.id);
    expect(ids.indexOf(open.orderId)).toBeLessThan(ids.indexOf(second.orderId));

    for (const bad of [{ status: 'lost' }, { cursor: 'not-a-cursor' }, { limit: '0' }, { from: 'yesterday' }, { currency: 'dollars' }] as Record<
      string,
      string
    >[]) {
      const res = await support.get(`/api/admin/orders?${new URLSearchParams(bad)}`);
      expect(res.status, JSON.stringify(bad)).toBe(400);
    }
  });

  it("an order's page: the buyer, its payment events, the credits it granted and what can be refunded", async () => {
    const { buyer, orderId, pi } = await paidOrder();
    const d = await detail(support, orderId);
    expect(d.order).toMatchObject({
      id: orderId,
      status: 'paid',
      provider: 'stripe',
      paymentRef: pi,
      amountMinor: 1000,
      paidMinor: 1000,
      creditsGranted: 1000,
    });
    expect(d.order.checkoutRef).toMatch(/^cs_/);
    expect(d.user).toMatchObject({ id: buyer.userId, email: buyer.email, status: 'active', billingFlag: null });
    // the charge's risk facts (issue 19), then the payment
    expect(d.events).toEqual([
      expect.objectContaining({ type: 'payment.charge', state: 'applied' }),
      expect.objectContaining({ type: 'checkout.paid', state: 'applied', amountMinor: 1000 }),
    ]);
    expect(d.ledger).toEqual([expect.objectContaining({ kind: 'purchase', amount: 1000, reference: `order:${orderId}` })]);
    expect(d.refund).toEqual({ remainingMinor: 1000, blocker: null });
    expect(d.reconcilable).toBe(true);

    expect((await support.get('/api/admin/orders/4b0f3a5e-0000-4000-8000-000000000000')).status).toBe(404);
    expect((await support.get('/api/admin/orders/not-an-id')).status).toBe(404);
  });
});

describe('refunds', () => {
  it('a partial then a full refund through Stripe take the credits back in proportion, audited with before and after', async () => {
    const { buyer, orderId, pi } = await paidOrder('creator'); // 5000 credits for $45
    const partial = await admin.post(
      `/api/admin/orders/${orderId}/refund`,
      { amountMinor: 900, reason: 'customer asked, half the pack unused' },
      { 'idempotency-key': 'dialog-1' },
    );
    expect(partial.status, partial.body).toBe(200);
    expect(partial.json<AdminRefundResult>()).toMatchObject({
      replayed: false,
      refundedNowMinor: 900,
      order: { status: 'partially_refunded', refundedMinor: 900, creditsClawedBack: 1000 },
    });
    expect(chargeOf(pi).amount_refunded).toBe(900);
    expect(await b.balance(buyer)).toBe(4000);

    // the same request again (a double click, a retry): answered, not refunded again
    const again = await admin.post(
      `/api/admin/orders/${orderId}/refund`,
      { amountMinor: 900, reason: 'customer asked, half the pack unused' },
      { 'idempotency-key': 'dialog-1' },
    );
    expect([again.status, again.headers.get('idempotent-replayed'), again.json<AdminRefundResult>().refundedNowMinor]).toEqual([200, 'true', 900]);
    const reused = await admin.post(`/api/admin/orders/${orderId}/refund`, { amountMinor: 100, reason: 'another' }, { 'idempotency-key': 'dialog-1' });
    expect([reused.status, reused.json().error.code]).toEqual([409, 'idempotency_key_reused']);
    expect(chargeOf(pi).amount_refunded).toBe(900);

    const over = await admin.post(`/api/admin/orders/${orderId}/refund`, { amountMinor: 3601, reason: 'too much' });
    expect([over.status, over.json().error.code]).toEqual([409, 'over_refund']);
    expect(over.json().error.message).toContain('At most 3600');

    const full = await support.post(`/api/admin/orders/${orderId}/refund`, { reason: 'the rest' }, { 'idempotency-key': 'dialog-2' });
    expect(full.status, full.body).toBe(200);
    expect(full.json<AdminRefundResult>()).toMatchObject({
      refundedNowMinor: 3600,
      order: { status: 'refunded', refundedMinor: 4500, creditsClawedBack: 5000 },
    });
    const twice = await support.post(`/api/admin/orders/${orderId}/refund`, { reason: 'again' });
    expect([twice.status, twice.json().error.code]).toEqual([409, 'already_refunded']);

    // Stripe's own charge.refunded echoes change nothing
    await b.stripe.settled();
    expect(await b.balance(buyer)).toBe(0);
    expect(await clawbacks(orderId)).toEqual([-1000, -4000]);
    expect(chargeOf(pi).amount_refunded).toBe(4500);
    const d = await detail(admin, orderId);
    expect(d.refund).toEqual({ remainingMinor: 0, blocker: 'refunded' });
    expect(d.ledger.map((r) => [r.kind, r.amount])).toEqual([
      ['purchase', 5000],
      ['clawback', -1000],
      ['clawback', -4000],
    ]);
    expect(d.events.filter((e) => e.type === 'payment.refunded').map((e) => e.state)).toContain('applied');

    expect(await audit(orderId)).toEqual([
      expect.objectContaining({
        action: 'order.refund',
        actor_id: admin.userId,
        actor_label: admin.email,
        actor_role: 'admin',
        via: 'console',
        ip: admin.opts.ip,
        reason: 'customer asked, half the pack unused',
        before: { status: 'paid', refundedMinor: 0, creditsClawedBack: 0 },
        after: expect.objectContaining({
          status: 'partially_refunded',
          refundedMinor: 900,
          creditsClawedBack: 1000,
          refundAmountMinor: 900,
          idempotencyKey: 'dialog-1',
        }),
      }),
      expect.objectContaining({
        action: 'order.refund',
        actor_id: support.userId,
        actor_role: 'support',
        reason: 'the rest',
        before: { status: 'partially_refunded', refundedMinor: 900, creditsClawedBack: 1000 },
        after: expect.objectContaining({ status: 'refunded', refundedMinor: 4500, creditsClawedBack: 5000, refundAmountMinor: 3600, requestedMinor: null }),
      }),
    ]);
  });

  it('30 concurrent refunds refund once: the same full refund, and the same partial refund under one Idempotency-Key', async () => {
    const full = await paidOrder();
    const answers = await Promise.all(Array.from({ length: 30 }, () => admin.post(`/api/admin/orders/${full.orderId}/refund`, { reason: 'duplicate charge' })));
    const ok = answers.filter((r) => r.status === 200).map((r) => r.json<AdminRefundResult>());
    expect(
      answers.every((r) => r.status === 200 || (r.status === 409 && r.json().error.code === 'already_refunded')),
      answers.map((r) => r.body).join('\n'),
    ).toBe(true);
    expect(ok.filter((r) => !r.replayed)).toHaveLength(1);
    await b.stripe.settled();
    expect(chargeOf(full.pi).amount_refunded).toBe(1000);
    expect(refundEvents(full.pi)).toBe(1);
    expect(await clawbacks(full.orderId)).toEqual([-1000]);
    expect((await audit(full.orderId)).map((a) => a.action)).toEqual(['order.refund']);

    const part = await paidOrder();
    const same = await Promise.all(
      Array.from({ length: 30 }, () =>
        support.post(`/api/admin/orders/${part.orderId}/refund`, { amountMinor: 300, reason: 'late delivery' }, { 'idempotency-key': 'dialog-30' }),
      ),
    );
    expect(same.map((r) => r.status)).toEqual(Array(30).fill(200));
    expect(same.filter((r) => !r.json<AdminRefundResult>().replayed)).toHaveLength(1);
    await b.stripe.settled();
    expect(chargeOf(part.pi).amount_refunded).toBe(300);
    expect(refundEvents(part.pi)).toBe(1);
    expect(await clawbacks(part.orderId)).toEqual([-300]);
    expect((await detail(admin, part.orderId)).order).toMatchObject({ status: 'partially_refunded', refundedMinor: 300 });
    expect((await audit(part.orderId)).map((a) => a.action)).toEqual(['order.refund']);
  });

  it('Stripe refusing answers 502 with a clear message, and nothing changes here', async () => {
    const { buyer, orderId, pi } = await paidOrder();
    b.stripe.failNext(500, 3); // the SDK tries three times
    const res = await admin.post(`/api/admin/orders/${orderId}/refund`, { reason: 'try' });
    expect(res.status, res.body).toBe(502);
    expect(res.json().error).toMatchObject({ code: 'payment_provider_error' });
    expect(res.json().error.message).toMatch(/^Stripe refused the refund: .+ Nothing was changed here\.$/);
    expect((await detail(admin, orderId)).order).toMatchObject({ status: 'paid', refundedMinor: 0, creditsClawedBack: 0 });
    expect(chargeOf(pi).amount_refunded).toBe(0);
    expect(await b.balance(buyer)).toBe(1000);
    expect(await audit(orderId)).toEqual([]);
    // Stripe is back: the refund goes through
    expect((await admin.post(`/api/admin/orders/${orderId}/refund`, { reason: 'try again' })).status).toBe(200);
  });

  it('refuses what cannot be refunded here: pending, disputed, and a provider whose refunds are made in its dashboard', async () => {
    const buyer = await b.buyer();
    const pending = await b.checkout(buyer, 'starter', 'stripe');
    const notPaid = await admin.post(`/api/admin/orders/${pending.orderId}/refund`, { reason: 'nothing paid' });
    expect([notPaid.status, notPaid.json().error.code]).toEqual([409, 'order_not_paid']);
    expect((await detail(admin, pending.orderId)).refund).toEqual({ remainingMinor: 1000, blocker: 'not_paid' });

    const disputed = await paidOrder();
    b.stripe.dispute(disputed.pi);
    await b.waitOrder(disputed.buyer, disputed.orderId, 'disputed');
    const res = await admin.post(`/api/admin/orders/${disputed.orderId}/refund`, { reason: 'disputed' });
    expect([res.status, res.json().error.code]).toEqual([409, 'order_disputed']);

    const creem = await paidOrder('starter', 'creem');
    expect((await detail(admin, creem.orderId)).refund.blocker).toBe('provider_dashboard');
    const dashboard = await admin.post(`/api/admin/orders/${creem.orderId}/refund`, { reason: 'creem' });
    expect([dashboard.status, dashboard.json().error.code]).toEqual([409, 'refund_in_dashboard']);
    expect(dashboard.json().error.message).toContain('Creem dashboard');
    const unsupported = await admin.post(`/api/admin/orders/${creem.orderId}/reconcile`);
    expect([unsupported.status, unsupported.json().error.code]).toEqual([409, 'reconcile_unsupported']);

    const invalid = await admin.post(`/api/admin/orders/${disputed.orderId}/refund`, { amountMinor: -5, reason: 'x' });
    expect(invalid.status).toBe(400);
    expect((await admin.post(`/api/admin/orders/${disputed.orderId}/refund`, { amountMinor: 100 })).status).toBe(400);
    expect(await audit(pending.orderId)).toEqual([]);
  });
});

describe('reconciliation', () => {
  it('asks Stripe about the order and applies the refund event its webhook never delivered; once', async () => {
    const { buyer, orderId, pi } = await paidOrder();
    const hook = b.stripe.webhookUrl;
    b.stripe.setWebhookUrl(undefined); // we are down: the dashboard refund's event is never delivered
    try {
      b.stripe.refund(pi, 300);
    } finally {
      b.stripe.setWebhookUrl(hook);
    }
    expect((await detail(admin, orderId)).order).toMatchObject({ status: 'paid', refundedMinor: 0 });

    const res = await support.post(`/api/admin/orders/${orderId}/reconcile`);
    expect(res.status, res.body).toBe(200);
    const r = res.json<AdminReconcileResult>();
    expect(r).toMatchObject({ applied: 1, order: { status: 'partially_refunded', refundedMinor: 300, creditsClawedBack: 300 } });
    expect(r.matched).toBeGreaterThanOrEqual(2); // the checkout and the refund
    expect(await b.balance(buyer)).toBe(700);
    const again = (await support.post(`/api/admin/orders/${orderId}/reconcile`)).json<AdminReconcileResult>();
    expect([again.applied, again.order.refundedMinor]).toEqual([0, 300]);
    expect(await clawbacks(orderId)).toEqual([-300]);
    expect((await audit(orderId)).map((a) => [a.action, a.actor_id, (a.after as { applied: number }).applied])).toEqual([
      ['order.reconcile', support.userId, 1],
      ['order.reconcile', support.userId, 0],
    ]);
  });
});

describe('the CLI shares the same functions and is audited', () => {
  it('billing:refund and billing:reconcile record cli entries', async () => {
    const { orderId, pi } = await paidOrder();
    const ctx = b.app.platform.ctx;
    const out = await runCommand(ctx, 'billing:refund', ['--order', orderId, '--amount', '250', '--reason', 'phoned in', '--by', 'alice']);
    expect(out).toContain('partially_refunded, refunded 250 of 1000 usd');
    expect(chargeOf(pi).amount_refunded).toBe(250);
    await expect(runCommand(ctx, 'billing:refund', ['--order', orderId, '--amount', '9999'])).rejects.toMatchObject({ status: 409, code: 'over_refund' });
    expect(await runCommand(ctx, 'billing:reconcile', ['--order', orderId])).toContain(`${orderId}: partially_refunded`);
    expect(await runCommand(ctx, 'billing:reconcile', ['--hours', '1'])).toMatch(/^Looked at \d+ provider event\(s\)/);
    expect((await audit(orderId)).map((a) => [a.action, a.actor_label, a.via, a.ip, a.reason])).toEqual([
      ['order.refund', 'cli:alice', 'cli', 'local', 'phoned in'],
      ['order.reconcile', expect.stringMatching(/^cli:/), 'cli', 'local', null],
    ]);
    const all = await rows<{ via: string }>(`select via from audit_log where action = 'billing.reconcile'`);
    expect(all.map((r) => r.via)).toEqual(['cli']);
  });
});

describe('who may', () => {
  it('a moderator gets 403, a normal user and a visitor 404 on every orders route, whatever the body', async () => {
    const { orderId } = await paidOrder();
    const routes: [string, string, unknown][] = [
      ['GET', '/api/admin/orders', undefined],
      ['GET', `/api/admin/orders/${orderId}`, undefined],
      ['POST', `/api/admin/orders/${orderId}/refund`, { reason: 'not mine to give' }],
      ['POST', `/api/admin/orders/${orderId}/refund`, { amountMinor: 'lots' }],
      ['POST', `/api/admin/orders/${orderId}/reconcile`, undefined],
    ];
    const visitor = new TestClient(b.app.url);
    for (const [method, path, body] of routes) {
      expect((await moderator.request(method, path, body)).status, `${method} ${path} (moderator)`).toBe(403);
      expect((await user.request(method, path, body)).status, `${method} ${path} (user)`).toBe(404);
      expect((await visitor.request(method, path, body)).status, `${method} ${path} (visitor)`).toBe(404);
    }
    expect((await detail(admin, orderId)).order).toMatchObject({ status: 'paid', refundedMinor: 0 });
    expect(await audit(orderId)).toEqual([]);
  });

  it('a refund asks for a sign-in or the password within the last 10 minutes', async () => {
    const { orderId } = await paidOrder();
    const op = await person('support');
    await rows(`update sessions set created_at = created_at - interval '11 minutes' where user_id = $1`, [op.userId]);
    const refused = await op.post(`/api/admin/orders/${orderId}/refund`, { reason: 'stale session' });
    expect([refused.status, refused.json().error.code]).toEqual([403, 'reauth_required']);
    expect((await detail(op, orderId)).order.status).toBe('paid'); // reading needs no password
    expect((await op.post('/api/admin/reauth', { password: PASSWORD })).status).toBe(200);
    const done = await op.post(`/api/admin/orders/${orderId}/refund`, { reason: 'confirmed' });
    expect(done.status, done.body).toBe(200);
    await until(async () => (await detail(op, orderId)).order.status === 'refunded', { app: b.app, what: 'the refund' });
    expect((await audit(orderId)).map((a) => [a.action, a.reason])).toEqual([['order.refund', 'confirmed']]);
  });
});
