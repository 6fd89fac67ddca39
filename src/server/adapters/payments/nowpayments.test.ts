import { createHmac } from 'node:crypto';
import { closeAll } from '../../../../tests/helpers/close';
import { startWebhookReceiver } from '../../../../tests/helpers/webhook-receiver';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFakeNowPayments, type FakeNowPayments } from '../../../../tests/fakes/nowpayments';
import { createNowPaymentsProvider } from './nowpayments';
import { PaymentProviderError, type CheckoutRequest, type PaymentEvent, type PaymentProvider } from './payment';

/** The NOWPayments adapter against the fake: invoice, hosted page, IPNs normalized, signatures. */

const startReceiver = () => startWebhookReceiver('/webhooks/nowpayments');

let fake: FakeNowPayments;
let nested: FakeNowPayments;
let receiver: Awaited<ReturnType<typeof startReceiver>>;
let np: PaymentProvider;

beforeAll(async () => {
  receiver = await startReceiver();
  fake = await startFakeNowPayments();
  nested = await startFakeNowPayments({ nestedFee: true, signing: 'top-level' });
  np = createNowPaymentsProvider({ apiKey: fake.apiKey, ipnSecret: fake.ipnSecret, apiBase: fake.url, timeoutMs: 5000 });
});

afterAll(async () => {
  await closeAll(fake, nested, receiver);
});

beforeEach(() => {
  receiver.hooks.length = 0;
});

let seq = 0;
function checkoutReq(over: Partial<CheckoutRequest['item']> = {}): CheckoutRequest {
  const orderId = `ord-np-${++seq}`;
  return {
    orderId,
    item: { planId: 'starter', name: 'Starter pack', kind: 'pack', amountMinor: 999, currency: 'usd', ...over },
    successUrl: 'http://app.test/billing/success',
    cancelUrl: 'http://app.test/billing/cancel',
    webhookUrl: receiver.url,
    idempotencyKey: `idem-${orderId}`,
  };
}

function events(provider = np): PaymentEvent[] {
  return receiver.hooks.flatMap((h) => {
    const v = provider.verifyWebhook(h.body, h.headers);
    if (!v.ok) throw new Error(`refused: ${v.reason}`);
    return v.events;
  });
}

async function press(url: string, action: 'pay' | 'decline') {
  const page = await fetch(url);
  expect(page.status).toBe(200);
  const html = await page.text();
  expect(html).toContain('data-testid="fake-pay"');
  expect(html).toContain('data-testid="fake-decline"');
  return fetch(url, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `action=${action}` });
}

describe('createCheckout', () => {
  it('creates an invoice with the documented body and returns its id and url', async () => {
    const req = checkoutReq();
    const session = await np.createCheckout(req);
    expect(session.checkoutRef).toMatch(/^\d+$/);
    expect(session.url).toBe(`${fake.url}/payment/?iid=${session.checkoutRef}`);
    const sent = [...fake.requests].reverse().find((r) => r.path === '/v1/invoice')!;
    expect(sent.headers['x-api-key']).toBe(fake.apiKey);
    expect(JSON.parse(sent.body)).toEqual({
      price_amount: 9.99,
      price_currency: 'usd',
      order_id: req.orderId,
      order_description: 'Starter pack',
      ipn_callback_url: receiver.url,
      success_url: req.successUrl,
      cancel_url: req.cancelUrl,
    });
  });

  it('refuses subscriptions and currencies without 2 decimals', async () => {
    expect(np.supportsSubscriptions).toBe(false);
    const before = fake.requests.length;
    await expect(np.createCheckout(checkoutReq({ kind: 'subscription', interval: 'month' }))).rejects.toBeInstanceOf(PaymentProviderError);
    await expect(np.createCheckout(checkoutReq({ currency: 'jpy', amountMinor: 1000 }))).rejects.toThrow(/2 decimals/);
    expect(fake.requests.length).toBe(before);
  });

  it('a bad API key is a non-retryable PaymentProviderError with the status', async () => {
    const bad = createNowPaymentsProvider({ apiKey: 'wrong', ipnSecret: 'x', apiBase: fake.url });
    await expect(bad.createCheckout(checkoutReq())).rejects.toMatchObject({
      provider: 'nowpayments',
      status: 403,
      retryable: false,
      message: expect.stringMatching(/Invalid api key/),
    });
  });

  it('refund() is refused: crypto refunds are made in the dashboard', async () => {
    await expect(np.refund({ paymentRef: '1', amountMinor: 1, currency: 'usd', idempotencyKey: 'k' })).rejects.toMatchObject({
      retryable: false,
      message: 'Crypto payments are refunded from the NOWPayments dashboard; its refunded IPN then updates the order.',
    });
  });
});

