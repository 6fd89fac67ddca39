import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCreemProvider } from '../../src/server/adapters/payments/creem';
import { createNowPaymentsProvider } from '../../src/server/adapters/payments/nowpayments';
import {
  PaymentProviderError,
  type CheckoutItem,
  type CheckoutRequest,
  type CheckoutSession,
  type PaymentEvent,
  type PaymentProvider,
  type PaymentProviderId,
  type WebhookVerdict,
} from '../../src/server/adapters/payments/payment';
import { createStripeProvider } from '../../src/server/adapters/payments/stripe';
import { startFakeCreem } from '../fakes/creem';
import { startFakeNowPayments } from '../fakes/nowpayments';
import { startFakeStripe } from '../fakes/stripe';
import { closeAll } from '../helpers/close';

/**
 * One contract, three implementations: Stripe, Creem and NOWPayments must behave the same through
 * the PaymentProvider port, each against its own fake. A buyer completes the hosted checkout by
 * submitting the fake's page (GET it, POST its form) like a browser would; webhooks / IPNs are
 * captured by a local HTTP server standing in for our /webhooks/<provider> route.
 *
 * Where the providers genuinely differ, the case declares it (and the shared test asserts the
 * declared behaviour, never skips):
 * - `declineEvent`: Stripe and NOWPayments send `checkout.failed`; Creem sends nothing.
 * - `apiRefunds`: only Stripe refunds through the API; Creem and NOWPayments refuse and point to
 *   the dashboard (whose refunds every provider reports by webhook).
 * - `supportsSubscriptions` (read from the adapter): NOWPayments refuses subscription checkouts.
 * - what the create-checkout call carries: Creem sends a product id (the amount and currency are
 *   the product's, checked through the fake's product); NOWPayments takes no customer email.
 */

// --- shared helpers --------------------------------------------------------------------------

interface Hook {
  raw: Buffer;
  headers: http.IncomingHttpHeaders;
}

interface CheckoutCall {
  /** the request body as received by the fake */
  raw: string;
  /** the same, parsed (JSON, or Stripe's bracketed form) */
  body: Record<string, unknown>;
}

type PaidEvent = Extract<PaymentEvent, { type: 'checkout.paid' }>;
type RefundedEvent = Extract<PaymentEvent, { type: 'payment.refunded' }>;
type FailedEvent = Extract<PaymentEvent, { type: 'checkout.failed' | 'checkout.expired' }>;

/** A local receiver standing in for our webhook route: logs every delivery, answers 200. */
async function startReceiver() {
  const log: Hook[] = [];
  let cursor = 0;
  const arrivals = new Set<() => void>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      log.push({ raw: Buffer.concat(chunks), headers: req.headers });
      for (const arrived of arrivals) arrived();
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"received":true}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks/payments`,
    /** every delivery so far, oldest first */
    all: () => [...log],
    /** the next delivery not yet handed out (waits for it) */
    async next(timeoutMs: number): Promise<Hook> {
      const until = Date.now() + timeoutMs;
      while (cursor >= log.length) {
        const left = until - Date.now();
        if (left <= 0) throw new Error(`no webhook arrived within ${timeoutMs} ms`);
        await new Promise<void>((resolve) => {
          const arrived = () => {
            clearTimeout(timer);
            arrivals.delete(arrived);
            resolve();
          };
          const timer = setTimeout(arrived, left);
          arrivals.add(arrived);
        });
      }
      return log[cursor++]!;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

const decodeHtml = (s: string) =>
  s
    .replace(/&#(\d+);/g, (_m, n: string) => String.fromCharCode(Number(n)))
    .replace(/&amp;/g, '&')
    .replace(/&quot;/g, '"');
const attr = (tag: string, name: string) => {
  const m = new RegExp(`\\b${name}="([^"]*)"`).exec(tag);
  return m ? decodeHtml(m[1]!) : undefined;
};

/**
 * What a browser does on a fake's hosted page: GET it, then POST its form with its inputs and the
 * button `data-testid=<button>` (fake-pay / fake-decline), as all three fakes render them.
 */
