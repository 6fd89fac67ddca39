import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Stripe from 'stripe';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { closeAll } from '../helpers/close';
import { parseStripeForm, startFakeStripe, type FakeStripe } from './stripe';

/** The fake Stripe's own protocol: form parsing, auth, errors, idempotency, events, hosted page, deliveries. */

interface Hook {
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A webhook receiver whose answers can be scripted (statuses consumed in order, then 200). */
async function startReceiver() {
  const hooks: Hook[] = [];
  const statuses: number[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      hooks.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(statuses.shift() ?? 200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    hooks,
    statuses,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

let fake: FakeStripe;
let recv: Awaited<ReturnType<typeof startReceiver>>;

beforeAll(async () => {
  recv = await startReceiver();
  fake = await startFakeStripe({ webhookUrl: recv.url, retryDelaysMs: [20, 20, 20] });
});
afterAll(async () => {
  await fake.settled();
  await closeAll(fake, recv);
});
afterEach(async () => {
  await fake.settled();
  recv.hooks.length = 0;
  recv.statuses.length = 0;
});

/** loosely typed JSON answers */
type Json = Record<string, any>;

async function call(
  method: string,
  path: string,
  params: Record<string, string> = {},
  headers: Record<string, string> = {},
): Promise<{ status: number; body: Json; headers: Headers }> {
  const qs = new URLSearchParams(params).toString();
  const get = method === 'GET';
  const res = await fetch(`${fake.url}${path}${get && qs ? `?${qs}` : ''}`, {
    method,
    headers: { authorization: `Bearer ${fake.secretKey}`, 'content-type': 'application/x-www-form-urlencoded', ...headers },
    ...(get ? {} : { body: qs }),
  });
  return { status: res.status, body: (await res.json()) as Json, headers: res.headers };
}

const packParams = (extra: Record<string, string> = {}) => ({
  mode: 'payment',
  'line_items[0][price_data][currency]': 'usd',
  'line_items[0][price_data][unit_amount]': '1500',
  'line_items[0][price_data][product_data][name]': '150 credits',
  'line_items[0][quantity]': '2',
  success_url: 'http://app.test/ok?s={CHECKOUT_SESSION_ID}',
  cancel_url: 'http://app.test/cancel',
  client_reference_id: 'ord_1',
  'metadata[order_id]': 'ord_1',
  'payment_intent_data[metadata][order_id]': 'ord_1',
  customer_email: 'a@example.com',
  ...extra,
});

describe('form encoding', () => {
  it('parses bracket nesting into objects and arrays', () => {
    const raw = new URLSearchParams([
      ['mode', 'payment'],
      ['line_items[0][price_data][currency]', 'usd'],
      ['line_items[0][quantity]', '1'],
      ['line_items[1][price]', 'price_1'],
      ['metadata[order_id]', 'o 1&2'],
      ['expand[]', 'a'],
      ['expand[]', 'b'],
      ['created[gte]', '10'],
      ['__proto__[polluted]', 'yes'],
      ['a[constructor][x]', 'yes'],
    ]).toString();
    expect(parseStripeForm(raw)).toEqual({
      mode: 'payment',
      line_items: [{ price_data: { currency: 'usd' }, quantity: '1' }, { price: 'price_1' }],
      metadata: { order_id: 'o 1&2' },
      expand: ['a', 'b'],
      created: { gte: '10' },
    });
    expect(({} as Json).polluted).toBeUndefined();
    expect(parseStripeForm('items[2]=c&items[0]=a&items[1]=b')).toEqual({ items: ['a', 'b', 'c'] });
  });

  it('reads what the stripe SDK sends', async () => {
    const sdk = new Stripe(fake.secretKey, { host: '127.0.0.1', port: new URL(fake.url).port, protocol: 'http', telemetry: false });
    const s = await sdk.checkout.sessions.create({
      mode: 'subscription',
      line_items: [{ price_data: { currency: 'eur', unit_amount: 990, product_data: { name: 'Basic' }, recurring: { interval: 'year' } }, quantity: 1 }],
      subscription_data: { metadata: { order_id: 'o9' } },
      success_url: 'http://app.test/ok',
    });
    expect(s).toMatchObject({ object: 'checkout.session', mode: 'subscription', amount_total: 990, currency: 'eur', status: 'open', payment_status: 'unpaid' });
    const req = fake.requests.at(-1)!;
    expect(req.headers.authorization).toBe(`Bearer ${fake.secretKey}`);
    expect(req.headers['idempotency-key']).toMatch(/^stripe-node-retry-/);
    expect(req.params.line_items).toEqual([
      { price_data: { currency: 'eur', unit_amount: '990', product_data: { name: 'Basic' }, recurring: { interval: 'year' } }, quantity: '1' },
    ]);
    expect((await sdk.checkout.sessions.retrieve(s.id)).id).toBe(s.id);
  });
});

describe('auth and errors', () => {
  it('401 without a key or with a wrong one; Bearer and Basic are accepted', async () => {
    const none = await fetch(`${fake.url}/v1/events`);
    expect(none.status).toBe(401);
    expect(((await none.json()) as Json).error).toMatchObject({ type: 'invalid_request_error', message: expect.stringMatching(/did not provide an API key/) });
    expect((await call('GET', '/v1/events', {}, { authorization: 'Bearer sk_test_wrong' })).status).toBe(401);
    expect((await call('GET', '/v1/events', {}, { authorization: `Basic ${Buffer.from('sk_test_wrong:').toString('base64')}` })).status).toBe(401);
    expect((await call('GET', '/v1/events', {}, { authorization: `Basic ${Buffer.from(`${fake.secretKey}:`).toString('base64')}` })).status).toBe(200);
    expect((await call('GET', '/v1/events')).status).toBe(200);
  });

  it('400 for missing, invalid and unknown params, naming the param', async () => {
    const noMode = await call('POST', '/v1/checkout/sessions', { success_url: 'http://x.test/' });
    expect(noMode).toMatchObject({ status: 400, body: { error: { type: 'invalid_request_error', code: 'parameter_missing', param: 'mode' } } });
    const badInt = await call('POST', '/v1/checkout/sessions', packParams({ 'line_items[0][price_data][unit_amount]': '12.5' }));
    expect(badInt).toMatchObject({ status: 400, body: { error: { code: 'parameter_invalid_integer', param: 'line_items[0][price_data][unit_amount]' } } });
    const unknown = await call('POST', '/v1/checkout/sessions', packParams({ colour: 'red' }));
    expect(unknown).toMatchObject({ status: 400, body: { error: { code: 'parameter_unknown', param: 'colour' } } });
    const oneTimeInSub = await call('POST', '/v1/checkout/sessions', packParams({ mode: 'subscription', 'payment_intent_data[metadata][order_id]': '' }));
    expect(oneTimeInSub.status).toBe(400);
    const price = fake.createPrice({ unitAmount: 500, currency: 'usd', productName: 'Monthly', recurring: { interval: 'month' } });
    const recurringInPayment = await call('POST', '/v1/checkout/sessions', { mode: 'payment', 'line_items[0][price]': price, success_url: 'http://x.test/' });
    expect(recurringInPayment.body.error.message).toMatch(/recurring price/);
    const sub = await call('POST', '/v1/checkout/sessions', {
      mode: 'subscription',
      'line_items[0][price]': price,
      'line_items[0][quantity]': '1',
      success_url: 'http://x.test/',
    });
    expect(sub).toMatchObject({ status: 200, body: { mode: 'subscription', amount_total: 500 } });
  });

  it('404 for a missing object or route', async () => {
    expect(await call('GET', '/v1/checkout/sessions/cs_test_nope')).toMatchObject({
      status: 404,
      body: { error: { type: 'invalid_request_error', code: 'resource_missing' } },
    });
    expect(await call('GET', '/v1/widgets')).toMatchObject({ status: 404, body: { error: { message: expect.stringMatching(/Unrecognized request URL/) } } });
    expect(await call('POST', '/v1/subscriptions/sub_nope', { cancel_at_period_end: 'true' })).toMatchObject({ status: 404 });
  });
});

describe('idempotency', () => {
  it('replays the same request and refuses other params under the same key', async () => {
    const a = await call('POST', '/v1/checkout/sessions', packParams(), { 'idempotency-key': 'k1' });
    const b = await call('POST', '/v1/checkout/sessions', packParams(), { 'idempotency-key': 'k1' });
    expect(a.status).toBe(200);
    expect(b.body).toEqual(a.body);
    expect(b.headers.get('idempotent-replayed')).toBe('true');
    expect(a.headers.get('idempotent-replayed')).toBeNull();
    const c = await call('POST', '/v1/checkout/sessions', packParams({ client_reference_id: 'ord_2' }), { 'idempotency-key': 'k1' });
    expect(c).toMatchObject({ status: 400, body: { error: { type: 'idempotency_error' } } });
    const otherPath = await call('POST', '/v1/refunds', { payment_intent: 'pi_x' }, { 'idempotency-key': 'k1' });
    expect(otherPath.body.error.type).toBe('idempotency_error');
  });

  it('does not store validation failures, but stores refusals after execution', async () => {
    const bad = await call('POST', '/v1/checkout/sessions', packParams({ mode: 'nope' }), { 'idempotency-key': 'k2' });
    expect(bad.status).toBe(400);
    const good = await call('POST', '/v1/checkout/sessions', packParams(), { 'idempotency-key': 'k2' });
    expect(good.status).toBe(200);
    // a refund past the charge is stored: the same key answers the same error even once it would fit
    const session = good.body;
    fake.completeCheckout(session.id, 'paid');
    const pi = String(fake.sessions.get(session.id)!.payment_intent);
    const tooMuch = await call('POST', '/v1/refunds', { payment_intent: pi, amount: '999999' }, { 'idempotency-key': 'k3' });
    expect(tooMuch).toMatchObject({ status: 400, body: { error: { code: 'amount_too_large' } } });
    expect((await call('POST', '/v1/refunds', { payment_intent: pi, amount: '999999' }, { 'idempotency-key': 'k3' })).headers.get('idempotent-replayed')).toBe(
      'true',
    );
  });

  it('injected gateway failures are not stored', async () => {
    fake.failNext(503);
    expect((await call('POST', '/v1/checkout/sessions', packParams(), { 'idempotency-key': 'k4' })).status).toBe(503);
    const ok = await call('POST', '/v1/checkout/sessions', packParams(), { 'idempotency-key': 'k4' });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('idempotent-replayed')).toBeNull();
  });
});

describe('hosted page', () => {
  it('shows the plan, amount and prefilled email; Decline redirects to cancel_url with async_payment_failed', async () => {
    const s = (await call('POST', '/v1/checkout/sessions', packParams())).body;
    expect(s.url).toBe(`${fake.url}/pay/${s.id}`);
    const html = await (await fetch(s.url)).text();
    expect(html).toContain('<title>Fake Stripe Checkout</title>');
    expect(html).toContain('150 credits');
    expect(html).toContain('30.00 USD');
    expect(html).toContain('data-testid="fake-email" value="a@example.com"');
    expect(html).toContain('data-testid="fake-pay"');
    expect(html).toContain('data-testid="fake-decline"');
    const res = await fetch(s.url, { method: 'POST', body: new URLSearchParams({ outcome: 'declined', email: 'a@example.com' }), redirect: 'manual' });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('http://app.test/cancel');
    await fake.settled();
    const evt = JSON.parse(recv.hooks.find((h) => JSON.parse(h.body).data.object.id === s.id)!.body);
    expect(evt).toMatchObject({
      object: 'event',
      type: 'checkout.session.async_payment_failed',
      data: { object: { id: s.id, status: 'complete', payment_status: 'unpaid' } },
    });
    // no longer payable
    expect((await fetch(s.url)).status).toBe(410);
    expect((await fetch(s.url, { method: 'POST', body: 'outcome=paid', redirect: 'manual' })).status).toBe(400);
    expect((await fetch(`${fake.url}/pay/cs_test_missing`)).status).toBe(404);
  });

  it('Pay completes the session, redirects to success_url with the session id, and emits the events in order', async () => {
    const s = (await call('POST', '/v1/checkout/sessions', packParams())).body;
    const res = await fetch(s.url, { method: 'POST', body: new URLSearchParams({ outcome: 'paid', email: 'b@example.com' }), redirect: 'manual' });
    expect(res.headers.get('location')).toBe(`http://app.test/ok?s=${s.id}`);
    const after = (await call('GET', `/v1/checkout/sessions/${s.id}`)).body;
    expect(after).toMatchObject({
      status: 'complete',
      payment_status: 'paid',
      payment_intent: expect.stringMatching(/^pi_/),
      customer_details: { email: 'b@example.com' },
    });
    const charge = (await call('GET', `/v1/payment_intents/${after.payment_intent}`)).body.latest_charge;
    expect((await call('GET', `/v1/charges/${charge}`)).body).toMatchObject({
      amount: 3000,
      amount_refunded: 0,
      payment_intent: after.payment_intent,
      metadata: { order_id: 'ord_1' },
    });
    await fake.settled();
    expect(recv.hooks.map((h) => JSON.parse(h.body).type)).toEqual(['charge.succeeded', 'payment_intent.succeeded', 'checkout.session.completed']);
  });

  it("charges carry the card and Radar's outcome a test chooses; declineCard fails a charge and keeps the session open", async () => {
    const s = (await call('POST', '/v1/checkout/sessions', packParams())).body;
    const declined = fake.declineCard(s.id, { card: { fingerprint: 'fp_test', last4: '0002' } });
    const blocked = fake.declineCard(s.id, { card: { fingerprint: 'fp_test' }, outcome: 'blocked' });
    expect(blocked.paymentIntentId).toBe(declined.paymentIntentId);
    expect((await call('GET', `/v1/charges/${declined.chargeId}`)).body).toMatchObject({
      status: 'failed',
      paid: false,
      failure_code: 'card_declined',
      payment_intent: declined.paymentIntentId,
      metadata: { order_id: 'ord_1' },
      payment_method_details: { type: 'card', card: { brand: 'visa', last4: '0002', fingerprint: 'fp_test' } },
      outcome: { type: 'issuer_declined', network_status: 'declined_by_network', risk_level: 'normal' },
    });
    expect((await call('GET', `/v1/charges/${blocked.chargeId}`)).body.outcome).toMatchObject({
      type: 'blocked',
      risk_level: 'highest',
      reason: 'highest_risk_level',
    });
    expect((await call('GET', `/v1/checkout/sessions/${s.id}`)).body.status).toBe('open');
    fake.completeCheckout(s.id, 'paid', { card: { fingerprint: 'fp_test' }, risk: { level: 'elevated', score: 70 } });
    const paid = (await call('GET', `/v1/checkout/sessions/${s.id}`)).body;
    const charge = (await call('GET', `/v1/payment_intents/${paid.payment_intent}`)).body.latest_charge;
    expect((await call('GET', `/v1/charges/${charge}`)).body).toMatchObject({
      status: 'succeeded',
      payment_method_details: { card: { last4: '4242', fingerprint: 'fp_test' } },
      outcome: { type: 'manual_review', risk_level: 'elevated', risk_score: 70 },
    });
    await fake.settled();
    const types = recv.hooks
      .filter((h) => [declined.chargeId, blocked.chargeId, declined.paymentIntentId].includes(JSON.parse(h.body).data.object.id))
      .map((h) => JSON.parse(h.body).type);
    expect(types).toEqual(['charge.failed', 'payment_intent.payment_failed', 'charge.failed', 'payment_intent.payment_failed']);
  });

  it('a subscription checkout creates customer, subscription and first invoice', async () => {
    const price = fake.createPrice({ unitAmount: 2000, currency: 'usd', productName: 'Pro', recurring: { interval: 'month' } });
    const s = (
      await call('POST', '/v1/checkout/sessions', {
        mode: 'subscription',
        'line_items[0][price]': price,
        'line_items[0][quantity]': '1',
        success_url: 'http://app.test/ok',
        'subscription_data[metadata][order_id]': 'o5',
      })
    ).body;
    fake.completeCheckout(s.id, 'paid', { email: 'c@example.com' });
    const done = fake.sessions.get(s.id)!;
    expect(done).toMatchObject({
      payment_intent: null,
      subscription: expect.stringMatching(/^sub_/),
      invoice: expect.stringMatching(/^in_/),
      customer: expect.stringMatching(/^cus_/),
    });
    const sub = (await call('GET', `/v1/subscriptions/${String(done.subscription)}`)).body;
    expect(sub).toMatchObject({ status: 'active', cancel_at_period_end: false, metadata: { order_id: 'o5' } });
    const item = sub.items.data[0];
    expect(item.current_period_end - item.current_period_start).toBe(30 * 86400);
    const inv = (await call('GET', `/v1/invoices/${String(done.invoice)}`)).body;
    expect(inv).toMatchObject({
      billing_reason: 'subscription_create',
      status: 'paid',
      amount_paid: 2000,
      parent: { subscription_details: { subscription: done.subscription } },
    });
    expect(inv).not.toHaveProperty('payments');
    const expanded = (await call('GET', `/v1/invoices/${String(done.invoice)}`, { 'expand[]': 'payments' })).body;
    expect(expanded.payments.data[0].payment).toEqual({ type: 'payment_intent', payment_intent: expect.stringMatching(/^pi_/) });
    await fake.settled();
    expect(recv.hooks.map((h) => JSON.parse(h.body).type)).toEqual([
      'charge.succeeded',
      'customer.subscription.created',
      'invoice.paid',
      'checkout.session.completed',
    ]);

    // cancel at period end, then delete
    const upd = await call('POST', `/v1/subscriptions/${sub.id}`, { cancel_at_period_end: 'true' });
    expect(upd.body).toMatchObject({ cancel_at_period_end: true, cancel_at: item.current_period_end });
    const del = await call('DELETE', `/v1/subscriptions/${sub.id}`);
    expect(del.body).toMatchObject({ status: 'canceled', ended_at: expect.any(Number) });
    await fake.settled();
    const updated = recv.hooks.map((h) => JSON.parse(h.body)).find((e) => e.type === 'customer.subscription.updated');
    expect(updated.data.previous_attributes).toMatchObject({ cancel_at_period_end: false });
    expect(recv.hooks.map((h) => JSON.parse(h.body).type).slice(-2)).toEqual(['customer.subscription.updated', 'customer.subscription.deleted']);
    expect((await call('POST', `/v1/subscriptions/${sub.id}`, { cancel_at_period_end: 'false' })).status).toBe(400);
  });
});

describe('refunds', () => {
  it('partial and full refunds by payment_intent or charge are cumulative and capped', async () => {
    const s = (await call('POST', '/v1/checkout/sessions', packParams())).body;
    fake.completeCheckout(s.id, 'paid');
    const pi = String(fake.sessions.get(s.id)!.payment_intent);
    const ch = String(fake.paymentIntents.get(pi)!.latest_charge);
    const r1 = await call('POST', '/v1/refunds', { payment_intent: pi, amount: '1000', reason: 'requested_by_customer' });
    expect(r1.body).toMatchObject({ object: 'refund', amount: 1000, charge: ch, payment_intent: pi, status: 'succeeded', reason: 'requested_by_customer' });
    expect((await call('POST', '/v1/refunds', { charge: ch, amount: '2500' })).body.error.code).toBe('amount_too_large');
    expect((await call('POST', '/v1/refunds', { charge: ch })).body.amount).toBe(2000); // the rest
    expect((await call('POST', '/v1/refunds', { payment_intent: pi, amount: '1' })).body.error.code).toBe('charge_already_refunded');
    expect((await call('POST', '/v1/refunds', { payment_intent: pi, reason: 'because' })).status).toBe(400);
    expect((await call('POST', '/v1/refunds', {})).body.error.code).toBe('parameter_missing');
    expect((await call('GET', `/v1/charges/${ch}`)).body).toMatchObject({ amount_refunded: 3000, refunded: true });
    await fake.settled();
    const refunded = recv.hooks.map((h) => JSON.parse(h.body)).filter((e) => e.type === 'charge.refunded');
    expect(refunded.map((e) => e.data.object.amount_refunded)).toEqual([1000, 3000]);
    expect(refunded[0].data.previous_attributes).toEqual({ amount_refunded: 0, refunded: false });
  });
});

describe('events API', () => {
  it('lists newest first with limit, starting_after, has_more, created and type filters', async () => {
    const f = await startFakeStripe();
    try {
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        const res = await fetch(`${f.url}/v1/checkout/sessions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${f.secretKey}` },
          body: new URLSearchParams(packParams()),
        });
        const s = (await res.json()) as Json;
        f.expireCheckout(s.id);
        ids.push(f.events.at(-1)!.id);
      }
      const list = async (q: Record<string, string>) =>
        (await (await fetch(`${f.url}/v1/events?${new URLSearchParams(q)}`, { headers: { authorization: `Bearer ${f.secretKey}` } })).json()) as Json;
      const p1 = await list({ limit: '2' });
      expect(p1).toMatchObject({ object: 'list', has_more: true, url: '/v1/events' });
      expect(p1.data.map((e: Json) => e.id)).toEqual([ids[4], ids[3]]);
      const p2 = await list({ limit: '2', starting_after: ids[3]! });
      expect(p2.data.map((e: Json) => e.id)).toEqual([ids[2], ids[1]]);
      const p3 = await list({ limit: '2', starting_after: ids[1]! });
      expect(p3).toMatchObject({ has_more: false });
      expect(p3.data.map((e: Json) => e.id)).toEqual([ids[0]]);
      expect((await list({ 'created[gte]': String(Math.floor(Date.now() / 1000) + 60) })).data).toEqual([]);
      expect((await list({ 'created[gte]': String(Math.floor(Date.now() / 1000) - 60) })).data).toHaveLength(5);
      expect((await list({ type: 'checkout.session.*' })).data).toHaveLength(5);
      expect((await list({ 'types[0]': 'invoice.paid' })).data).toHaveLength(0);
      expect((await list({ limit: '101' })).error.param).toBe('limit');
      const one = (await (await fetch(`${f.url}/v1/events/${ids[0]!}`, { headers: { authorization: `Bearer ${f.secretKey}` } })).json()) as Json;
      expect(one).toMatchObject({
        id: ids[0],
        object: 'event',
        type: 'checkout.session.expired',
        api_version: expect.any(String),
        livemode: false,
        data: { object: { object: 'checkout.session', status: 'expired' } },
      });
    } finally {
      await f.close();
    }
  });

  it('records the request and idempotency key that caused an event', async () => {
    const s = (await call('POST', '/v1/checkout/sessions', packParams())).body;
    await call('POST', `/v1/checkout/sessions/${s.id}/expire`, {}, { 'idempotency-key': 'exp-1' });
    const evt = fake.events.at(-1)!;
    expect(evt.request).toEqual({ id: expect.stringMatching(/^req_/), idempotency_key: 'exp-1' });
    // actions taken outside an API call (dashboard, hosted page) have no request
    fake.expireCheckout((await call('POST', '/v1/checkout/sessions', packParams())).body.id);
    expect(fake.events.at(-1)!.request).toEqual({ id: null, idempotency_key: null });
  });
});

