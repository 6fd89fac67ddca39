import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BillingResponse, OrderView, PlansResponse } from '../../../src/shared/api';
import type { TestApp } from '../../helpers/app';
import { TestClient } from '../../helpers/client';
import { until } from '../../helpers/wait';
import type { FakeCreem } from '../../fakes/creem';
import type { FakeNowPayments } from '../../fakes/nowpayments';
import type { FakeStripe } from '../../fakes/stripe';
import { startBillingApp, type BillingApp } from './setup';
import { closeAll } from '../../helpers/close';

/**
 * Buying credits over HTTP against the fake Stripe, Creem and NOWPayments servers: checkout, the
 * hosted page, signed webhooks through /webhooks/<provider> (refused when the signature is wrong),
 * duplicates, reordering, renewals, refunds with clawback, reconciliation, receipts, and
 * per-user authorization.
 */
let b: BillingApp;
let app: TestApp;
let stripe: FakeStripe;
let creem: FakeCreem;
let np: FakeNowPayments;

beforeAll(async () => {
  b = await startBillingApp();
  ({ app, stripe, creem, np } = b);
}, 60_000);
afterAll(() => closeAll(b));

const buyer = () => b.buyer();
const balance = (c: TestClient) => b.balance(c);
const checkout = (c: TestClient, plan: string, provider: string) => b.checkout(c, plan, provider);
const payOnPage = (url: string, outcome?: 'paid' | 'declined') => b.payOnPage(url, outcome);
const waitOrder = (c: TestClient, id: string, status: OrderView['status']) => b.waitOrder(c, id, status);

const eventsCount = async () => (await app.db.sql.query<{ n: number }>('select count(*)::int as n from payment_events'))[0]!.n;

describe('plans', () => {
  it('lists the plans with prices, what they buy, and who can sell them', async () => {
    const res = (await app.fetch('/api/billing/plans').then((r) => r.json())) as PlansResponse;
    expect(res.providers).toEqual(['stripe', 'creem', 'nowpayments']);
    const starter = res.plans.find((p) => p.id === 'starter')!;
    expect(starter).toMatchObject({ kind: 'pack', credits: 1000, prices: { usd: 1000, eur: 950 }, providers: ['stripe', 'creem', 'nowpayments'] });
    expect(starter.examples).toContainEqual({ model: 'veo-3.1', modelName: 'Veo 3.1', seconds: 8, count: 4 });
    // crypto cannot sell subscriptions; Creem needs a product id per plan
    expect(res.plans.find((p) => p.id === 'pro-monthly')!.providers).toEqual(['stripe']);
  });

  it('refuses a checkout for an unknown plan, an unavailable provider or currency, and without a session', async () => {
    const c = await buyer();
    expect((await c.post('/api/billing/checkout', { plan: 'nope', provider: 'stripe' })).status).toBe(400);
    expect((await c.post('/api/billing/checkout', { plan: 'pro-monthly', provider: 'nowpayments' })).json().error.fields[0].field).toBe('provider');
    expect((await c.post('/api/billing/checkout', { plan: 'starter', provider: 'stripe', currency: 'gbp' })).json().error.fields[0].field).toBe('currency');
    expect((await new TestClient(app.url).post('/api/billing/checkout', { plan: 'starter', provider: 'stripe' })).status).toBe(401);
  });
});