async function submitHostedPage(url: string, button: 'fake-pay' | 'fake-decline'): Promise<void> {
  const page = await fetch(url);
  expect(page.status).toBe(200);
  const html = await page.text();
  const form = /<form\b[^>]*>/i.exec(html)?.[0];
  expect(form, 'the hosted page has a form').toBeTruthy();
  expect(attr(form!, 'method')?.toLowerCase()).toBe('post');
  const fields = new URLSearchParams();
  for (const [input] of html.matchAll(/<input\b[^>]*>/gi)) {
    const name = attr(input, 'name');
    if (name) fields.set(name, attr(input, 'value') ?? '');
  }
  const btn = new RegExp(`<button\\b[^>]*data-testid="${button}"[^>]*>`).exec(html)?.[0];
  expect(btn, `the hosted page has a ${button} button`).toBeTruthy();
  const bName = attr(btn!, 'name');
  if (bName) fields.set(bName, attr(btn!, 'value') ?? '');
  const res = await fetch(new URL(attr(form!, 'action') ?? url, url), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: fields.toString(),
    redirect: 'manual',
  });
  await res.arrayBuffer();
  // 303 to success/cancel URL, or the page again (Creem shows a decline on the page: 402)
  expect(res.status).toBeLessThan(500);
  expect(res.status).not.toBe(404);
}

/** Every string and number in a parsed body, and every key (at any depth). */
function walk(v: unknown, keys: string[] = [], values: string[] = []): { keys: string[]; values: string[] } {
  if (Array.isArray(v)) for (const x of v) walk(x, keys, values);
  else if (v !== null && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) {
      keys.push(k);
      walk(x, keys, values);
    }
  } else if (typeof v === 'string' || typeof v === 'number') values.push(String(v));
  return { keys, values };
}

const obj = (v: unknown): Record<string, unknown> => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {});

// --- the harnesses ---------------------------------------------------------------------------

interface Started {
  provider: PaymentProvider;
  /** the same adapter configured with another webhook secret */
  providerWithSecret(secret: string): PaymentProvider;
  /** what the buyer is sold; Creem needs a product in the fake */
  item(kind: 'pack' | 'subscription', amountMinor: number): CheckoutItem;
  /** where the provider posts events (NOWPayments takes it per invoice) */
  webhookUrl: string;
  /** complete the hosted checkout as a buyer */
  pay(session: CheckoutSession): Promise<void>;
  decline(session: CheckoutSession): Promise<void>;
  /** the next captured delivery (in arrival order) */
  nextWebhook(timeoutMs?: number): Promise<Hook>;
  /** every captured delivery */
  received(): Hook[];
  /** the provider delivers the event of this hook again */
  replay(hook: Hook): Promise<void>;
  /** a refund made in the provider's dashboard, the whole payment */
  refundFromProvider(paid: PaidEvent): Promise<void>;
  /** the create-checkout requests the fake received, oldest first */
  checkoutCalls(): CheckoutCall[];
  /** the amount and currency as the provider receives them in a create-checkout call */
  moneyOf(call: CheckoutCall): { amountMinor: number; currency: string };
  /** wait until no delivery is in flight */
  settle(): Promise<void>;
  close(): Promise<void>;
}

interface Case {
  name: PaymentProviderId;
  /** the header that carries the delivery's signature */
  signatureHeader: string;
  /** what a declined payment sends (Creem documents no failed-checkout event) */
  declineEvent: 'checkout.failed' | undefined;
  /** refund() works through the API (else it throws and refunds are made in the dashboard) */
  apiRefunds: boolean;
  /** the customer email travels with the create-checkout call */
  sendsCustomerEmail: boolean;
  emailOf(call: CheckoutCall): string | undefined;
  start(): Promise<Started>;
}

const WRONG_SECRET = 'whsec_not_the_right_one_0123456789';

