import { createHmac, randomBytes } from 'node:crypto';
import http from 'node:http';
import { postWebhook } from './deliver';
import { listenLocal } from './listen';
import { pendingWork } from './pending';

/**
 * A fake Creem (docs/provider-apis.md §4 in the shared docs): a real HTTP server on 127.0.0.1.
 *
 * API (header `x-api-key` = apiKey, else 401):
 * - `POST /v1/checkouts` `{product_id, request_id?, units?, discount_code?, customer?{id?,email?},
 *   custom_fields?, success_url?, metadata?}` -> 200 checkout `{id:"ch_…", object:"checkout",
 *   mode:"test", status:"pending", product{…}, request_id, units, success_url, metadata,
 *   checkout_url}`. 400 for a missing/unknown product (real Creem may answer 404 there:
 *   UNCONFIRMED), a bad field, or (while `strictFields`, the default) a field Creem does not take,
 *   such as `cancel_url` or `customer_email` (Creem's strictness is UNCONFIRMED; one integrator
 *   reports those fields are not accepted).
 * - `GET /v1/checkouts?checkout_id=` -> the checkout (with `order`, `customer`, `subscription` once
 *   paid); 400 without the parameter, 404 when unknown.
 * - `GET /v1/subscriptions?subscription_id=` -> the subscription.
 * - `POST /v1/subscriptions/:id/cancel` `{mode?: "immediate"|"scheduled"}` (default "immediate";
 *   the body and its default are UNCONFIRMED) -> the subscription; sends `subscription.canceled`
 *   (immediate: the period ends now) or `subscription.scheduled_cancel`.
 * - Errors: `{trace_id, status, error, message:[…]}` (the NestJS-style shape is UNCONFIRMED).
 *
 * Hosted page: `GET /pay/:checkoutId` is an HTML form with buttons `data-testid="fake-pay"` and
 * `data-testid="fake-decline"` (and an email field). Paying completes the checkout, waits for the
 * first delivery attempt of its webhooks, then answers 303 to `success_url` with
 * `checkout_id, order_id, customer_id, subscription_id, product_id, request_id` appended (Creem
 * also signs those; the signature scheme is UNCONFIRMED and not imitated). Declining shows the page
 * again with a "declined" message and sends no webhook (Creem documents no failed-checkout event).
 *
 * Webhooks: POST to the webhook URL, body `{id:"evt_…", eventType, created_at:<epoch ms>, object}`,
 * header `creem-signature` = hex HMAC-SHA256(webhookSecret, raw body). A paid one-time checkout sends
 * `checkout.completed`; a paid subscription checkout sends `checkout.completed`,
 * `subscription.active`, `subscription.paid` (in that order). Any answer other than HTTP 200 is
 * retried after `retryDelaysMs` (Creem: 30 s, 1 min, 5 min, 1 h; the fake defaults to
 * 100/200/400/800 ms). `duplicateNext(n)` delivers the next n events twice; `hold()` queues events
 * until `release('fifo'|'reverse')`.
 *
 * Money model (cents, currency upper-case as Creem writes it): each paid checkout makes an order
 * `ord_…` and a transaction `tran_…` whose `order` is that order; each renewal makes a transaction
 * with `order: null` (whether Creem makes an order per renewal is UNCONFIRMED). Refund events carry
 * the transaction with its cumulative `refunded_amount` (UNCONFIRMED field) and `refund_amount` of
 * this refund alone.
 */
export interface FakeCreemOptions {
  port?: number;
  host?: string;
  /** default 'creem_test_fake' */
  apiKey?: string;
  /** default 'whsec_creem_fake' */
  webhookSecret?: string;
  webhookUrl?: string;
  /** delays between retries of a delivery not answered 200 (default [100, 200, 400, 800]) */
  retryDelaysMs?: number[];
  /** refuse fields Creem does not take on checkout (default true) */
  strictFields?: boolean;
}

export type CreemBillingPeriod = 'every-month' | 'every-three-months' | 'every-six-months' | 'every-year' | 'once';

