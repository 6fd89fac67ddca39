import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { closeAll } from '../../../../tests/helpers/close';
import { startWebhookReceiver, type ReceivedHook } from '../../../../tests/helpers/webhook-receiver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeStripe, type FakeStripe } from '../../../../tests/fakes/stripe';
import { PaymentProviderError, type CheckoutRequest, type PaymentEvent, type PaymentProvider } from './payment';
import { createStripeProvider, normalizeStripeEvent } from './stripe';

/** The Stripe adapter against the fake Stripe: checkout, hosted page, webhooks, refunds, subscriptions, events. */

const startReceiver = () => startWebhookReceiver('/webhooks/stripe');
type Hook = ReceivedHook;

type Receiver = Awaited<ReturnType<typeof startReceiver>>;
/** Waits for a delivered Stripe event of `type` about `objectId`; returns the hook. */
async function waitForHook(receiver: Receiver, type: string, objectId?: string, timeoutMs = 5000): Promise<Hook> {
  const matches = (h: Hook) => {
    const e = JSON.parse(h.body.toString('utf8')) as { type: string; data: { object: { id: string } } };
    return e.type === type && (objectId === undefined || e.data.object.id === objectId);
  };
  return receiver.waitFor(matches, timeoutMs).catch(() => {
    throw new Error(`no ${type} webhook for ${objectId ?? 'any object'}`);
  });
}

/** verifyWebhook on a delivered hook: must be accepted; returns its (single) event. */
function verified(provider: PaymentProvider, hook: Hook): PaymentEvent {
  const v = provider.verifyWebhook(hook.body, hook.headers);
  if (!v.ok) throw new Error(`rejected: ${v.reason}`);
  expect(v.events).toHaveLength(1);
  return v.events[0]!;
}

/** What a browser does on the hosted page: GET it, POST its form; returns the redirect. */
async function payThroughPage(url: string, outcome: 'paid' | 'declined', email?: string): Promise<string> {
  const page = await fetch(url);
  expect(page.status).toBe(200);
  const html = await page.text();
  expect(html).toContain('<title>Fake Stripe Checkout</title>');
  const action = /<form method="post" action="([^"]+)"/.exec(html)?.[1];
  expect(action).toBeTruthy();
  const prefilled = /data-testid="fake-email" value="([^"]*)"/.exec(html)?.[1] ?? '';
  const res = await fetch(new URL(action!, url), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ email: email ?? prefilled, outcome }).toString(),
    redirect: 'manual',
  });
  expect(res.status).toBe(303);
  return res.headers.get('location')!;
}

let n = 0;
const checkoutReq = (kind: 'pack' | 'subscription', extra: Partial<CheckoutRequest> = {}): CheckoutRequest => {
  const orderId = `ord_${++n}_${Date.now()}`;
  return {
    orderId,
    item:
      kind === 'pack'
        ? { planId: 'pack-100', name: '100 credits', kind: 'pack', amountMinor: 1000, currency: 'usd' }
        : { planId: 'pro-monthly', name: 'Pro monthly', kind: 'subscription', interval: 'month', amountMinor: 2000, currency: 'usd' },
    customerEmail: 'user@example.com',
    successUrl: `http://app.test/billing/success?order=${orderId}&session={CHECKOUT_SESSION_ID}`,
    cancelUrl: `http://app.test/billing/cancel?order=${orderId}`,
    webhookUrl: 'http://app.test/webhooks/stripe',
    idempotencyKey: `checkout-${orderId}`,
    ...extra,
  };
};

let fake: FakeStripe;
let receiver: Receiver;
let stripe: PaymentProvider;
const testStart = new Date(Date.now() - 2000);

beforeAll(async () => {
  [fake, receiver] = await Promise.all([startFakeStripe(), startReceiver()]);
  fake.setWebhookUrl(receiver.url);
  stripe = createStripeProvider({ secretKey: fake.secretKey, webhookSecret: fake.webhookSecret, apiBase: fake.url, timeoutMs: 5000 });
});
afterAll(async () => {
  await fake.settled();
  await closeAll(fake, receiver, stripe);
});

