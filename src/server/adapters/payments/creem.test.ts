import { closeAll } from '../../../../tests/helpers/close';
import { startWebhookReceiver } from '../../../../tests/helpers/webhook-receiver';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFakeCreem, type FakeCreem } from '../../../../tests/fakes/creem';
import { createCreemProvider } from './creem';
import { PaymentProviderError, type CheckoutRequest, type PaymentEvent, type PaymentProvider } from './payment';

/** The Creem adapter against the fake Creem: checkout, hosted page, webhooks normalized, signatures. */

const startReceiver = () => startWebhookReceiver('/webhooks/creem');

let fake: FakeCreem;
let receiver: Awaited<ReturnType<typeof startReceiver>>;
let creem: PaymentProvider;
let packProduct: string;
let monthlyProduct: string;

beforeAll(async () => {
  receiver = await startReceiver();
  fake = await startFakeCreem({ webhookUrl: receiver.url });
  creem = createCreemProvider({ apiKey: fake.apiKey, webhookSecret: fake.webhookSecret, apiBase: fake.url, timeoutMs: 5000 });
  packProduct = fake.createProduct({ name: 'Starter pack', price: 999, currency: 'USD', billingType: 'onetime' });
  monthlyProduct = fake.createProduct({ name: 'Pro monthly', price: 2900, currency: 'USD', billingType: 'recurring', billingPeriod: 'every-month' });
});

afterAll(async () => {
  await closeAll(fake, receiver);
});

beforeEach(() => {
  receiver.hooks.length = 0;
});

let orderSeq = 0;
function checkoutReq(over: Partial<CheckoutRequest['item']> = {}, orderId = `ord-local-${++orderSeq}`): CheckoutRequest {
  return {
    orderId,
    item: { planId: 'starter', name: 'Starter pack', kind: 'pack', amountMinor: 999, currency: 'usd', providerPriceRef: packProduct, ...over },
    customerEmail: 'ada@example.com',
    successUrl: 'http://app.test/billing/success?o=1',
    cancelUrl: 'http://app.test/billing/cancel',
    webhookUrl: 'http://app.test/webhooks/creem',
    idempotencyKey: `idem-${orderId}`,
  };
}

/** Every hook received, verified and normalized (fails the test on a refused one). */
function events(hooks = receiver.hooks): PaymentEvent[] {
  return hooks.flatMap((h) => {
    const v = creem.verifyWebhook(h.body, h.headers);
    if (!v.ok) throw new Error(`refused: ${v.reason}`);
    return v.events;
  });
}

/** Pays through the hosted page as a browser would: GET the page, POST the pay button's form. */
async function payOnPage(url: string, outcome: 'paid' | 'declined' = 'paid') {
  const page = await fetch(url);
  expect(page.status).toBe(200);
  const html = await page.text();
  expect(html).toContain('data-testid="fake-pay"');
  expect(html).toContain('data-testid="fake-decline"');
  return fetch(url, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: `outcome=${outcome}&email=ada%40example.com`,
  });
}

const lastRequestBody = (path: string) => JSON.parse([...fake.requests].reverse().find((r) => r.path === path)!.body) as Record<string, unknown>;

describe('createCheckout', () => {
  it('sends the documented body with x-api-key and returns the checkout id and url', async () => {
    const req = checkoutReq();
    const session = await creem.createCheckout(req);
    expect(session.checkoutRef).toMatch(/^ch_/);
    expect(session.url).toBe(`${fake.url}/pay/${session.checkoutRef}`);
    const sent = [...fake.requests].reverse().find((r) => r.path === '/v1/checkouts')!;
    expect(sent.headers['x-api-key']).toBe(fake.apiKey);
    expect(JSON.parse(sent.body)).toEqual({
      product_id: packProduct,
      request_id: req.orderId,
      units: 1,
      customer: { email: 'ada@example.com' },
      success_url: req.successUrl,
      metadata: { order_id: req.orderId },
    });
  });

  it('refuses a plan without a Creem product id', async () => {
    const err = await creem.createCheckout(checkoutReq({ providerPriceRef: undefined })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PaymentProviderError);
    expect((err as Error).message).toMatch(/no Creem product id/);
  });

  it('checkoutsEnabled: false refuses new checkouts without calling Creem, webhooks still verify', async () => {
    const off = createCreemProvider({ apiKey: fake.apiKey, webhookSecret: fake.webhookSecret, apiBase: fake.url, checkoutsEnabled: false });
    const before = fake.requests.length;
    const err = await off.createCheckout(checkoutReq()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PaymentProviderError);
    expect((err as PaymentProviderError).message).toBe('new Creem checkouts are switched off');
    expect((err as PaymentProviderError).retryable).toBe(false);
    expect(fake.requests.length).toBe(before);
    const body = Buffer.from(JSON.stringify({ id: 'evt_1', eventType: 'subscription.expired', created_at: Date.now(), object: { id: 'sub_1' } }));
    const v = off.verifyWebhook(body, { 'creem-signature': fake.sign(body) });
    expect(v.ok && v.events[0]?.type).toBe('subscription.ended');
  });

  it('maps Creem refusals to PaymentProviderError with the status (unknown product 400, bad key 401)', async () => {
    const unknown = await creem.createCheckout(checkoutReq({ providerPriceRef: 'prod_nope' })).catch((e: unknown) => e);
    expect(unknown).toMatchObject({ name: 'PaymentProviderError', provider: 'creem', status: 400, retryable: false });
    const badKey = createCreemProvider({ apiKey: 'creem_wrong', webhookSecret: 'x', apiBase: fake.url });
    const denied = await badKey.createCheckout(checkoutReq()).catch((e: unknown) => e);
    expect(denied).toMatchObject({ status: 401, retryable: false });
  });

  it('an unreachable Creem is a retryable error', async () => {
    const down = createCreemProvider({ apiKey: 'k', webhookSecret: 'x', apiBase: 'http://127.0.0.1:1', timeoutMs: 2000 });
    await expect(down.createCheckout(checkoutReq())).rejects.toMatchObject({ retryable: true });
  });
});