export interface FakeCreemProduct {
  id: string;
  name: string;
  /** cents */
  price: number;
  /** upper-case ISO code */
  currency: string;
  billingType: 'onetime' | 'recurring';
  billingPeriod: CreemBillingPeriod;
}

export interface FakeCreemCheckout {
  id: string;
  productId: string;
  requestId?: string;
  units: number;
  successUrl?: string;
  metadata?: Record<string, unknown>;
  customerEmail?: string;
  status: 'pending' | 'completed';
  declines: number;
  createdAt: number;
  orderId?: string;
  transactionId?: string;
  subscriptionId?: string;
  customerId?: string;
}

export interface FakeCreemTransaction {
  id: string;
  /** the order a checkout paid; null for renewals */
  orderId: string | null;
  subscriptionId?: string;
  customerId: string;
  amount: number;
  currency: string;
  refunded: number;
  createdAt: number;
}

export interface FakeCreemSubscription {
  id: string;
  productId: string;
  customerId: string;
  status: 'active' | 'scheduled_cancel' | 'canceled' | 'expired';
  periodStart: Date;
  periodEnd: Date;
  lastTransactionId: string;
  canceledAt: Date | null;
  metadata?: Record<string, unknown>;
  createdAt: number;
}

export interface FakeCreemDelivery {
  eventId: string;
  eventType: string;
  /** '' when no webhook URL was set (nothing sent) */
  url: string;
  headers: Record<string, string>;
  body: string;
  /** 1 for the first try, 2.. for retries */
  attempt: number;
  /** the receiver's HTTP status, 0 when unreachable / not sent */
  status: number;
  at: number;
}

export interface FakeCreemCompletion {
  checkoutId: string;
  orderId: string;
  transactionId: string;
  customerId: string;
  subscriptionId?: string;
}

export interface FakeCreem {
  url: string;
  apiKey: string;
  webhookSecret: string;
  readonly webhookUrl: string | undefined;
  setWebhookUrl(url: string | undefined): void;
  products: Map<string, FakeCreemProduct>;
  /** `id` picks the product id (a dev setup that maps plans to products by name); default a random one */
  createProduct(p: {
    id?: string;
    name: string;
    price: number;
    currency: string;
    billingType: 'onetime' | 'recurring';
    billingPeriod?: CreemBillingPeriod;
  }): string;
  checkouts: Map<string, FakeCreemCheckout>;
  subscriptions: Map<string, FakeCreemSubscription>;
  transactions: Map<string, FakeCreemTransaction>;
  /** pays (webhooks sent, first attempts awaited) or declines (nothing sent) a checkout; paying twice is a no-op */
  completeCheckout(checkoutId: string, outcome?: 'paid' | 'declined', o?: { email?: string }): Promise<FakeCreemCompletion | undefined>;
  /** a new period: new transaction, `subscription.paid`; returns the transaction id */
  renewSubscription(subId: string): Promise<string>;
  /** immediate (default): `subscription.canceled`, period ends now; scheduled: `subscription.scheduled_cancel` */
  cancelSubscription(subId: string, o?: { mode?: 'immediate' | 'scheduled' }): Promise<void>;
  expireSubscription(subId: string): Promise<void>;
  /** `ref` = an order id or a transaction id; amount defaults to what is left; returns the refund id */
  refund(ref: string, amount?: number): Promise<string>;
  /** `ref` = an order id or a transaction id; returns the dispute id */
  dispute(ref: string, amount?: number): Promise<string>;
  /** any signed event (e.g. subscription.past_due); returns its event id */
  sendEvent(eventType: string, object: Record<string, unknown>): Promise<string>;
  /** every delivery attempt, oldest first */
  deliveries: FakeCreemDelivery[];
  /** every API/page request received */
  requests: { method: string; path: string; headers: http.IncomingHttpHeaders; body: string }[];
  duplicateNext(n?: number): void;
  hold(): void;
  /** sends the held events in this order and stops holding */
  release(order?: 'fifo' | 'reverse'): Promise<void>;
  /** POSTs a body as is to the webhook URL (no signature unless given); returns the HTTP status */
  sendRaw(body: string | Buffer, headers?: Record<string, string>): Promise<number>;
  /** hex HMAC-SHA256 of a body (default key: the webhook secret) */
  sign(body: string | Buffer, secret?: string): string;
  /** resolves when no delivery or retry is pending */
  idle(): Promise<void>;
  close(): Promise<void>;
}