describe('Stripe', () => {
  it('buys a pack through the hosted page: the webhook grants the credits, the order and receipt appear', async () => {
    const c = await buyer();
    const { orderId, url } = await checkout(c, 'starter', 'stripe');
    expect((await c.get(`/api/billing/orders/${orderId}`)).json()).toMatchObject({
      status: 'pending',
      amountMinor: 1000,
      currency: 'usd',
      provider: 'stripe',
      receiptUrl: null,
    });
    const back = await payOnPage(url);
    expect(back).toBe(`${app.url}/billing?order=${orderId}`);
    const order = await waitOrder(c, orderId, 'paid');
    expect(order).toMatchObject({ planId: 'starter', credits: 1000, checkoutEmail: c.email, receiptUrl: `/api/billing/orders/${orderId}/receipt` });
    expect(await balance(c)).toBe(1000);
    const receipt = await c.get(order.receiptUrl!);
    expect(receipt.status).toBe(200);
    expect(receipt.headers.get('content-type')).toBe('application/pdf');
    expect(receipt.body.startsWith('%PDF-')).toBe(true);
    const overview = (await c.get('/api/billing')).json<BillingResponse>();
    expect(overview.orders.map((o) => [o.id, o.status])).toEqual([[orderId, 'paid']]);
    // someone else sees none of it
    const other = await buyer();
    expect((await other.get(`/api/billing/orders/${orderId}`)).status).toBe(404);
    expect((await other.get(order.receiptUrl!)).status).toBe(404);
    expect((await other.get('/api/billing')).json<BillingResponse>().orders).toEqual([]);
  });

  it('refuses webhooks with a tampered body, the wrong secret or a stale timestamp (400), with no effect', async () => {
    const c = await buyer();
    const { orderId, url } = await checkout(c, 'starter', 'stripe');
    stripe.hold();
    await payOnPage(url);
    const completed = stripe.events.find(
      (e) => e.type === 'checkout.session.completed' && (e.data.object as { client_reference_id?: string }).client_reference_id === orderId,
    )!;
    const body = JSON.stringify(completed);
    const before = await eventsCount();
    const post = (payload: string, signature: string) =>
      fetch(`${app.url}/webhooks/stripe`, { method: 'POST', headers: { 'content-type': 'application/json', 'stripe-signature': signature }, body: payload });
    expect((await post(body.replace('"paid"', '"PAID"'), stripe.signature(body))).status).toBe(400);
    expect((await post(body, stripe.signature(body, { secret: 'whsec_wrong' }))).status).toBe(400);
    expect((await post(body, stripe.signature(body, { timestamp: Math.floor(Date.now() / 1000) - 3600 }))).status).toBe(400);
    expect((await post(body, '')).status).toBe(400);
    expect(await eventsCount()).toBe(before);
    expect(await balance(c)).toBe(0);
    // the genuine delivery then works
    await stripe.release();
    await waitOrder(c, orderId, 'paid');
    expect(await balance(c)).toBe(1000);
  });

  it('the same event delivered 10 times concurrently grants once', async () => {
    const c = await buyer();
    const { orderId, url } = await checkout(c, 'creator', 'stripe');
    stripe.hold();
    await payOnPage(url);
    const completed = stripe.events.find(
      (e) => e.type === 'checkout.session.completed' && (e.data.object as { client_reference_id?: string }).client_reference_id === orderId,
    )!;
    const body = JSON.stringify(completed);
    const answers = await Promise.all(
      Array.from({ length: 10 }, () =>
        fetch(`${app.url}/webhooks/stripe`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'stripe-signature': stripe.signature(body) },
          body,
        }).then((r) => r.status),
      ),
    );
    expect(answers).toEqual(Array(10).fill(200));
    await stripe.release();
    await stripe.settled();
    expect(await balance(c)).toBe(5000);
    const grants = await app.db.sql.query(`select 1 from credit_ledger where reference = $1 and kind = 'purchase'`, [`order:${orderId}`]);
    expect(grants).toHaveLength(1);
  });

  it('a refund delivered before the payment (reordered) ends refunded with the credits taken back', async () => {
    const c = await buyer();
    const { orderId, url } = await checkout(c, 'starter', 'stripe');
    stripe.hold();
    await payOnPage(url);
    const pi = [...stripe.sessions.values()].find((s) => s.client_reference_id === orderId)!.payment_intent as string;
    stripe.refund(pi); // a dashboard refund right after
    await stripe.release('reverse');
    await stripe.settled();
    const order = await waitOrder(c, orderId, 'refunded');
    expect(order.refundedMinor).toBe(1000);
    expect(await balance(c)).toBe(0);
  });

  it('an operator refund goes through Stripe, takes the credits back once, and the echo from Stripe changes nothing', async () => {
    const c = await buyer();
    const { orderId, url } = await checkout(c, 'creator', 'stripe'); // 5000 credits for $45
    await payOnPage(url);
    await waitOrder(c, orderId, 'paid');
    const partial = await app.platform.ctx.services.billing.refund(orderId, 900);
    expect(partial).toMatchObject({ status: 'partially_refunded', refundedMinor: 900, creditsClawedBack: 1000 });
    await stripe.settled();
    const full = await app.platform.ctx.services.billing.refund(orderId);
    expect(full).toMatchObject({ status: 'refunded', refundedMinor: 4500, creditsClawedBack: 5000 });
    await stripe.settled();
    expect(await balance(c)).toBe(0);
    const clawbacks = await app.db.sql.query<{ amount: string }>(`select amount from credit_ledger where reference = $1 and kind = 'clawback' order by id`, [
      `order:${orderId}`,
    ]);
    expect(clawbacks.map((r) => Number(r.amount))).toEqual([-1000, -4000]);
    await expect(app.platform.ctx.services.billing.refund(orderId, 1)).rejects.toMatchObject({ status: 400 });
  });

  it('a subscription: the first period with the checkout, then invoice.paid for three periods grants three times; cancel at period end', async () => {
    const c = await buyer();
    const { orderId, url } = await checkout(c, 'max-monthly', 'stripe'); // 10,000 a month, rolls over
    await payOnPage(url);
    await waitOrder(c, orderId, 'paid');
    const sub = [...stripe.sessions.values()].find((s) => s.client_reference_id === orderId)!.subscription as string;
    for (let i = 0; i < 3; i++) stripe.renewSubscription(sub);
    await stripe.settled();
    await until(async () => (await balance(c)) >= 40_000, { app, timeoutMs: 10_000, what: 'the three renewals' });
    expect(await balance(c)).toBe(40_000);
    const overview = (await c.get('/api/billing')).json<BillingResponse>();
    expect(overview.orders.map((o) => o.kind)).toEqual(['renewal', 'renewal', 'renewal', 'subscription']);
    expect(overview.subscription).toMatchObject({ planId: 'max-monthly', provider: 'stripe', status: 'active', cancelAtPeriodEnd: false });
    // a second subscription is refused while this one runs
    expect((await c.post('/api/billing/checkout', { plan: 'pro-monthly', provider: 'stripe' })).status).toBe(409);
    const canceled = await c.post('/api/billing/subscription/cancel');
    expect(canceled.status, canceled.body).toBe(200);
    expect(canceled.json()).toMatchObject({ cancelAtPeriodEnd: true });
    expect(stripe.subscriptions.get(sub)!.cancel_at_period_end).toBe(true);
    // refunding the latest renewal takes its credits back
    const renewal = overview.orders[0]!;
    await app.platform.ctx.services.billing.refund(renewal.id);
    expect(await balance(c)).toBe(30_000);
  });

  it('renewals delivered newest first still grant every period, and the subscription ends on the latest period', async () => {
    const c = await buyer();
    const { orderId, url } = await checkout(c, 'max-monthly', 'stripe');
    await payOnPage(url);
    await waitOrder(c, orderId, 'paid');
    const sub = [...stripe.sessions.values()].find((s) => s.client_reference_id === orderId)!.subscription as string;
    stripe.hold();
    for (let i = 0; i < 3; i++) stripe.renewSubscription(sub);
    await stripe.release('reverse');
    await stripe.settled();
    expect(await balance(c)).toBe(40_000);
    const periods = await app.db.sql.query<{ kind: string; period_end: string }>(
      `select o.kind, to_char(o.period_end at time zone 'UTC', 'YYYY-MM-DD') as period_end from orders o join subscriptions s on s.id = o.subscription_id
        where s.provider_ref = $1 order by o.period_end`,
      [sub],
    );
    expect(periods.map((p) => p.kind)).toEqual(['subscription', 'renewal', 'renewal', 'renewal']);
    expect(new Set(periods.map((p) => p.period_end)).size).toBe(4);
    const [current] = await app.db.sql.query<{ end: string }>(
      `select to_char(current_period_end at time zone 'UTC', 'YYYY-MM-DD') as end from subscriptions where provider_ref = $1`,
      [sub],
    );
    expect(current!.end).toBe(periods[3]!.period_end);
    // the same invoices again change nothing
    for (const d of stripe.deliveries.filter((d) => d.type === 'invoice.paid')) await stripe.resend(d.eventId);
    expect(await balance(c)).toBe(40_000);
  });

  it('reconciliation applies what the webhooks missed while we were unreachable', async () => {
    const c = await buyer();
    const { orderId, url } = await checkout(c, 'starter', 'stripe');
    stripe.setWebhookUrl('http://127.0.0.1:9/webhooks/stripe'); // nobody there
    try {
      await payOnPage(url);
      await stripe.settled();
    } finally {
      stripe.setWebhookUrl(`${app.url}/webhooks/stripe`);
    }
    expect((await c.get(`/api/billing/orders/${orderId}`)).json()).toMatchObject({ status: 'pending' });
    const result = await app.platform.ctx.services.billing.reconcile();
    expect(result.applied).toBeGreaterThanOrEqual(1);
    await waitOrder(c, orderId, 'paid');
    expect(await balance(c)).toBe(1000);
    // running it again applies nothing new
    expect((await app.platform.ctx.services.billing.reconcile()).applied).toBe(0);
  });

  it('a declined payment fails the order and adds nothing', async () => {
    const c = await buyer();
    const { orderId, url } = await checkout(c, 'starter', 'stripe');
    expect(await payOnPage(url, 'declined')).toBe(`${app.url}/billing?canceled=1&order=${orderId}`);
    await waitOrder(c, orderId, 'failed');
    expect(await balance(c)).toBe(0);
  });
});