/** the receiver-backed parts every harness shares */
function receiverParts(receiver: Awaited<ReturnType<typeof startReceiver>>) {
  return {
    webhookUrl: receiver.url,
    nextWebhook: (timeoutMs = 5000) => receiver.next(timeoutMs),
    received: () => receiver.all(),
    pay: (s: CheckoutSession) => submitHostedPage(s.url, 'fake-pay'),
    decline: (s: CheckoutSession) => submitHostedPage(s.url, 'fake-decline'),
  };
}

const headerString = (h: http.IncomingHttpHeaders, name: string) => {
  const v = h[name];
  return Array.isArray(v) ? v[0]! : (v ?? '');
};

const cases: Case[] = [
  {
    name: 'stripe',
    signatureHeader: 'stripe-signature',
    declineEvent: 'checkout.failed',
    apiRefunds: true,
    sendsCustomerEmail: true,
    emailOf: (call) => (typeof call.body.customer_email === 'string' ? call.body.customer_email : undefined),
    async start() {
      const [fake, receiver] = await Promise.all([startFakeStripe(), startReceiver()]);
      fake.setWebhookUrl(receiver.url);
      const make = (webhookSecret: string) => createStripeProvider({ secretKey: fake.secretKey, webhookSecret, apiBase: fake.url, timeoutMs: 5000 });
      const provider = make(fake.webhookSecret);
      const extra: PaymentProvider[] = [];
      return {
        ...receiverParts(receiver),
        provider,
        providerWithSecret: (s) => {
          const p = make(s);
          extra.push(p);
          return p;
        },
        // no providerPriceRef: the adapter sends price_data (amount, currency, recurring)
        item: (kind, amountMinor) =>
          kind === 'pack'
            ? { planId: 'pack-test', name: 'Test credits', kind, amountMinor, currency: 'usd' }
            : { planId: 'sub-test', name: 'Test monthly', kind, interval: 'month', amountMinor, currency: 'usd' },
        async replay(hook) {
          // a real redelivery: the fake signs the stored event afresh
          const id = String(obj(JSON.parse(hook.raw.toString('utf8'))).id);
          await fake.resend(id);
        },
        async refundFromProvider(paid) {
          fake.refund(paid.paymentRef);
        },
        checkoutCalls: () =>
          fake.requests.filter((r) => r.method === 'POST' && r.path === '/v1/checkout/sessions').map((r) => ({ raw: r.raw, body: r.params })),
        moneyOf(call) {
          const pd = obj(obj((call.body.line_items as unknown[] | undefined)?.[0]).price_data);
          return { amountMinor: Number(pd.unit_amount), currency: String(pd.currency) };
        },
        settle: () => fake.settled(),
        async close() {
          await fake.settled();
          await Promise.all([fake.close(), receiver.close(), provider.close(), ...extra.map((p) => p.close())]);
        },
      };
    },
  },
  {
    name: 'creem',
    signatureHeader: 'creem-signature',
    declineEvent: undefined,
    apiRefunds: false,
    sendsCustomerEmail: true,
    emailOf: (call) => {
      const email = obj(call.body.customer).email;
      return typeof email === 'string' ? email : undefined;
    },
    async start() {
      const [fake, receiver] = await Promise.all([startFakeCreem(), startReceiver()]);
      fake.setWebhookUrl(receiver.url);
      const make = (webhookSecret: string) => createCreemProvider({ apiKey: fake.apiKey, webhookSecret, apiBase: fake.url, timeoutMs: 5000 });
      const provider = make(fake.webhookSecret);
      const extra: PaymentProvider[] = [];
      return {
        ...receiverParts(receiver),
        provider,
        providerWithSecret: (s) => {
          const p = make(s);
          extra.push(p);
          return p;
        },
        item(kind, amountMinor) {
          const name = kind === 'pack' ? 'Test credits' : 'Test monthly';
          const providerPriceRef = fake.createProduct({
            name,
            price: amountMinor,
            currency: 'usd',
            billingType: kind === 'pack' ? 'onetime' : 'recurring',
            ...(kind === 'subscription' ? { billingPeriod: 'every-month' as const } : {}),
          });
          return kind === 'pack'
            ? { planId: 'pack-test', name, kind, amountMinor, currency: 'usd', providerPriceRef }
            : { planId: 'sub-test', name, kind, interval: 'month', amountMinor, currency: 'usd', providerPriceRef };
        },
        async replay(hook) {
          // Creem retries the same bytes with the same signature (no timestamp)
          const status = await fake.sendRaw(hook.raw, { 'creem-signature': headerString(hook.headers, 'creem-signature') });
          expect(status).toBe(200);
        },
        async refundFromProvider(paid) {
          await fake.refund(paid.paymentRef);
        },
        checkoutCalls: () =>
          fake.requests.filter((r) => r.method === 'POST' && r.path === '/v1/checkouts').map((r) => ({ raw: r.body, body: obj(JSON.parse(r.body)) })),
        moneyOf(call) {
          // Creem takes a product id: the price and currency are the product's
          const p = fake.products.get(String(call.body.product_id));
          return p ? { amountMinor: p.price, currency: p.currency.toLowerCase() } : { amountMinor: NaN, currency: '' };
        },
        settle: () => fake.idle(),
        async close() {
          await fake.idle();
          await Promise.all([fake.close(), receiver.close(), provider.close(), ...extra.map((p) => p.close())]);
        },
      };
    },
  },
  {
    name: 'nowpayments',
    signatureHeader: 'x-nowpayments-sig',
    declineEvent: 'checkout.failed',
    apiRefunds: false,
    // the invoice API takes no customer email; the adapter does not send one
    sendsCustomerEmail: false,
    emailOf: () => undefined,
    async start() {
      const [fake, receiver] = await Promise.all([startFakeNowPayments(), startReceiver()]);
      const make = (ipnSecret: string) => createNowPaymentsProvider({ apiKey: fake.apiKey, ipnSecret, apiBase: fake.url, timeoutMs: 5000 });
      const provider = make(fake.ipnSecret);
      const extra: PaymentProvider[] = [];
      return {
        ...receiverParts(receiver),
        provider,
        providerWithSecret: (s) => {
          const p = make(s);
          extra.push(p);
          return p;
        },
        item: (kind, amountMinor) =>
          kind === 'pack'
            ? { planId: 'pack-test', name: 'Test credits', kind, amountMinor, currency: 'usd' }
            : { planId: 'sub-test', name: 'Test monthly', kind, interval: 'month', amountMinor, currency: 'usd' },
        async replay(hook) {
          // NOWPayments repeats an IPN as is (same body, same signature)
          const status = await fake.sendRaw(hook.raw, { 'x-nowpayments-sig': headerString(hook.headers, 'x-nowpayments-sig') }, receiver.url);
          expect(status).toBe(200);
        },
        async refundFromProvider(paid) {
          // crypto refunds are whole payments, made in the dashboard: a `refunded` IPN
          await fake.setStatus(paid.checkoutRef, 'refunded');
        },
        checkoutCalls: () =>
          fake.requests.filter((r) => r.method === 'POST' && r.path === '/v1/invoice').map((r) => ({ raw: r.body, body: obj(JSON.parse(r.body)) })),
        // major units on the wire
        moneyOf: (call) => ({ amountMinor: Math.round(Number(call.body.price_amount) * 100), currency: String(call.body.price_currency) }),
        settle: () => fake.idle(),
        async close() {
          await fake.idle();
          await Promise.all([fake.close(), receiver.close(), provider.close(), ...extra.map((p) => p.close())]);
        },
      };
    },
  },
];