describe('webhook deliveries', () => {
  const expireNew = async () => {
    const s = (await call('POST', '/v1/checkout/sessions', packParams())).body;
    fake.expireCheckout(s.id);
    return fake.events.at(-1)!;
  };

  it('signs exactly like stripe.webhooks.generateTestHeaderString, and the SDK verifies it', async () => {
    const evt = await expireNew();
    await fake.settled();
    const hook = recv.hooks.at(-1)!;
    expect(hook.headers['content-type']).toMatch(/^application\/json/);
    expect(hook.body).toBe(JSON.stringify(evt, null, 2));
    const sig = String(hook.headers['stripe-signature']);
    const t = Number(/^t=(\d+),v1=[0-9a-f]{64}$/.exec(sig)?.[1]);
    expect(sig).toBe(Stripe.webhooks.generateTestHeaderString({ payload: hook.body, secret: fake.webhookSecret, timestamp: t }));
    expect(Stripe.webhooks.constructEvent(hook.body, sig, fake.webhookSecret).id).toBe(evt.id);
    expect(fake.signature('x', { timestamp: 1000, secret: 's' })).toBe(
      Stripe.webhooks.generateTestHeaderString({ payload: 'x', secret: 's', timestamp: 1000 }),
    );
  });

  it('retries non-2xx answers, signing each attempt', async () => {
    recv.statuses.push(500, 503);
    const evt = await expireNew();
    await fake.settled();
    const log = fake.deliveries.filter((d) => d.eventId === evt.id);
    expect(log.map((d) => [d.attempt, d.status])).toEqual([
      [1, 500],
      [2, 503],
      [3, 200],
    ]);
    expect(log[0]!.type).toBe('checkout.session.expired');
  });

  it('gives up after the retries when the receiver keeps failing', async () => {
    recv.statuses.push(500, 500, 500, 500, 500);
    const evt = await expireNew();
    await fake.settled();
    expect(fake.deliveries.filter((d) => d.eventId === evt.id).map((d) => d.status)).toEqual([500, 500, 500, 500]);
    recv.statuses.length = 0;
    expect((await fake.resend(evt.id)).status).toBe(200);
  });

  it('duplicateNext delivers the next event n times concurrently', async () => {
    fake.duplicateNext(3);
    const evt = await expireNew();
    const next = await expireNew();
    await fake.settled();
    expect(recv.hooks.filter((h) => JSON.parse(h.body).id === evt.id)).toHaveLength(3);
    expect(recv.hooks.filter((h) => JSON.parse(h.body).id === next.id)).toHaveLength(1);
  });

  it('hold / release delivers queued events later, optionally reversed', async () => {
    fake.hold();
    const a = await expireNew();
    const b = await expireNew();
    const c = await expireNew();
    await fake.settled();
    expect(recv.hooks).toHaveLength(0);
    await fake.release('reverse');
    expect(recv.hooks.map((h) => JSON.parse(h.body).id)).toEqual([c.id, b.id, a.id]);
    fake.hold();
    const d = await expireNew();
    const e = await expireNew();
    await fake.release();
    expect(recv.hooks.map((h) => JSON.parse(h.body).id).slice(-2)).toEqual([d.id, e.id]);
  });

  it('sendRaw posts any body and headers; no URL means events are only stored', async () => {
    const r = await fake.sendRaw('{"x":1}', { 'stripe-signature': fake.signature('{"x":1}', { timestamp: 5 }) });
    expect(r.status).toBe(200);
    expect(recv.hooks.at(-1)).toMatchObject({ body: '{"x":1}', headers: { 'stripe-signature': expect.stringMatching(/^t=5,v1=/) } });
    fake.setWebhookUrl(undefined);
    const evt = await expireNew();
    await fake.settled();
    expect(fake.deliveries.some((d) => d.eventId === evt.id)).toBe(false);
    expect(fake.events.at(-1)!.id).toBe(evt.id);
    fake.setWebhookUrl(recv.url);
    expect((await fake.resend(evt.id)).status).toBe(200);
  });

  it('renewal, dispute and dashboard refund controls emit their events', async () => {
    const price = fake.createPrice({ unitAmount: 700, currency: 'usd', productName: 'Pro', recurring: { interval: 'month' } });
    const s = (await call('POST', '/v1/checkout/sessions', { mode: 'subscription', 'line_items[0][price]': price, success_url: 'http://app.test/ok' })).body;
    fake.completeCheckout(s.id, 'paid');
    const subId = String(fake.sessions.get(s.id)!.subscription);
    const r = fake.renewSubscription(subId);
    const inv = fake.invoices.get(r.invoiceId)!;
    expect(inv).toMatchObject({ billing_reason: 'subscription_cycle', amount_paid: 700 });
    expect(inv).not.toHaveProperty('payment_intent');
    fake.refund(r.paymentIntentId, 200);
    fake.dispute(r.paymentIntentId);
    fake.endSubscription(subId);
    await fake.settled();
    const types = recv.hooks.map((h) => JSON.parse(h.body).type);
    expect(types.slice(-4)).toEqual(['invoice.paid', 'charge.refunded', 'charge.dispute.created', 'customer.subscription.deleted']);
    const dispute = JSON.parse(recv.hooks.at(-2)!.body).data.object;
    expect(dispute).toMatchObject({ object: 'dispute', amount: 500, payment_intent: r.paymentIntentId, charge: r.chargeId });
    expect(() => fake.renewSubscription(subId)).toThrow();
  });

  it('the legacy API shape puts subscription and payment_intent on invoices and the period on subscriptions', async () => {
    const f = await startFakeStripe({ apiShape: 'legacy' });
    try {
      const price = f.createPrice({ unitAmount: 700, currency: 'usd', productName: 'Pro', recurring: { interval: 'month' } });
      const res = await fetch(`${f.url}/v1/checkout/sessions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${f.secretKey}` },
        body: new URLSearchParams({ mode: 'subscription', 'line_items[0][price]': price, success_url: 'http://app.test/ok' }),
      });
      const s = (await res.json()) as Json;
      f.completeCheckout(s.id, 'paid');
      const subId = String(f.sessions.get(s.id)!.subscription);
      const r = f.renewSubscription(subId);
      expect(f.invoices.get(r.invoiceId)).toMatchObject({ subscription: subId, payment_intent: r.paymentIntentId });
      expect(f.subscriptions.get(subId)).toMatchObject({ current_period_start: expect.any(Number), current_period_end: expect.any(Number) });
    } finally {
      await f.close();
    }
  });
});