describe('NOWPayments', () => {
  it('confirming grants nothing; finished grants once', async () => {
    const c = await buyer();
    const { orderId, url } = await checkout(c, 'starter', 'nowpayments');
    const invoiceId = new URL(url).searchParams.get('iid')!;
    await np.setStatus(invoiceId, 'confirming');
    await np.idle();
    expect((await c.get(`/api/billing/orders/${orderId}`)).json()).toMatchObject({ status: 'pending' });
    expect(await balance(c)).toBe(0);
    await np.setStatus(invoiceId, 'finished');
    await np.setStatus(invoiceId, 'finished'); // the IPN repeated
    await np.idle();
    await waitOrder(c, orderId, 'paid');
    expect(await balance(c)).toBe(1000);
  });

  it('partially_paid grants nothing with the default setting (none)', async () => {
    const c = await buyer();
    const { orderId, url } = await checkout(c, 'starter', 'nowpayments');
    await np.setStatus(new URL(url).searchParams.get('iid')!, 'partially_paid', { actuallyPaidFraction: 0.5 });
    await np.idle();
    expect((await c.get(`/api/billing/orders/${orderId}`)).json()).toMatchObject({ status: 'pending' });
    expect(await balance(c)).toBe(0);
  });

  it('refuses an IPN with a bad signature', async () => {
    const body = JSON.stringify({ payment_id: 1, payment_status: 'finished', order_id: 'x', price_amount: 10, price_currency: 'usd' });
    const res = await fetch(`${app.url}/webhooks/nowpayments`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-nowpayments-sig': np.sign(body, 'wrong') },
      body,
    });
    expect(res.status).toBe(400);
  });
});

describe('Creem', () => {
  it('buys a pack through Creem; a wrongly signed webhook is refused', async () => {
    const c = await buyer();
    const { orderId, url } = await checkout(c, 'starter', 'creem');
    await payOnPage(url);
    await creem.idle();
    await waitOrder(c, orderId, 'paid');
    expect(await balance(c)).toBe(1000);
    const body = JSON.stringify({ id: 'evt_x', eventType: 'checkout.completed', created_at: Date.now(), object: {} });
    expect((await fetch(`${app.url}/webhooks/creem`, { method: 'POST', headers: { 'creem-signature': creem.sign(body, 'wrong') }, body })).status).toBe(400);
  });
});