// --- the contract ----------------------------------------------------------------------------

let seq = 0;
const EMAIL = 'buyer.contract@example.com';

function checkoutRequest(h: Started, item: CheckoutItem): CheckoutRequest {
  const orderId = `ord_ct_${++seq}_${randomBytes(4).toString('hex')}`;
  return {
    orderId,
    item,
    customerEmail: EMAIL,
    successUrl: `http://app.test/billing/success?order=${orderId}`,
    cancelUrl: `http://app.test/billing/cancel?order=${orderId}`,
    webhookUrl: h.webhookUrl,
    idempotencyKey: `checkout-${orderId}`,
  };
}

function verify(provider: PaymentProvider, hook: Hook): Extract<WebhookVerdict, { ok: true }> {
  const v = provider.verifyWebhook(hook.raw, hook.headers);
  if (!v.ok) throw new Error(`a genuine delivery was refused: ${v.reason}`);
  return v;
}

/**
 * Reads deliveries in arrival order (each must verify) until one carries an event matching
 * `match`; deliveries in between (ignored intermediate events, leftovers of earlier tests) are skipped.
 */
async function awaitEvent<E extends PaymentEvent>(
  h: Started,
  match: (e: PaymentEvent) => e is E,
  timeoutMs = 8000,
): Promise<{ hook: Hook; events: PaymentEvent[]; event: E }> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const hook = await h.nextWebhook(Math.max(1, until - Date.now()));
    const v = verify(h.provider, hook);
    const event = v.events.find(match);
    if (event) return { hook, events: v.events, event };
  }
}