describe('payment flows', () => {
  it('pay on the hosted page: confirming is ignored, finished is checkout.paid, then 303 to success_url', async () => {
    const req = checkoutReq();
    const session = await np.createCheckout(req);
    const res = await press(session.url, 'pay');
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe(req.successUrl);
    const paymentId = fake.invoices.get(session.checkoutRef)!.paymentId!;
    expect(events()).toEqual([
      { type: 'ignored', eventId: `${paymentId}:confirming`, providerType: 'confirming' },
      {
        type: 'checkout.paid',
        eventId: `${paymentId}:finished`,
        orderId: req.orderId,
        checkoutRef: session.checkoutRef,
        paymentRef: paymentId,
        amountMinor: 999,
        currency: 'usd',
      },
    ]);
  });

  it('waiting, confirmed and sending are ignored', async () => {
    const session = await np.createCheckout(checkoutReq());
    for (const s of ['waiting', 'confirmed', 'sending'] as const) await fake.setStatus(session.checkoutRef, s);
    expect(events().map((e) => e.type)).toEqual(['ignored', 'ignored', 'ignored']);
  });

  it('partially_paid reports the paid share rounded down', async () => {
    const req = checkoutReq();
    const session = await np.createCheckout(req);
    await fake.setStatus(session.checkoutRef, 'partially_paid', { actuallyPaidFraction: 0.4 });
    const [e] = events();
    expect(e).toMatchObject({
      type: 'checkout.partially_paid',
      orderId: req.orderId,
      checkoutRef: session.checkoutRef,
      paidMinor: 399,
      amountMinor: 999,
      currency: 'usd',
    });
  });

  it('decline on the hosted page is checkout.failed and 303 to cancel_url; expiry is checkout.expired', async () => {
    const req = checkoutReq();
    const session = await np.createCheckout(req);
    const res = await press(session.url, 'decline');
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe(req.cancelUrl);
    const other = await np.createCheckout(checkoutReq());
    await fake.setStatus(other.checkoutRef, 'expired');
    expect(events()).toMatchObject([
      { type: 'checkout.failed', orderId: req.orderId, checkoutRef: session.checkoutRef },
      { type: 'checkout.expired', checkoutRef: other.checkoutRef },
    ]);
  });

  it('refunded is payment.refunded of the whole amount, on the payment checkout.paid named', async () => {
    const session = await np.createCheckout(checkoutReq({ amountMinor: 2500 }));
    await fake.pay(session.checkoutRef);
    await fake.setStatus(session.checkoutRef, 'refunded');
    const got = events();
    const paid = got.find((e) => e.type === 'checkout.paid') as Extract<PaymentEvent, { type: 'checkout.paid' }>;
    expect(got.at(-1)).toMatchObject({ type: 'payment.refunded', paymentRef: paid.paymentRef, refundedMinor: 2500, currency: 'usd' });
  });

  it('a repeated IPN of the same status is the same event', async () => {
    const session = await np.createCheckout(checkoutReq());
    fake.duplicateNext(1);
    await fake.setStatus(session.checkoutRef, 'finished');
    const got = events();
    expect(got).toHaveLength(2);
    expect(got[0]!.eventId).toBe(got[1]!.eventId);
  });
});