const isObject = (v: unknown): v is Record<string, unknown> => Boolean(v) && typeof v === 'object' && !Array.isArray(v);
const isUrl = (v: unknown) => typeof v === 'string' && /^https?:\/\/\S+$/i.test(v);
const rid = (prefix: string) => `${prefix}_${randomBytes(10).toString('hex')}`;
const iso = (d: Date | number) => new Date(d).toISOString();
const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const CHECKOUT_FIELDS = new Set(['product_id', 'request_id', 'units', 'discount_code', 'customer', 'custom_fields', 'custom_field', 'success_url', 'metadata']);
const PERIOD_MONTHS: Record<CreemBillingPeriod, number> = { 'every-month': 1, 'every-three-months': 3, 'every-six-months': 6, 'every-year': 12, once: 0 };

function addMonths(d: Date, months: number): Date {
  const r = new Date(d);
  r.setUTCMonth(r.getUTCMonth() + months);
  return r;
}

interface Job {
  eventId: string;
  eventType: string;
  body: string;
  duplicate: boolean;
}

/** Start a fake Creem on 127.0.0.1 (a random port unless `port` is given). */
export async function startFakeCreem(opts: FakeCreemOptions = {}): Promise<FakeCreem> {
  const apiKey = opts.apiKey ?? 'creem_test_fake';
  const webhookSecret = opts.webhookSecret ?? 'whsec_creem_fake';
  const retryDelays = opts.retryDelaysMs ?? [100, 200, 400, 800];
  const strictFields = opts.strictFields ?? true;
  let webhookUrl = opts.webhookUrl;
  const products = new Map<string, FakeCreemProduct>();
  const checkouts = new Map<string, FakeCreemCheckout>();
  const subscriptions = new Map<string, FakeCreemSubscription>();
  const transactions = new Map<string, FakeCreemTransaction>();
  const customers = new Map<string, { id: string; email: string; name: string; country: string; createdAt: number }>();
  const deliveries: FakeCreemDelivery[] = [];
  const requests: FakeCreem['requests'] = [];
  const retries = pendingWork();
  const inflight = new Set<Promise<unknown>>();
  const closing = new AbortController();
  let held: Job[] | undefined;
  let duplicates = 0;
  let closed = false;
  // read through a function after an await: TypeScript keeps the narrowing from before it, but close() may have run since
  const isClosed = () => closed;
  let base = '';

  const sign = (body: string | Buffer, secret = webhookSecret) => createHmac('sha256', secret).update(body).digest('hex');

  // --- delivery ---------------------------------------------------------------------------------

  const track = <T>(p: Promise<T>): Promise<T> => {
    inflight.add(p);
    void p.finally(() => inflight.delete(p)).catch(() => undefined);
    return p;
  };

  const post = (url: string, body: string | Buffer, headers: Record<string, string>) =>
    postWebhook(url, body, headers, { signal: closing.signal, timeoutMs: 15_000 });

  async function attempt(job: Job, n: number): Promise<void> {
    if (closed) return;
    const url = webhookUrl;
    const headers = { 'content-type': 'application/json', 'creem-signature': sign(job.body) };
    if (!url) {
      deliveries.push({ eventId: job.eventId, eventType: job.eventType, url: '', headers, body: job.body, attempt: n, status: 0, at: Date.now() });
      return;
    }
    const status = await post(url, job.body, headers);
    deliveries.push({ eventId: job.eventId, eventType: job.eventType, url, headers, body: job.body, attempt: n, status, at: Date.now() });
    const delay = retryDelays[n - 1];
    if (status !== 200 && delay !== undefined && !isClosed()) {
      retries.later(delay, () => track(attempt(job, n + 1)));
    }
  }

  async function dispatch(job: Job): Promise<void> {
    await track(attempt(job, 1));
    if (job.duplicate) await track(attempt(job, 1));
  }

  async function emit(eventType: string, object: Record<string, unknown>): Promise<string> {
    const eventId = rid('evt');
    const body = JSON.stringify({ id: eventId, eventType, created_at: Date.now(), object });
    const duplicate = duplicates > 0;
    if (duplicate) duplicates--;
    const job: Job = { eventId, eventType, body, duplicate };
    if (held) held.push(job);
    else await dispatch(job);
    return eventId;
  }

  // --- objects as Creem shows them --------------------------------------------------------------

  const productObj = (p: FakeCreemProduct) => ({
    id: p.id,
    object: 'product',
    name: p.name,
    description: null,
    price: p.price,
    currency: p.currency,
    billing_type: p.billingType,
    billing_period: p.billingPeriod,
    status: 'active',
    tax_mode: 'exclusive',
    tax_category: 'saas',
    default_success_url: null,
    mode: 'test',
  });

  function customerObj(id: string) {
    const c = customers.get(id)!;
    return {
      id: c.id,
      object: 'customer',
      email: c.email,
      name: c.name,
      country: c.country,
      created_at: iso(c.createdAt),
      updated_at: iso(c.createdAt),
      mode: 'test',
    };
  }

  function subscriptionObj(s: FakeCreemSubscription, expand: boolean) {
    const p = products.get(s.productId)!;
    return {
      id: s.id,
      object: 'subscription',
      product: expand ? productObj(p) : p.id,
      customer: expand ? customerObj(s.customerId) : s.customerId,
      collection_method: 'charge_automatically',
      status: s.status,
      last_transaction_id: s.lastTransactionId,
      last_transaction_date: iso(transactions.get(s.lastTransactionId)?.createdAt ?? s.createdAt),
      next_transaction_date: s.status === 'active' ? iso(s.periodEnd) : null,
      current_period_start_date: iso(s.periodStart),
      current_period_end_date: iso(s.periodEnd),
      canceled_at: s.canceledAt ? iso(s.canceledAt) : null,
      created_at: iso(s.createdAt),
      updated_at: iso(Date.now()),
      metadata: s.metadata ?? {},
      mode: 'test',
    };
  }

  function transactionObj(t: FakeCreemTransaction) {
    return {
      id: t.id,
      object: 'transaction',
      amount: t.amount,
      amount_paid: t.amount,
      currency: t.currency,
      type: t.subscriptionId ? 'invoice' : 'payment',
      tax_amount: 0,
      status: t.refunded === 0 ? 'paid' : t.refunded >= t.amount ? 'refunded' : 'partialRefund',
      refunded_amount: t.refunded,
      order: t.orderId,
      subscription: t.subscriptionId ?? null,
      customer: t.customerId,
      description: null,
      created_at: t.createdAt,
      mode: 'test',
    };
  }

  function checkoutObj(c: FakeCreemCheckout) {
    const p = products.get(c.productId)!;
    const tx = c.transactionId ? transactions.get(c.transactionId) : undefined;
    const sub = c.subscriptionId ? subscriptions.get(c.subscriptionId) : undefined;
    return {
      id: c.id,
      object: 'checkout',
      request_id: c.requestId ?? null,
      status: c.status,
      mode: 'test',
      units: c.units,
      success_url: c.successUrl ?? null,
      checkout_url: `${base}/pay/${c.id}`,
      product: productObj(p),
      ...(c.status === 'completed' && tx && c.customerId
        ? {
            order: {
              id: c.orderId,
              object: 'order',
              customer: c.customerId,
              product: p.id,
              transaction: tx.id,
              amount: tx.amount,
              sub_total: tx.amount,
              tax_amount: 0,
              discount_amount: 0,
              amount_due: tx.amount,
              amount_paid: tx.amount,
              currency: tx.currency,
              status: 'paid',
              type: p.billingType,
              created_at: iso(tx.createdAt),
              updated_at: iso(tx.createdAt),
              mode: 'test',
            },
            customer: customerObj(c.customerId),
            ...(sub ? { subscription: subscriptionObj(sub, false) } : {}),
          }
        : {}),
      custom_fields: [],
      metadata: c.metadata ?? {},
    };
  }

  // --- controls ---------------------------------------------------------------------------------

  function customerFor(email: string) {
    for (const c of customers.values()) if (c.email === email) return c.id;
    const id = rid('cust');
    customers.set(id, { id, email, name: email.split('@')[0] ?? 'Buyer', country: 'DE', createdAt: Date.now() });
    return id;
  }

  function sub(subId: string): FakeCreemSubscription {
    const s = subscriptions.get(subId);
    if (!s) throw new Error(`fake creem: no subscription ${subId}`);
    return s;
  }

  function transactionFor(ref: string): FakeCreemTransaction {
    const t = transactions.get(ref) ?? [...transactions.values()].find((x) => x.orderId === ref);
    if (!t) throw new Error(`fake creem: no order or transaction ${ref}`);
    return t;
  }

  async function completeCheckout(
    checkoutId: string,
    outcome: 'paid' | 'declined' = 'paid',
    o: { email?: string } = {},
  ): Promise<FakeCreemCompletion | undefined> {
    const c = checkouts.get(checkoutId);
    if (!c) throw new Error(`fake creem: no checkout ${checkoutId}`);
    if (c.status === 'completed') {
      return {
        checkoutId,
        orderId: c.orderId!,
        transactionId: c.transactionId!,
        customerId: c.customerId!,
        ...(c.subscriptionId ? { subscriptionId: c.subscriptionId } : {}),
      };
    }
    if (outcome === 'declined') {
      c.declines++;
      return undefined;
    }
    const p = products.get(c.productId)!;
    const customerId = customerFor(o.email ?? c.customerEmail ?? 'buyer@example.com');
    const now = Date.now();
    const orderId = rid('ord');
    const tx: FakeCreemTransaction = { id: rid('tran'), orderId, customerId, amount: p.price * c.units, currency: p.currency, refunded: 0, createdAt: now };
    let s: FakeCreemSubscription | undefined;
    if (p.billingType === 'recurring') {
      s = {
        id: rid('sub'),
        productId: p.id,
        customerId,
        status: 'active',
        periodStart: new Date(now),
        periodEnd: addMonths(new Date(now), PERIOD_MONTHS[p.billingPeriod] || 1),
        lastTransactionId: tx.id,
        canceledAt: null,
        metadata: c.metadata,
        createdAt: now,
      };
      tx.subscriptionId = s.id;
      subscriptions.set(s.id, s);
    }
    transactions.set(tx.id, tx);
    Object.assign(c, { status: 'completed', orderId, transactionId: tx.id, customerId, subscriptionId: s?.id });
    await emit('checkout.completed', checkoutObj(c));
    if (s) {
      await emit('subscription.active', subscriptionObj(s, true));
      await emit('subscription.paid', subscriptionObj(s, true));
    }
    return { checkoutId, orderId, transactionId: tx.id, customerId, ...(s ? { subscriptionId: s.id } : {}) };
  }

  async function renewSubscription(subId: string): Promise<string> {
    const s = sub(subId);
    if (s.status === 'canceled' || s.status === 'expired') throw new Error(`fake creem: subscription ${subId} is ${s.status}`);
    const p = products.get(s.productId)!;
    const tx: FakeCreemTransaction = {
      id: rid('tran'),
      orderId: null,
      subscriptionId: s.id,
      customerId: s.customerId,
      amount: p.price,
      currency: p.currency,
      refunded: 0,
      createdAt: Date.now(),
    };
    transactions.set(tx.id, tx);
    s.periodStart = s.periodEnd;
    s.periodEnd = addMonths(s.periodStart, PERIOD_MONTHS[p.billingPeriod] || 1);
    s.lastTransactionId = tx.id;
    s.status = 'active';
    await emit('subscription.paid', subscriptionObj(s, true));
    return tx.id;
  }

  async function cancelSubscription(subId: string, o: { mode?: 'immediate' | 'scheduled' } = {}): Promise<void> {
    const s = sub(subId);
    const now = new Date();
    if (o.mode === 'scheduled') {
      s.status = 'scheduled_cancel';
      s.canceledAt = now;
      await emit('subscription.scheduled_cancel', subscriptionObj(s, true));
      return;
    }
    s.status = 'canceled';
    s.canceledAt = now;
    if (s.periodEnd.getTime() > now.getTime()) s.periodEnd = now;
    await emit('subscription.canceled', subscriptionObj(s, true));
  }

  async function expireSubscription(subId: string): Promise<void> {
    const s = sub(subId);
    s.status = 'expired';
    await emit('subscription.expired', subscriptionObj(s, true));
  }

  async function refund(ref: string, amount?: number): Promise<string> {
    const t = transactionFor(ref);
    const left = t.amount - t.refunded;
    const value = amount ?? left;
    if (!Number.isInteger(value) || value <= 0 || value > left) throw new Error(`fake creem: cannot refund ${value} of ${ref} (${left} left)`);
    t.refunded += value;
    const id = rid('ref');
    const s = t.subscriptionId ? subscriptions.get(t.subscriptionId) : undefined;
    await emit('refund.created', {
      id,
      object: 'refund',
      status: 'succeeded',
      refund_amount: value,
      refund_currency: t.currency,
      reason: 'requested_by_customer',
      transaction: transactionObj(t),
      subscription: s ? subscriptionObj(s, false) : null,
      customer: customerObj(t.customerId),
      created_at: Date.now(),
      mode: 'test',
    });
    return id;
  }

  async function dispute(ref: string, amount?: number): Promise<string> {
    const t = transactionFor(ref);
    const id = rid('disp');
    const s = t.subscriptionId ? subscriptions.get(t.subscriptionId) : undefined;
    await emit('dispute.created', {
      id,
      object: 'dispute',
      amount: amount ?? t.amount,
      currency: t.currency,
      transaction: transactionObj(t),
      subscription: s ? subscriptionObj(s, false) : null,
      customer: customerObj(t.customerId),
      created_at: Date.now(),
      mode: 'test',
    });
    return id;
  }

  // --- HTTP -------------------------------------------------------------------------------------

  // responders return the response, so that a handler can answer and stop in one `return json(...)`
  const json = (res: http.ServerResponse, status: number, body: unknown) =>
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  const fail = (res: http.ServerResponse, status: number, message: string) =>
    json(res, status, { trace_id: randomBytes(8).toString('hex'), status, error: http.STATUS_CODES[status] ?? 'Error', message: [message] });
  const authorized = (req: http.IncomingMessage) => req.headers['x-api-key'] === apiKey;

  function parseJson(raw: Buffer): Record<string, unknown> | undefined {
    if (raw.length === 0) return {};
    try {
      const v: unknown = JSON.parse(raw.toString('utf8'));
      return isObject(v) ? v : undefined;
    } catch {
      return undefined;
    }
  }

  function validateCheckout(b: Record<string, unknown>): string | undefined {
    if (strictFields) for (const k of Object.keys(b)) if (!CHECKOUT_FIELDS.has(k)) return `property ${k} should not exist`;
    if (typeof b.product_id !== 'string' || !b.product_id) return 'product_id must be a string';
    if (!products.has(b.product_id)) return `Product not found: ${b.product_id}`;
    if (b.request_id !== undefined && typeof b.request_id !== 'string') return 'request_id must be a string';
    if (b.units !== undefined && (!Number.isInteger(b.units) || (b.units as number) < 1)) return 'units must be a positive integer';
    if (b.success_url !== undefined && !isUrl(b.success_url)) return 'success_url must be a URL address';
    if (b.metadata !== undefined && !isObject(b.metadata)) return 'metadata must be an object';
    if (b.customer !== undefined) {
      if (!isObject(b.customer)) return 'customer must be an object';
      if (b.customer.email !== undefined && (typeof b.customer.email !== 'string' || !/^\S+@\S+$/.test(b.customer.email)))
        return 'customer.email must be an email';
      if (b.customer.id !== undefined && typeof b.customer.id !== 'string') return 'customer.id must be a string';
    }
    return undefined;
  }

  function createCheckout(req: http.IncomingMessage, res: http.ServerResponse, raw: Buffer) {
    if (!authorized(req)) return fail(res, 401, 'Unauthorized: invalid or missing x-api-key');
    const b = parseJson(raw);
    if (!b) return fail(res, 400, 'the body must be a JSON object');
    const problem = validateCheckout(b);
    if (problem) return fail(res, 400, problem);
    const customer = isObject(b.customer) ? b.customer : undefined;
    const c: FakeCreemCheckout = {
      id: rid('ch'),
      productId: b.product_id as string,
      units: (b.units as number | undefined) ?? 1,
      status: 'pending',
      declines: 0,
      createdAt: Date.now(),
      ...(typeof b.request_id === 'string' ? { requestId: b.request_id } : {}),
      ...(typeof b.success_url === 'string' ? { successUrl: b.success_url } : {}),
      ...(isObject(b.metadata) ? { metadata: b.metadata } : {}),
      ...(typeof customer?.email === 'string' ? { customerEmail: customer.email } : {}),
    };
    checkouts.set(c.id, c);
    return json(res, 200, checkoutObj(c));
  }

  function page(c: FakeCreemCheckout, message?: string) {
    const p = products.get(c.productId)!;
    const price = `${((p.price * c.units) / 100).toFixed(2)} ${p.currency}`;
    return `<!doctype html><html><head><meta charset="utf-8"><title>Fake Creem checkout</title></head><body>
<h1>Fake Creem checkout</h1>
<p data-testid="fake-product">${escapeHtml(p.name)}: ${escapeHtml(price)}${p.billingType === 'recurring' ? ` (${p.billingPeriod})` : ''}</p>
${message ? `<p data-testid="fake-message">${escapeHtml(message)}</p>` : ''}
<form method="post" action="/pay/${c.id}">
<label>Email <input name="email" type="email" value="${escapeHtml(c.customerEmail ?? 'buyer@example.com')}"></label>
<button type="submit" name="outcome" value="paid" data-testid="fake-pay">Pay ${escapeHtml(price)}</button>
<button type="submit" name="outcome" value="declined" data-testid="fake-decline">Decline card</button>
</form></body></html>`;
  }

  const html = (res: http.ServerResponse, status: number, body: string) => res.writeHead(status, { 'content-type': 'text/html; charset=utf-8' }).end(body);

  async function payPage(req: http.IncomingMessage, res: http.ServerResponse, checkoutId: string, raw: Buffer) {
    const c = checkouts.get(checkoutId);
    if (!c) return html(res, 404, '<!doctype html><h1>Checkout not found</h1>');
    if (req.method === 'GET') return html(res, 200, c.status === 'completed' ? '<!doctype html><h1>This checkout is already paid</h1>' : page(c));
    const form = new URLSearchParams(raw.toString('utf8'));
    const outcome = form.get('outcome') === 'declined' ? 'declined' : 'paid';
    const email = form.get('email') || undefined;
    const done = await completeCheckout(c.id, outcome, email ? { email } : {});
    if (!done) return html(res, 402, page(c, 'Your card was declined. Try another card.'));
    if (!c.successUrl) return html(res, 200, '<!doctype html><h1>Payment complete</h1>');
    const target = new URL(c.successUrl);
    const params: Record<string, string | undefined> = {
      checkout_id: c.id,
      order_id: done.orderId,
      customer_id: done.customerId,
      subscription_id: done.subscriptionId,
      product_id: c.productId,
      request_id: c.requestId,
    };
    for (const [k, v] of Object.entries(params)) if (v) target.searchParams.set(k, v);
    res.writeHead(303, { location: target.toString() }).end();
  }

  async function route(req: http.IncomingMessage, res: http.ServerResponse, url: URL, raw: Buffer) {
    const method = req.method ?? 'GET';
    const p = url.pathname;
    if (method === 'POST' && p === '/v1/checkouts') return createCheckout(req, res, raw);
    if (method === 'GET' && p === '/v1/checkouts') {
      if (!authorized(req)) return fail(res, 401, 'Unauthorized: invalid or missing x-api-key');
      const id = url.searchParams.get('checkout_id');
      if (!id) return fail(res, 400, 'checkout_id is required');
      const c = checkouts.get(id);
      return c ? json(res, 200, checkoutObj(c)) : fail(res, 404, 'Checkout not found');
    }
    if (method === 'GET' && p === '/v1/products/search') {
      if (!authorized(req)) return fail(res, 401, 'Unauthorized: invalid or missing x-api-key');
      return json(res, 200, { items: [], pagination: { total_records: 0, total_pages: 0, current_page: 1, next_page: null, prev_page: null } });
    }
    if (method === 'GET' && p === '/v1/subscriptions') {
      if (!authorized(req)) return fail(res, 401, 'Unauthorized: invalid or missing x-api-key');
      const s = subscriptions.get(url.searchParams.get('subscription_id') ?? '');
      return s ? json(res, 200, subscriptionObj(s, true)) : fail(res, 404, 'Subscription not found');
    }
    const cancel = /^\/v1\/subscriptions\/([^/]+)\/cancel$/.exec(p);
    if (method === 'POST' && cancel) {
      if (!authorized(req)) return fail(res, 401, 'Unauthorized: invalid or missing x-api-key');
      const s = subscriptions.get(decodeURIComponent(cancel[1]!));
      if (!s) return fail(res, 404, 'Subscription not found');
      const b = parseJson(raw);
      if (!b) return fail(res, 400, 'the body must be a JSON object');
      if (b.mode !== undefined && b.mode !== 'immediate' && b.mode !== 'scheduled') return fail(res, 400, 'mode must be one of immediate, scheduled');
      if (s.status === 'canceled' || s.status === 'expired') return fail(res, 400, `Subscription is already ${s.status}`);
      await cancelSubscription(s.id, { mode: b.mode ?? 'immediate' });
      return json(res, 200, subscriptionObj(s, true));
    }
    const pay = /^\/pay\/([^/]+)$/.exec(p);
    if (pay && (method === 'GET' || method === 'POST')) return payPage(req, res, decodeURIComponent(pay[1]!), raw);
    return fail(res, 404, `no route for ${method} ${p}`);
  }

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', base);
      const raw = Buffer.concat(chunks);
      requests.push({ method: req.method ?? 'GET', path: url.pathname, headers: req.headers, body: raw.toString('utf8') });
      route(req, res, url, raw).catch((err: unknown) => {
        if (res.headersSent) return void res.end();
        fail(res, 500, err instanceof Error ? err.message : String(err));
      });
    });
  });

  base = await listenLocal(server, opts);

  return {
    url: base,
    apiKey,
    webhookSecret,
    get webhookUrl() {
      return webhookUrl;
    },
    setWebhookUrl(u) {
      webhookUrl = u;
    },
    products,
    createProduct(p) {
      const id = p.id ?? rid('prod');
      products.set(id, {
        id,
        name: p.name,
        price: p.price,
        currency: p.currency.toUpperCase(),
        billingType: p.billingType,
        billingPeriod: p.billingPeriod ?? (p.billingType === 'recurring' ? 'every-month' : 'once'),
      });
      return id;
    },
    checkouts,
    subscriptions,
    transactions,
    completeCheckout,
    renewSubscription,
    cancelSubscription,
    expireSubscription,
    refund,
    dispute,
    sendEvent: (eventType, object) => emit(eventType, object),
    deliveries,
    requests,
    duplicateNext(n = 1) {
      duplicates += n;
    },
    hold() {
      held ??= [];
    },
    async release(order = 'fifo') {
      const jobs = held ?? [];
      held = undefined;
      if (order === 'reverse') jobs.reverse();
      for (const job of jobs) await dispatch(job);
    },
    async sendRaw(body, headers = {}) {
      if (!webhookUrl) throw new Error('fake creem: no webhook URL set');
      return post(webhookUrl, body, { 'content-type': 'application/json', ...headers });
    },
    sign,
    async idle() {
      do {
        await Promise.allSettled([...inflight]);
        await retries.settled();
      } while (inflight.size > 0);
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        closed = true;
        closing.abort();
        retries.close();
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