describe('pack checkout', () => {
  let paymentRef = '';

  it('creates a session with our references; the same idempotency key returns the same session', async () => {
    const req = checkoutReq('pack');
    const a = await stripe.createCheckout(req);
    const b = await stripe.createCheckout(req);
    expect(a.checkoutRef).toMatch(/^cs_test_/);
    expect(b.checkoutRef).toBe(a.checkoutRef);
    expect(a.url).toBe(`${fake.url}/pay/${a.checkoutRef}`);
    expect(a.expiresAt!.getTime()).toBeGreaterThan(Date.now());
    expect(fake.sessions.size).toBe(1);
    const sent = fake.requests.filter((r) => r.path === '/v1/checkout/sessions').at(-1)!;
    expect(sent.headers['idempotency-key']).toBe(req.idempotencyKey);
    expect(sent.headers.authorization).toBe(`Bearer ${fake.secretKey}`);
    expect(sent.params).toMatchObject({
      mode: 'payment',
      client_reference_id: req.orderId,
      customer_email: 'user@example.com',
      metadata: { order_id: req.orderId },
      payment_intent_data: { metadata: { order_id: req.orderId } },
      line_items: [{ price_data: { currency: 'usd', unit_amount: '1000', product_data: { name: '100 credits' } }, quantity: '1' }],
      success_url: req.successUrl,
      cancel_url: req.cancelUrl,
    });
    expect(sent.params).not.toHaveProperty('subscription_data');
  });

  it('pays on the hosted page; the webhook normalizes to checkout.paid', async () => {
    const req = checkoutReq('pack');
    const { checkoutRef, url } = await stripe.createCheckout(req);
    const location = await payThroughPage(url, 'paid', 'payer@example.com');
    expect(location).toBe(`http://app.test/billing/success?order=${req.orderId}&session=${checkoutRef}`);
    const event = verified(stripe, await waitForHook(receiver, 'checkout.session.completed', checkoutRef));
    expect(event).toMatchObject({
      type: 'checkout.paid',
      orderId: req.orderId,
      checkoutRef,
      amountMinor: 1000,
      currency: 'usd',
      customerEmail: 'payer@example.com',
    });
    if (event.type !== 'checkout.paid') throw new Error('unreachable');
    expect(event.paymentRef).toMatch(/^pi_/);
    expect(event.paymentRef).toBe(fake.sessions.get(checkoutRef)!.payment_intent);
    expect(event.subscriptionRef).toBeUndefined();
    expect(fake.paymentIntents.get(event.paymentRef)!.metadata).toEqual({ order_id: req.orderId });
    // the other event of the payment is verified but ignored
    const other = verified(stripe, await waitForHook(receiver, 'payment_intent.succeeded', event.paymentRef));
    expect(other).toMatchObject({ type: 'ignored', providerType: 'payment_intent.succeeded' });
    paymentRef = event.paymentRef;
  });

  it('refunds partially then fully; charge.refunded carries the cumulative amount', async () => {
    const r1 = await stripe.refund({
      paymentRef,
      amountMinor: 300,
      currency: 'usd',
      reason: 'requested_by_customer',
      idempotencyKey: `refund-1-${paymentRef}`,
    });
    expect(r1.refundRef).toMatch(/^re_/);
    expect(r1.status).toBe('succeeded');
    // the same key again replays: no second refund
    const again = await stripe.refund({
      paymentRef,
      amountMinor: 300,
      currency: 'usd',
      reason: 'requested_by_customer',
      idempotencyKey: `refund-1-${paymentRef}`,
    });
    expect(again.refundRef).toBe(r1.refundRef);
    await fake.settled();
    const first = receiver.hooks.filter((h) => JSON.parse(h.body.toString()).type === 'charge.refunded').map((h) => verified(stripe, h));
    expect(first).toEqual([expect.objectContaining({ type: 'payment.refunded', paymentRef, refundedMinor: 300, currency: 'usd' })]);

    await stripe.refund({ paymentRef, amountMinor: 700, currency: 'usd', idempotencyKey: `refund-2-${paymentRef}` });
    await fake.settled();
    const all = receiver.hooks.filter((h) => JSON.parse(h.body.toString()).type === 'charge.refunded').map((h) => verified(stripe, h));
    expect(all.map((e) => (e.type === 'payment.refunded' ? e.refundedMinor : -1))).toEqual([300, 1000]);

    const err = await stripe.refund({ paymentRef, amountMinor: 1, currency: 'usd', idempotencyKey: `refund-3-${paymentRef}` }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PaymentProviderError);
    expect(err).toMatchObject({ provider: 'stripe', status: 400, retryable: false });
    expect((err as Error).message).toMatch(/already been refunded/);
  });

  it('a dispute normalizes to payment.disputed', async () => {
    const req = checkoutReq('pack');
    const { checkoutRef } = await stripe.createCheckout(req);
    fake.completeCheckout(checkoutRef, 'paid');
    const pi = String(fake.sessions.get(checkoutRef)!.payment_intent);
    const disputeId = fake.dispute(pi);
    const event = verified(stripe, await waitForHook(receiver, 'charge.dispute.created', disputeId));
    expect(event).toMatchObject({ type: 'payment.disputed', paymentRef: pi, amountMinor: 1000, currency: 'usd' });
  });

  it('a declined payment redirects to cancel_url and normalizes to checkout.failed', async () => {
    const req = checkoutReq('pack');
    const { checkoutRef, url } = await stripe.createCheckout(req);
    expect(await payThroughPage(url, 'declined')).toBe(req.cancelUrl);
    const event = verified(stripe, await waitForHook(receiver, 'checkout.session.async_payment_failed', checkoutRef));
    expect(event).toMatchObject({ type: 'checkout.failed', orderId: req.orderId, checkoutRef });
  });

  it('an expired session normalizes to checkout.expired', async () => {
    const req = checkoutReq('pack');
    const { checkoutRef } = await stripe.createCheckout(req);
    fake.expireCheckout(checkoutRef);
    const event = verified(stripe, await waitForHook(receiver, 'checkout.session.expired', checkoutRef));
    expect(event).toEqual({ type: 'checkout.expired', eventId: expect.stringMatching(/^evt_/), orderId: req.orderId, checkoutRef });
  });

  it('uses a configured Stripe price id instead of inline price data', async () => {
    const price = fake.createPrice({ unitAmount: 4900, currency: 'usd', productName: 'Studio pack' });
    const req = checkoutReq('pack');
    const { checkoutRef } = await stripe.createCheckout({ ...req, item: { ...req.item, providerPriceRef: price } });
    expect(fake.sessions.get(checkoutRef)!.amount_total).toBe(4900);
    const sent = fake.requests.filter((r) => r.path === '/v1/checkout/sessions').at(-1)!;
    expect(sent.params.line_items).toEqual([{ price, quantity: '1' }]);
  });
});