describe('verifyWebhook signatures', () => {
  const secret = 'np_ipn_fake';
  const flat = {
    payment_id: 5077125051,
    payment_status: 'finished',
    price_amount: 10,
    price_currency: 'usd',
    order_id: 'o-1',
    invoice_id: 4000000001,
    pay_amount: 0.0002,
    actually_paid: 0.0002,
  };
  const hmac = (s: string, key = secret) => createHmac('sha512', key).update(s).digest('hex');

  it('accepts the recursively sorted and the top-level sorted signature of a flat payload', () => {
    const raw = Buffer.from(JSON.stringify(flat));
    const recursive = fake.sign(flat, secret, 'recursive');
    const topLevel = hmac(JSON.stringify(flat, Object.keys(flat).sort()));
    expect(recursive).toBe(topLevel);
    expect(np.verifyWebhook(raw, { 'x-nowpayments-sig': recursive }).ok).toBe(true);
    expect(np.verifyWebhook(raw, { 'x-nowpayments-sig': topLevel }).ok).toBe(true);
    expect(np.verifyWebhook(raw, { 'X-NOWPayments-Sig': [recursive] }).ok).toBe(true);
  });

  it('accepts both conventions for a nested payload (the fee object), which sign different strings', () => {
    const body = { ...flat, fee: { currency: 'btc', depositFee: 0, withdrawalFee: 0.000001, serviceFee: 0 } };
    const raw = Buffer.from(JSON.stringify(body));
    const recursive = fake.sign(body, secret, 'recursive');
    const topLevel = fake.sign(body, secret, 'top-level');
    expect(recursive).not.toBe(topLevel);
    expect(np.verifyWebhook(raw, { 'x-nowpayments-sig': recursive }).ok).toBe(true);
    expect(np.verifyWebhook(raw, { 'x-nowpayments-sig': topLevel }).ok).toBe(true);
  });

  it('verifies what a fake signing the official way with a nested fee sends', async () => {
    const provider = createNowPaymentsProvider({ apiKey: nested.apiKey, ipnSecret: nested.ipnSecret, apiBase: nested.url });
    const session = await provider.createCheckout(checkoutReq());
    await nested.pay(session.checkoutRef);
    expect(JSON.parse(receiver.hooks[0]!.body.toString())).toHaveProperty('fee');
    expect(events(provider).map((e) => e.type)).toEqual(['ignored', 'checkout.paid']);
  });

  it('refuses a tampered body, another secret, a missing header and a body that is not JSON', () => {
    const raw = Buffer.from(JSON.stringify(flat));
    const sig = fake.sign(flat);
    const tampered = Buffer.from(JSON.stringify({ ...flat, price_amount: 1000 }));
    expect(np.verifyWebhook(tampered, { 'x-nowpayments-sig': sig })).toEqual({ ok: false, reason: expect.stringMatching(/invalid x-nowpayments-sig/) });
    expect(np.verifyWebhook(raw, { 'x-nowpayments-sig': fake.sign(flat, 'other-secret') })).toEqual({ ok: false, reason: expect.stringMatching(/invalid/) });
    expect(np.verifyWebhook(raw, {})).toEqual({ ok: false, reason: 'missing x-nowpayments-sig header' });
    expect(np.verifyWebhook(Buffer.from('{nope'), { 'x-nowpayments-sig': sig })).toEqual({ ok: false, reason: 'body is not JSON' });
    expect(np.verifyWebhook(raw, { 'x-nowpayments-sig': 'zz' }).ok).toBe(false);
  });

  it('whitespace and key order of the raw body do not matter (NOWPayments re-serializes)', () => {
    const reordered = Buffer.from(JSON.stringify(Object.fromEntries(Object.entries(flat).reverse()), null, 2));
    const v = np.verifyWebhook(reordered, { 'x-nowpayments-sig': fake.sign(flat) });
    expect(v.ok && v.events[0]).toMatchObject({
      type: 'checkout.paid',
      eventId: '5077125051:finished',
      paymentRef: '5077125051',
      checkoutRef: '4000000001',
      amountMinor: 1000,
    });
  });

  it('a signed IPN without payment_id or payment_status is refused', () => {
    const body = { order_id: 'x' };
    expect(np.verifyWebhook(Buffer.from(JSON.stringify(body)), { 'x-nowpayments-sig': fake.sign(body) }).ok).toBe(false);
  });
});