describe('one-time pack', () => {
  it('pay on the hosted page -> 303 to success_url -> checkout.paid', async () => {
    const req = checkoutReq();
    const session = await creem.createCheckout(req);
    const res = await payOnPage(session.url);
    expect(res.status).toBe(303);
    const location = new URL(res.headers.get('location')!);
    expect(`${location.origin}${location.pathname}`).toBe('http://app.test/billing/success');
    expect(location.searchParams.get('o')).toBe('1');
    expect(location.searchParams.get('checkout_id')).toBe(session.checkoutRef);
    const orderId = fake.checkouts.get(session.checkoutRef)!.orderId!;
    expect(location.searchParams.get('order_id')).toBe(orderId);

    expect(receiver.hooks).toHaveLength(1);
    const [paid] = events();
    expect(paid).toMatchObject({
      type: 'checkout.paid',
      orderId: req.orderId,
      checkoutRef: session.checkoutRef,
      paymentRef: orderId,
      amountMinor: 999,
      currency: 'usd',
      customerEmail: 'ada@example.com',
    });
    expect(paid).not.toHaveProperty('subscriptionRef');
    expect(paid!.eventId).toMatch(/^evt_/);
  });

  it('falls back to metadata.order_id when request_id is absent', () => {
    const body = Buffer.from(
      JSON.stringify({
        id: 'evt_meta',
        eventType: 'checkout.completed',
        created_at: Date.now(),
        object: {
          id: 'ch_x',
          object: 'checkout',
          metadata: { order_id: 'ord-meta' },
          order: { id: 'ord_x', amount: 500, currency: 'EUR', status: 'paid' },
          customer: { id: 'cust_1', email: 'b@example.com' },
        },
      }),
    );
    const v = creem.verifyWebhook(body, { 'creem-signature': fake.sign(body) });
    expect(v.ok && v.events[0]).toMatchObject({
      type: 'checkout.paid',
      orderId: 'ord-meta',
      paymentRef: 'ord_x',
      amountMinor: 500,
      currency: 'eur',
      customerRef: 'cust_1',
    });
  });

  it('a declined card shows the page again and sends no webhook', async () => {
    const session = await creem.createCheckout(checkoutReq());
    const res = await payOnPage(session.url, 'declined');
    expect(res.status).toBe(402);
    expect(await res.text()).toMatch(/declined/);
    await fake.idle();
    expect(receiver.hooks).toHaveLength(0);
    expect(fake.checkouts.get(session.checkoutRef)!.status).toBe('pending');
  });

  it('refunds are cumulative and name the order checkout.paid used; disputes too', async () => {
    const session = await creem.createCheckout(checkoutReq());
    await payOnPage(session.url);
    const [paid] = events();
    const paymentRef = (paid as Extract<PaymentEvent, { type: 'checkout.paid' }>).paymentRef;
    receiver.hooks.length = 0;
    await fake.refund(paymentRef, 300);
    await fake.refund(paymentRef, 200);
    await fake.dispute(paymentRef);
    expect(events()).toMatchObject([
      { type: 'payment.refunded', paymentRef, refundedMinor: 300, currency: 'usd' },
      { type: 'payment.refunded', paymentRef, refundedMinor: 500, currency: 'usd' },
      { type: 'payment.disputed', paymentRef, amountMinor: 999, currency: 'usd' },
    ]);
  });

  it('refund() is refused: Creem refunds are made in the dashboard', async () => {
    const err = await creem.refund({ paymentRef: 'ord_1', amountMinor: 100, currency: 'usd', idempotencyKey: 'r1' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PaymentProviderError);
    expect(err).toMatchObject({
      retryable: false,
      message: 'Creem refunds are made in the Creem dashboard; its refund.created webhook then updates the order.',
    });
  });
});

describe('subscriptions', () => {
  it('first payment, renewal, scheduled cancel and expiry', async () => {
    expect(creem.supportsSubscriptions).toBe(true);
    const req = checkoutReq({
      planId: 'pro',
      name: 'Pro monthly',
      kind: 'subscription',
      interval: 'month',
      amountMinor: 2900,
      providerPriceRef: monthlyProduct,
    });
    const session = await creem.createCheckout(req);
    expect((await payOnPage(session.url)).status).toBe(303);
    const first = events();
    expect(first.map((e) => e.type)).toEqual(['checkout.paid', 'ignored', 'subscription.renewed']);
    const paid = first[0] as Extract<PaymentEvent, { type: 'checkout.paid' }>;
    const firstPaid = first[2] as Extract<PaymentEvent, { type: 'subscription.renewed' }>;
    const subId = fake.checkouts.get(session.checkoutRef)!.subscriptionId!;
    expect(paid).toMatchObject({ orderId: req.orderId, amountMinor: 2900, subscriptionRef: subId });
    expect(paid.periodStart).toBeInstanceOf(Date);
    expect(paid.periodEnd!.getTime()).toBeGreaterThan(paid.periodStart!.getTime());
    expect(first[1]).toMatchObject({ type: 'ignored', providerType: 'subscription.active' });
    // the first subscription.paid describes the checkout's payment: same subscription and period
    expect(firstPaid).toMatchObject({
      subscriptionRef: subId,
      invoiceRef: fake.subscriptions.get(subId)!.lastTransactionId,
      amountMinor: 2900,
      currency: 'usd',
    });
    expect(firstPaid.paymentRef).toBe(firstPaid.invoiceRef);
    expect(firstPaid.periodStart.getTime()).toBe(paid.periodStart!.getTime());

    receiver.hooks.length = 0;
    const tranId = await fake.renewSubscription(subId);
    const [renewed] = events() as Extract<PaymentEvent, { type: 'subscription.renewed' }>[];
    expect(renewed).toMatchObject({ type: 'subscription.renewed', subscriptionRef: subId, invoiceRef: tranId, paymentRef: tranId, amountMinor: 2900 });
    expect(renewed!.periodStart.getTime()).toBe(paid.periodEnd!.getTime());
    expect(renewed!.eventId).not.toBe(firstPaid.eventId);

    // a renewal's refund names its transaction, as subscription.renewed did
    receiver.hooks.length = 0;
    await fake.refund(tranId);
    expect(events()).toMatchObject([{ type: 'payment.refunded', paymentRef: tranId, refundedMinor: 2900 }]);

    receiver.hooks.length = 0;
    await creem.cancelSubscription!(subId, { atPeriodEnd: true, idempotencyKey: 'c1' });
    expect(lastRequestBody(`/v1/subscriptions/${subId}/cancel`)).toEqual({ mode: 'scheduled' });
    const [canceled] = events();
    expect(canceled).toMatchObject({ type: 'subscription.canceled', subscriptionRef: subId, atPeriodEnd: true, periodEnd: renewed!.periodEnd });

    receiver.hooks.length = 0;
    await fake.expireSubscription(subId);
    const [ended] = events();
    expect(ended).toMatchObject({ type: 'subscription.ended', subscriptionRef: subId });
    expect((ended as Extract<PaymentEvent, { type: 'subscription.ended' }>).endedAt).toBeInstanceOf(Date);
  });

  it('an immediate cancel ends the period now (atPeriodEnd false)', async () => {
    const session = await creem.createCheckout(checkoutReq({ kind: 'subscription', providerPriceRef: monthlyProduct }));
    await payOnPage(session.url);
    const subId = fake.checkouts.get(session.checkoutRef)!.subscriptionId!;
    receiver.hooks.length = 0;
    await creem.cancelSubscription!(subId, { atPeriodEnd: false, idempotencyKey: 'c2' });
    expect(lastRequestBody(`/v1/subscriptions/${subId}/cancel`)).toEqual({ mode: 'immediate' });
    expect(events()).toMatchObject([{ type: 'subscription.canceled', subscriptionRef: subId, atPeriodEnd: false }]);
    await expect(creem.cancelSubscription!('sub_unknown', { atPeriodEnd: true, idempotencyKey: 'c3' })).rejects.toMatchObject({ status: 404 });
  });

  it('subscription.canceled with paid time left is a cancel at period end', async () => {
    const end = new Date(Date.now() + 10 * 86_400_000);
    const body = Buffer.from(
      JSON.stringify({
        id: 'evt_c',
        eventType: 'subscription.canceled',
        created_at: Date.now(),
        object: { id: 'sub_9', object: 'subscription', status: 'canceled', canceled_at: new Date().toISOString(), current_period_end_date: end.toISOString() },
      }),
    );
    const v = creem.verifyWebhook(body, { 'creem-signature': fake.sign(body) });
    expect(v.ok && v.events).toEqual([{ type: 'subscription.canceled', eventId: 'evt_c', subscriptionRef: 'sub_9', atPeriodEnd: true, periodEnd: end }]);
  });

  it('other event types are verified and ignored', async () => {
    await fake.sendEvent('subscription.past_due', { id: 'sub_x', object: 'subscription' });
    expect(events()).toMatchObject([{ type: 'ignored', providerType: 'subscription.past_due' }]);
  });
});

describe('webhook delivery quirks', () => {
  it('a duplicated delivery carries the same event id', async () => {
    fake.duplicateNext(1);
    await fake.sendEvent('subscription.update', { id: 'sub_d' });
    const got = events();
    expect(got).toHaveLength(2);
    expect(got[0]!.eventId).toBe(got[1]!.eventId);
  });

  it('held events are released in reverse order', async () => {
    fake.hold();
    const a = await fake.sendEvent('subscription.update', { id: 'sub_1' });
    const b = await fake.sendEvent('subscription.update', { id: 'sub_2' });
    expect(receiver.hooks).toHaveLength(0);
    await fake.release('reverse');
    expect(events().map((e) => e.eventId)).toEqual([b, a]);
  });
});

describe('verifyWebhook signatures', () => {
  const body = Buffer.from(JSON.stringify({ id: 'evt_sig', eventType: 'subscription.update', created_at: 1_700_000_000_000, object: { id: 'sub_1' } }));

  it('accepts a valid signature (header name in any case, array values)', () => {
    expect(creem.verifyWebhook(body, { 'creem-signature': fake.sign(body) }).ok).toBe(true);
    expect(creem.verifyWebhook(body, { 'Creem-Signature': [fake.sign(body)] }).ok).toBe(true);
    expect(creem.verifyWebhook(body, { 'creem-signature': fake.sign(body).toUpperCase() }).ok).toBe(true);
  });

  it('refuses a tampered body', () => {
    const tampered = Buffer.from(body.toString().replace('sub_1', 'sub_2'));
    const v = creem.verifyWebhook(tampered, { 'creem-signature': fake.sign(body) });
    expect(v).toEqual({ ok: false, reason: expect.stringMatching(/invalid creem-signature/) });
  });

  it('refuses a signature made with another secret', () => {
    const v = creem.verifyWebhook(body, { 'creem-signature': fake.sign(body, 'whsec_other') });
    expect(v.ok).toBe(false);
    expect(!v.ok && v.reason).toMatch(/invalid/);
  });

  it('refuses a missing header and a malformed signature', () => {
    expect(creem.verifyWebhook(body, {})).toEqual({ ok: false, reason: 'missing creem-signature header' });
    expect(creem.verifyWebhook(body, { 'creem-signature': 'not-hex' }).ok).toBe(false);
    expect(creem.verifyWebhook(body, { 'creem-signature': fake.sign(body).slice(2) }).ok).toBe(false);
  });

  it('refuses signed bodies that are not Creem events, and money events missing their fields', () => {
    const notJson = Buffer.from('hello');
    expect(creem.verifyWebhook(notJson, { 'creem-signature': fake.sign(notJson) })).toEqual({ ok: false, reason: 'body is not JSON' });
    const typeData = Buffer.from(JSON.stringify({ id: 'evt_1', type: 'checkout.completed', data: {} }));
    expect(creem.verifyWebhook(typeData, { 'creem-signature': fake.sign(typeData) }).ok).toBe(false);
    const noTx = Buffer.from(
      JSON.stringify({ id: 'evt_2', eventType: 'subscription.paid', created_at: 1, object: { id: 'sub_1', product: { price: 1, currency: 'USD' } } }),
    );
    const v = creem.verifyWebhook(noTx, { 'creem-signature': fake.sign(noTx) });
    expect(v).toEqual({ ok: false, reason: 'Creem event lacks object.last_transaction_id' });
  });
});