describe.each(['current', 'legacy'] as const)('subscription (%s API shapes)', (apiShape) => {
  let sfake: FakeStripe;
  let srecv: Receiver;
  let sp: PaymentProvider;
  beforeAll(async () => {
    srecv = await startReceiver();
    sfake = await startFakeStripe({ apiShape, webhookUrl: srecv.url, secretKey: 'sk_test_sub', webhookSecret: 'whsec_sub' });
    sp = createStripeProvider({ secretKey: 'sk_test_sub', webhookSecret: 'whsec_sub', apiBase: sfake.url, timeoutMs: 5000 });
  });
  afterAll(async () => {
    await sfake.settled();
    await closeAll(sfake, srecv, sp);
  });

  it('checkout, renewal, refund of a renewal, cancel at period end, end', async () => {
    const req = checkoutReq('subscription');
    const first = await sp.createCheckout(req);
    expect((await sp.createCheckout(req)).checkoutRef).toBe(first.checkoutRef);
    const sent = sfake.requests.filter((r) => r.path === '/v1/checkout/sessions').at(-1)!;
    expect(sent.params).toMatchObject({
      mode: 'subscription',
      subscription_data: { metadata: { order_id: req.orderId } },
      line_items: [{ price_data: { currency: 'usd', unit_amount: '2000', recurring: { interval: 'month' }, product_data: { name: 'Pro monthly' } } }],
    });
    expect(sent.params).not.toHaveProperty('payment_intent_data');

    await payThroughPage(first.url, 'paid');
    const paid = verified(sp, await waitForHook(srecv, 'checkout.session.completed', first.checkoutRef));
    const session = sfake.sessions.get(first.checkoutRef)!;
    expect(paid).toMatchObject({
      type: 'checkout.paid',
      orderId: req.orderId,
      checkoutRef: first.checkoutRef,
      amountMinor: 2000,
      currency: 'usd',
      customerEmail: 'user@example.com',
      subscriptionRef: session.subscription,
      customerRef: session.customer,
      // the session carries the first invoice's id, not its payment intent
      paymentRef: session.invoice,
    });
    const subId = String(session.subscription);
    expect(sfake.subscriptions.get(subId)!.metadata).toEqual({ order_id: req.orderId });
    // the first invoice is granted by the checkout event, so its invoice.paid is ignored
    expect(verified(sp, await waitForHook(srecv, 'invoice.paid', String(session.invoice)))).toMatchObject({ type: 'ignored', providerType: 'invoice.paid' });
    expect(verified(sp, await waitForHook(srecv, 'customer.subscription.created', subId))).toMatchObject({ type: 'ignored' });

    const firstInvoice = sfake.invoices.get(String(session.invoice))!;
    const renewal = sfake.renewSubscription(subId);
    const renewed = verified(sp, await waitForHook(srecv, 'invoice.paid', renewal.invoiceId));
    expect(renewed).toMatchObject({
      type: 'subscription.renewed',
      subscriptionRef: subId,
      invoiceRef: renewal.invoiceId,
      // the legacy shape names the payment intent; the current one does not put it in the payload
      paymentRef: apiShape === 'legacy' ? renewal.paymentIntentId : renewal.invoiceId,
      amountMinor: 2000,
      currency: 'usd',
      periodStart: new Date(Number(firstInvoice.period_end) * 1000),
      periodEnd: new Date((Number(firstInvoice.period_end) + 30 * 86400) * 1000),
    });

    // refunding by the renewal's paymentRef works in both shapes (an invoice id resolves to its payment intent)
    if (renewed.type !== 'subscription.renewed') throw new Error('unreachable');
    const refund = await sp.refund({ paymentRef: renewed.paymentRef, amountMinor: 2000, currency: 'usd', idempotencyKey: `refund-${renewal.invoiceId}` });
    expect(refund.status).toBe('succeeded');
    const refunded = verified(sp, await waitForHook(srecv, 'charge.refunded', renewal.chargeId));
    expect(refunded).toMatchObject({ type: 'payment.refunded', paymentRef: renewal.paymentIntentId, refundedMinor: 2000 });

    await sp.cancelSubscription!(subId, { atPeriodEnd: true, idempotencyKey: `cancel-${subId}` });
    const canceled = verified(sp, await waitForHook(srecv, 'customer.subscription.updated', subId));
    expect(canceled).toMatchObject({
      type: 'subscription.canceled',
      subscriptionRef: subId,
      atPeriodEnd: true,
      periodEnd: new Date((Number(firstInvoice.period_end) + 30 * 86400) * 1000),
    });
    expect(sfake.subscriptions.get(subId)!.cancel_at_period_end).toBe(true);

    await sp.cancelSubscription!(subId, { atPeriodEnd: false, idempotencyKey: `end-${subId}` });
    const ended = verified(sp, await waitForHook(srecv, 'customer.subscription.deleted', subId));
    expect(ended).toMatchObject({ type: 'subscription.ended', subscriptionRef: subId });
    if (ended.type === 'subscription.ended') expect(Math.abs(ended.endedAt.getTime() - Date.now())).toBeLessThan(5000);
  });

  it('endSubscription from the provider side normalizes to subscription.ended', async () => {
    const { checkoutRef } = await sp.createCheckout(checkoutReq('subscription'));
    sfake.completeCheckout(checkoutRef, 'paid');
    const subId = String(sfake.sessions.get(checkoutRef)!.subscription);
    sfake.endSubscription(subId);
    expect(verified(sp, await waitForHook(srecv, 'customer.subscription.deleted', subId))).toMatchObject({
      type: 'subscription.ended',
      subscriptionRef: subId,
    });
  });
});