const isPaidFor =
  (orderId: string, checkoutRef: string) =>
  (e: PaymentEvent): e is PaidEvent =>
    e.type === 'checkout.paid' && (e.orderId === orderId || e.checkoutRef === checkoutRef);

/** every checkout.paid about this order among all deliveries so far */
function paidEventsFor(h: Started, orderId: string, checkoutRef: string): PaidEvent[] {
  const match = isPaidFor(orderId, checkoutRef);
  return h.received().flatMap((hook) => verify(h.provider, hook).events.filter(match));
}

/** create a checkout, pay it, wait for its checkout.paid */
async function paidCheckout(h: Started, kind: 'pack' | 'subscription', amountMinor: number) {
  const req = checkoutRequest(h, h.item(kind, amountMinor));
  const session = await h.provider.createCheckout(req);
  await h.pay(session);
  const got = await awaitEvent(h, isPaidFor(req.orderId, session.checkoutRef));
  return { req, session, ...got };
}

async function rejection(p: Promise<unknown>): Promise<PaymentProviderError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(PaymentProviderError);
  return err as PaymentProviderError;
}

describe.each(cases)('PaymentProvider contract: $name', (c) => {
  let h: Started;
  beforeAll(async () => {
    h = await c.start();
  });
  afterAll(() => closeAll(h));

  const PACK = 1234;

  it('identifies itself', () => {
    expect(h.provider.id).toBe(c.name);
  });

  it('createCheckout for a pack returns a checkoutRef and an absolute http URL of a hosted page that answers 200 HTML', async () => {
    const session = await h.provider.createCheckout(checkoutRequest(h, h.item('pack', PACK)));
    expect(session.checkoutRef).toMatch(/\S{4,}/);
    const url = new URL(session.url); // throws if not absolute
    expect(url.protocol).toMatch(/^https?:$/);
    const page = await fetch(session.url);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await page.text()).toMatch(/<form\b/i);
  });

  describe('a paid pack', () => {
    let paid: Awaited<ReturnType<typeof paidCheckout>>;
    beforeAll(async () => {
      paid = await paidCheckout(h, 'pack', PACK);
    });

    it('is reported by a verified delivery with exactly one checkout.paid naming the order, amount, currency and payment', async () => {
      const { req, session, events, event } = paid;
      expect(events.filter((e) => e.type === 'checkout.paid')).toHaveLength(1);
      expect(event.orderId).toBe(req.orderId);
      expect(event.checkoutRef).toBe(session.checkoutRef);
      expect(event.amountMinor).toBe(PACK);
      expect(event.currency).toBe('usd');
      expect(event.currency).toBe(event.currency.toLowerCase());
      expect(event.paymentRef).toMatch(/\S+/);
      expect(event.eventId).toMatch(/\S+/);
      expect(event.subscriptionRef).toBeUndefined();
      // and no other delivery reports this order paid under another event id
      await h.settle();
      const ids = new Set(paidEventsFor(h, req.orderId, session.checkoutRef).map((e) => e.eventId));
      expect([...ids]).toEqual([event.eventId]);
    });

    it('refuses the delivery with one byte of the body changed', () => {
      const { hook, req } = paid;
      const text = hook.raw.toString('utf8');
      // change the last character of our order id where the body names it (credit another order)
      const at = text.indexOf(req.orderId) + req.orderId.length - 1;
      expect(at).toBeGreaterThan(0);
      const tampered = Buffer.from(hook.raw);
      tampered[at] = tampered[at] === 0x78 ? 0x79 : 0x78; // 'x' / 'y'
      expect([...tampered].filter((b, i) => b !== hook.raw[i])).toHaveLength(1);
      const v = h.provider.verifyWebhook(tampered, hook.headers);
      expect(v.ok).toBe(false);
      if (!v.ok) expect(v.reason).toMatch(/\S/);
      // the untouched delivery still verifies (the refusal is about the byte)
      expect(h.provider.verifyWebhook(hook.raw, hook.headers).ok).toBe(true);
    });

    it('refuses the delivery without its signature header', () => {
      const { hook } = paid;
      expect(Object.keys(hook.headers)).toContain(c.signatureHeader);
      const { [c.signatureHeader]: _signature, ...headers } = hook.headers;
      const v = h.provider.verifyWebhook(hook.raw, headers);
      expect(v.ok).toBe(false);
      if (!v.ok) expect(v.reason).toMatch(/\S/);
    });

    it('refuses the delivery when verified with another secret', () => {
      const v = h.providerWithSecret(WRONG_SECRET).verifyWebhook(paid.hook.raw, paid.hook.headers);
      expect(v.ok).toBe(false);
      if (!v.ok) expect(v.reason).toMatch(/\S/);
    });

    it('a replayed delivery verifies to events with the same event ids', async () => {
      await h.settle();
      const before = h.received().length;
      await h.replay(paid.hook);
      await h.settle();
      const again = h.received().slice(before);
      expect(again.length).toBeGreaterThanOrEqual(1);
      for (const hook of again) {
        const v = verify(h.provider, hook);
        expect(v.events.map((e) => e.eventId)).toEqual(paid.events.map((e) => e.eventId));
        expect(v.events.map((e) => e.type)).toEqual(paid.events.map((e) => e.type));
      }
      // verifying the same bytes twice is stable too
      expect(verify(h.provider, paid.hook).events).toEqual(verify(h.provider, paid.hook).events);
    });
  });

  it(`declining sends no checkout.paid (${c.declineEvent ?? 'and no event at all'})`, async () => {
    const req = checkoutRequest(h, h.item('pack', PACK));
    const session = await h.provider.createCheckout(req);
    await h.settle();
    const before = h.received().length;
    await h.decline(session);
    if (c.declineEvent) {
      const { event } = await awaitEvent(
        h,
        (e): e is FailedEvent => e.type === c.declineEvent && (e.orderId === req.orderId || e.checkoutRef === session.checkoutRef),
      );
      expect(event.orderId).toBe(req.orderId);
      expect(event.checkoutRef).toBe(session.checkoutRef);
    }
    await h.settle(); // the fake has delivered everything it ever will for this checkout
    const after = h.received().slice(before);
    const events = after.flatMap((hook) => verify(h.provider, hook).events);
    expect(events.filter((e) => e.type === 'checkout.paid')).toEqual([]);
    if (!c.declineEvent) expect(after).toEqual([]);
  });

  describe('refunds', () => {
    if (c.apiRefunds) {
      it('refund() of part, then the rest, is reported by payment.refunded with the cumulative amount', async () => {
        const { event: paid } = await paidCheckout(h, 'pack', PACK);
        const first = await h.provider.refund({
          paymentRef: paid.paymentRef,
          amountMinor: 400,
          currency: paid.currency,
          idempotencyKey: `refund-${paid.paymentRef}-1`,
        });
        expect(first.refundRef).toMatch(/\S+/);
        expect(first.status).not.toBe('failed');
        const isRefund =
          (minor: number) =>
          (e: PaymentEvent): e is RefundedEvent =>
            e.type === 'payment.refunded' && e.paymentRef === paid.paymentRef && e.refundedMinor === minor;
        const part = await awaitEvent(h, isRefund(400));
        expect(part.event.currency).toBe('usd');
        const second = await h.provider.refund({
          paymentRef: paid.paymentRef,
          amountMinor: PACK - 400,
          currency: paid.currency,
          idempotencyKey: `refund-${paid.paymentRef}-2`,
        });
        expect(second.refundRef).not.toBe(first.refundRef);
        const all = await awaitEvent(h, isRefund(PACK));
        expect(all.event.eventId).not.toBe(part.event.eventId);
      });
    } else {
      it('refund() throws PaymentProviderError saying to use the dashboard', async () => {
        const { event: paid } = await paidCheckout(h, 'pack', PACK);
        const err = await rejection(
          h.provider.refund({ paymentRef: paid.paymentRef, amountMinor: PACK, currency: paid.currency, idempotencyKey: `refund-${paid.paymentRef}` }),
        );
        expect(err.provider).toBe(c.name);
        expect(err.retryable).toBe(false);
        expect(err.message).toMatch(/dashboard/i);
      });
    }

    it('a refund made in the provider dashboard is reported by a verified payment.refunded naming the paid paymentRef', async () => {
      const { event: paid } = await paidCheckout(h, 'pack', PACK);
      await h.refundFromProvider(paid);
      const { event } = await awaitEvent(h, (e): e is RefundedEvent => e.type === 'payment.refunded' && e.paymentRef === paid.paymentRef);
      expect(event.paymentRef).toBe(paid.paymentRef);
      expect(event.refundedMinor).toBe(PACK);
      expect(event.currency).toBe('usd');
    });
  });

  it('subscriptions: a paid subscription checkout names its subscription, or the adapter refuses one', async () => {
    if (!h.provider.supportsSubscriptions) {
      const before = h.checkoutCalls().length;
      const err = await rejection(h.provider.createCheckout(checkoutRequest(h, h.item('subscription', 2000))));
      expect(err.provider).toBe(c.name);
      expect(err.retryable).toBe(false);
      expect(h.checkoutCalls()).toHaveLength(before); // refused before calling the provider
      return;
    }
    const { req, session, event, events } = await paidCheckout(h, 'subscription', 2000);
    expect(events.filter((e) => e.type === 'checkout.paid')).toHaveLength(1);
    expect(event.orderId).toBe(req.orderId);
    expect(event.checkoutRef).toBe(session.checkoutRef);
    expect(event.subscriptionRef).toMatch(/\S+/);
    expect(event.paymentRef).toMatch(/\S+/);
    expect(event.amountMinor).toBe(2000);
    expect(event.currency).toBe('usd');
  });

  it('sends the processor only what it needs (privacy policy 4.2): order id, amount, currency, email; no user id', async () => {
    const userToken = `usr_${randomBytes(6).toString('hex')}`;
    const base = checkoutRequest(h, h.item('pack', PACK));
    // a stale caller still passing a user id: the adapter must not forward what is not in the port
    const req = { ...base, userId: userToken, user_id: userToken } as CheckoutRequest;
    const before = h.checkoutCalls().length;
    await h.provider.createCheckout(req);
    const calls = h.checkoutCalls().slice(before);
    expect(calls).toHaveLength(1);
    const call = calls[0]!;
    const { keys, values } = walk(call.body);
    expect(values).toContain(req.orderId);
    expect(h.moneyOf(call)).toEqual({ amountMinor: PACK, currency: 'usd' });
    if (c.sendsCustomerEmail) expect(c.emailOf(call)).toBe(EMAIL);
    else expect(values.some((v) => v.includes(EMAIL))).toBe(false);
    expect(keys.filter((k) => /^user[_-]?id$/i.test(k) || /\[user[_-]?id\]/i.test(k))).toEqual([]);
    expect(values.some((v) => v.includes(userToken))).toBe(false);
    expect(call.raw).not.toContain(userToken);
    expect(call.raw).not.toMatch(/user[_-]?id/i);
  });
});