describe('listEventsSince', () => {
  it('returns the handled events oldest first, normalized like webhooks', async () => {
    await fake.settled();
    const events = await stripe.listEventsSince!(testStart);
    const handled = new Set([
      'checkout.session.completed',
      'checkout.session.async_payment_failed',
      'checkout.session.expired',
      'invoice.paid',
      'charge.refunded',
      'charge.dispute.created',
      'charge.succeeded',
      'charge.failed',
      'customer.subscription.updated',
      'customer.subscription.deleted',
    ]);
    const expected = fake.events.filter((e) => handled.has(e.type)).map((e) => e.id);
    expect(expected.length).toBeGreaterThan(5);
    expect(events.map((e) => e.eventId)).toEqual(expected);
    // the same normalization as the webhooks
    for (const hook of receiver.hooks) {
      const v = stripe.verifyWebhook(hook.body, hook.headers);
      if (!v.ok) throw new Error(v.reason);
      const listed = events.find((e) => e.eventId === v.events[0]!.eventId);
      if (listed) expect(listed).toEqual(v.events[0]);
    }
    // nothing after now
    expect(await stripe.listEventsSince!(new Date(Date.now() + 60_000))).toEqual([]);
  });

  it('pages through more than 100 events', async () => {
    const f = await startFakeStripe();
    const p = createStripeProvider({ secretKey: f.secretKey, webhookSecret: f.webhookSecret, apiBase: f.url });
    try {
      const price = f.createPrice({ unitAmount: 100, currency: 'usd', productName: 'x' });
      const created: string[] = [];
      for (let i = 0; i < 130; i++) {
        const body = new URLSearchParams({ mode: 'payment', 'line_items[0][price]': price, 'line_items[0][quantity]': '1', success_url: 'http://app.test/ok' });
        const res = await fetch(`${f.url}/v1/checkout/sessions`, { method: 'POST', headers: { authorization: `Bearer ${f.secretKey}` }, body });
        const id = ((await res.json()) as { id: string }).id;
        f.expireCheckout(id);
        created.push(id);
      }
      const events = await p.listEventsSince!(new Date(Date.now() - 60_000));
      expect(events).toHaveLength(130);
      expect(events.map((e) => (e.type === 'checkout.expired' ? e.checkoutRef : ''))).toEqual(created);
      expect(f.requests.filter((r) => r.path === '/v1/events').length).toBe(2);
    } finally {
      await Promise.all([f.close(), p.close()]);
    }
  });
});

describe('webhook signatures', () => {
  const payload = () => {
    const e = fake.events.find((x) => x.type === 'checkout.session.completed')!;
    return JSON.stringify(e, null, 2);
  };

  it('accepts a valid signature (also with several v1 values and any header case)', () => {
    const body = payload();
    const good = fake.signature(body);
    expect(stripe.verifyWebhook(Buffer.from(body), { 'stripe-signature': good })).toMatchObject({ ok: true, events: [{ type: 'checkout.paid' }] });
    const bad = fake.signature(body, { secret: 'whsec_other' }).split(',')[1]!;
    expect(stripe.verifyWebhook(Buffer.from(body), { 'Stripe-Signature': `${good},${bad}` }).ok).toBe(true);
  });

  it('rejects a tampered body', () => {
    const body = payload();
    const sig = fake.signature(body);
    const v = stripe.verifyWebhook(Buffer.from(body.replace('"amount_total": 1000', '"amount_total": 99999')), { 'stripe-signature': sig });
    expect(v).toEqual({ ok: false, reason: expect.stringMatching(/signature/i) });
  });

  it('rejects a wrong secret', () => {
    const body = payload();
    const v = stripe.verifyWebhook(Buffer.from(body), { 'stripe-signature': fake.signature(body, { secret: 'whsec_wrong' }) });
    expect(v).toEqual({ ok: false, reason: expect.stringMatching(/signature/i) });
  });

  it('rejects a stale timestamp (older than the tolerance)', () => {
    const body = payload();
    const v = stripe.verifyWebhook(Buffer.from(body), { 'stripe-signature': fake.signature(body, { timestamp: Math.floor(Date.now() / 1000) - 301 }) });
    expect(v).toEqual({ ok: false, reason: expect.stringMatching(/tolerance/i) });
    // a wider tolerance accepts it
    const lax = createStripeProvider({ secretKey: fake.secretKey, webhookSecret: fake.webhookSecret, apiBase: fake.url, toleranceSeconds: 3600 });
    expect(lax.verifyWebhook(Buffer.from(body), { 'stripe-signature': fake.signature(body, { timestamp: Math.floor(Date.now() / 1000) - 301 }) }).ok).toBe(
      true,
    );
    void lax.close();
  });

  it('rejects a missing or malformed header, and a signed non-event', () => {
    const body = payload();
    expect(stripe.verifyWebhook(Buffer.from(body), {})).toEqual({ ok: false, reason: expect.stringMatching(/missing/i) });
    expect(stripe.verifyWebhook(Buffer.from(body), { 'stripe-signature': 'garbage' })).toMatchObject({ ok: false });
    const notJson = 'not json';
    expect(stripe.verifyWebhook(Buffer.from(notJson), { 'stripe-signature': fake.signature(notJson) })).toMatchObject({ ok: false });
    const notEvent = '{"hello":"world"}';
    expect(stripe.verifyWebhook(Buffer.from(notEvent), { 'stripe-signature': fake.signature(notEvent) })).toMatchObject({ ok: false });
  });

  it('a signed event of another type is verified and ignored', () => {
    const body = JSON.stringify({
      id: 'evt_other',
      object: 'event',
      type: 'customer.created',
      created: 1,
      data: { object: { id: 'cus_1', object: 'customer' } },
    });
    expect(stripe.verifyWebhook(Buffer.from(body), { 'stripe-signature': fake.signature(body) })).toEqual({
      ok: true,
      events: [{ type: 'ignored', eventId: 'evt_other', providerType: 'customer.created' }],
    });
  });
});

describe('errors', () => {
  it('a bad key is a non-retryable 401', async () => {
    const p = createStripeProvider({ secretKey: 'sk_test_wrong', webhookSecret: 'x', apiBase: fake.url });
    const err = await p.createCheckout(checkoutReq('pack')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PaymentProviderError);
    expect(err).toMatchObject({ status: 401, retryable: false });
    await p.close();
  });

  it('invalid parameters are a non-retryable 400', async () => {
    const req = checkoutReq('pack');
    const err = await stripe.createCheckout({ ...req, item: { ...req.item, providerPriceRef: 'price_missing' } }).catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 400, retryable: false });
    expect((err as Error).message).toMatch(/No such price/);
  });

  it('5xx and 429 are retried by the SDK, then reported as retryable', async () => {
    fake.failNext(503, 1);
    const ok = await stripe.createCheckout(checkoutReq('pack')); // one failure, then the retry succeeds
    expect(ok.checkoutRef).toMatch(/^cs_test_/);
    fake.failNext(503, 3);
    expect(await stripe.createCheckout(checkoutReq('pack')).catch((e: unknown) => e)).toMatchObject({ status: 503, retryable: true });
    fake.failNext(429, 3);
    expect(await stripe.refund({ paymentRef: 'pi_x', amountMinor: 1, currency: 'usd', idempotencyKey: 'k-429' }).catch((e: unknown) => e)).toMatchObject({
      status: 429,
      retryable: true,
    });
  });

  it('an unreachable API is retryable', async () => {
    const dead = http.createServer();
    await new Promise<void>((r) => dead.listen(0, '127.0.0.1', r));
    const port = (dead.address() as AddressInfo).port;
    await new Promise<void>((r) => dead.close(() => r()));
    const p = createStripeProvider({ secretKey: 'sk', webhookSecret: 'x', apiBase: `http://127.0.0.1:${port}`, timeoutMs: 1000 });
    const err = await p.cancelSubscription!('sub_x', { atPeriodEnd: true, idempotencyKey: 'k' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PaymentProviderError);
    expect(err).toMatchObject({ retryable: true });
    await p.close();
  });
});

describe('charge events (issue 19: payment fraud)', () => {
  it("normalizes charge.succeeded and charge.failed to the card and Radar's verdict", () => {
    const charge = (extra: Record<string, unknown>) => ({
      id: 'evt_1',
      type: 'charge.failed',
      created: 1_800_000_000,
      data: {
        object: {
          id: 'ch_1',
          object: 'charge',
          created: 1_800_000_000,
          payment_intent: 'pi_1',
          metadata: { order_id: 'ord_9' },
          failure_code: 'card_declined',
          payment_method_details: { type: 'card', card: { brand: 'mastercard', last4: '4444', fingerprint: 'fp_9' } },
          outcome: { type: 'blocked', risk_level: 'highest', risk_score: 91 },
          ...extra,
        },
      },
    });
    expect(normalizeStripeEvent(charge({}))).toEqual([
      {
        type: 'payment.charge',
        eventId: 'evt_1',
        orderId: 'ord_9',
        paymentRef: 'pi_1',
        chargeRef: 'ch_1',
        succeeded: false,
        card: { fingerprint: 'fp_9', brand: 'mastercard', last4: '4444' },
        risk: { outcome: 'blocked', level: 'highest', score: 91 },
        failureCode: 'card_declined',
        created: 1_800_000_000,
      },
    ]);
    // no card details, no Radar, no metadata: only what is there
    const [bare] = normalizeStripeEvent({
      ...charge({ payment_method_details: null, outcome: null, metadata: {}, failure_code: null }),
      type: 'charge.succeeded',
    });
    expect(bare).toEqual({ type: 'payment.charge', eventId: 'evt_1', paymentRef: 'pi_1', chargeRef: 'ch_1', succeeded: true, created: 1_800_000_000 });
  });
});
