import { createHmac } from 'node:crypto';
import { callJson, headerValue, hexEqual, isObj, type Obj } from './http';
import {
  PaymentProviderError,
  type CheckoutRequest,
  type CheckoutSession,
  type PaymentEvent,
  type PaymentProvider,
  type RefundResult,
  type WebhookVerdict,
} from './payment';

/**
 * Creem (creem.io) over plain `fetch` (docs/provider-apis.md §4 in the shared docs).
 *
 * - Checkout: `POST /v1/checkouts` with `x-api-key`; Creem takes neither `cancel_url` nor
 *   `customer_email`, so the email goes as `customer.email` and there is no cancel URL. Creem has
 *   no documented Idempotency-Key; `request_id` (= our order id) is only echoed back, so a retried
 *   create may open a second checkout for the same order (harmless: only a paid one sends
 *   `checkout.completed`, and billing matches it by order id).
 * - Webhooks: `creem-signature` = hex HMAC-SHA256(webhook secret, raw body), no timestamp.
 *   Envelope `{id, eventType, created_at, object}`.
 *
 * Which id a payment is known by (`paymentRef`):
 * - `checkout.paid` uses the Creem order id (`object.order.id`, `ord_…`).
 * - `subscription.renewed` uses the period's transaction id (`last_transaction_id`, `tran_…`),
 *   also as `invoiceRef`. The first `subscription.paid` of a subscription arrives next to
 *   `checkout.completed` and describes the same payment: it carries the same subscription id and
 *   the same `current_period_start_date` as the checkout's `subscription`, so billing dedups it
 *   against the order the checkout created (by subscriptionRef + period start, or by invoiceRef
 *   once it has recorded one).
 * - refunds and disputes name a transaction; the adapter uses `transaction.order` when set (the
 *   order a checkout paid, matching `checkout.paid`) and else `transaction.id` (matching a
 *   renewal's `paymentRef`). UNCONFIRMED: whether Creem's renewal transactions carry an `order`;
 *   if they do, a refund of a renewal names an order id billing does not know for that renewal.
 *
 * Refund amounts: Creem's `refund_amount` is the amount of THIS refund (per refund), while the
 * port wants the cumulative total. The adapter reports `max(transaction.refunded_amount,
 * refund_amount)`: exact when the transaction object carries its cumulative `refunded_amount`
 * (UNCONFIRMED that it does, and whether it already includes this refund) or when there is a single
 * refund; two partial refunds without `refunded_amount` would under-report.
 *
 * `refund()` does not call Creem: refunds are made in the Creem dashboard and arrive as
 * `refund.created` (docs.creem.io also lists `POST /v1/refunds`, full refunds by transaction id;
 * not used while our docs mark it UNCONFIRMED).
 */
export interface CreemProviderOptions {
  apiKey: string;
  webhookSecret: string;
  /** default https://api.creem.io (test mode: https://test-api.creem.io) */
  apiBase?: string;
  /** per request, default 15000 */
  timeoutMs?: number;
  /** false: createCheckout refuses; existing subscribers keep working through webhooks (default true) */
  checkoutsEnabled?: boolean;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const num = (v: unknown): number | undefined =>
  typeof v === 'number' && Number.isFinite(v) ? v : typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v)) ? Number(v) : undefined;
/** an embedded object's id, whether Creem expanded it or sent the id string */
const idOf = (v: unknown): string | undefined => (isObj(v) ? str(v.id) : str(v));
function date(v: unknown): Date | undefined {
  if (typeof v !== 'string' && typeof v !== 'number') return undefined;
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

export function createCreemProvider(opts: CreemProviderOptions): PaymentProvider {
  const apiBase = (opts.apiBase ?? 'https://api.creem.io').replace(/\/+$/, '');
  const timeoutMs = opts.timeoutMs ?? 15_000;
  const checkoutsEnabled = opts.checkoutsEnabled ?? true;

  async function call(method: 'POST' | 'GET', path: string, body?: unknown): Promise<Obj> {
    const { status, data, text } = await callJson('creem', 'Creem', {
      url: `${apiBase}${path}`,
      method,
      apiKey: opts.apiKey,
      body,
      timeoutMs,
      detail: (parsed) => (Array.isArray(parsed.message) ? parsed.message.join('; ') : (parsed.message ?? parsed.error)),
    });
    // an empty body is an empty object; anything else must be a JSON object
    const parsed = text === '' ? {} : data;
    if (!isObj(parsed))
      throw new PaymentProviderError('creem', `Creem answered HTTP ${status} with a body that is not a JSON object`, { status, retryable: true });
    return parsed;
  }

  async function createCheckout(req: CheckoutRequest): Promise<CheckoutSession> {
    if (!checkoutsEnabled) throw new PaymentProviderError('creem', 'new Creem checkouts are switched off');
    const productId = req.item.providerPriceRef;
    if (!productId)
      throw new PaymentProviderError('creem', `plan ${req.item.planId} has no Creem product id (set its provider price ref to the Creem product id)`);
    const body = {
      product_id: productId,
      request_id: req.orderId,
      units: 1,
      ...(req.customerEmail ? { customer: { email: req.customerEmail } } : {}),
      success_url: req.successUrl,
      // privacy policy 4.2: the order id only, nothing about the user beyond the checkout email
      metadata: { order_id: req.orderId },
    };
    const data = await call('POST', '/v1/checkouts', body);
    const id = str(data.id);
    const url = str(data.checkout_url);
    if (!id || !url) throw new PaymentProviderError('creem', 'Creem created a checkout but its answer has no id or checkout_url', { retryable: false });
    return { checkoutRef: id, url };
  }

  function verifyWebhook(rawBody: Buffer, headers: Record<string, string | string[] | undefined>): WebhookVerdict {
    const signature = headerValue(headers, 'creem-signature');
    if (!signature) return { ok: false, reason: 'missing creem-signature header' };
    const expected = createHmac('sha256', opts.webhookSecret).update(rawBody).digest('hex');
    if (!hexEqual(expected, signature)) return { ok: false, reason: 'invalid creem-signature (body altered or wrong webhook secret)' };
    let envelope: unknown;
    try {
      envelope = JSON.parse(rawBody.toString('utf8'));
    } catch {
      return { ok: false, reason: 'body is not JSON' };
    }
    if (!isObj(envelope)) return { ok: false, reason: 'body is not a JSON object' };
    const eventId = str(envelope.id);
    const eventType = str(envelope.eventType);
    const object = envelope.object;
    if (!eventId || !eventType || !isObj(object)) return { ok: false, reason: 'not a Creem event envelope ({id, eventType, object})' };
    const createdAt = date(envelope.created_at) ?? new Date();
    try {
      return { ok: true, events: [normalize(eventId, eventType, object, createdAt)] };
    } catch (err) {
      if (err instanceof MalformedEvent) return { ok: false, reason: err.message };
      throw err;
    }
  }

  return {
    id: 'creem',
    supportsSubscriptions: true,
    createCheckout,
    verifyWebhook,
    async refund(): Promise<RefundResult> {
      throw new PaymentProviderError('creem', 'Creem refunds are made in the Creem dashboard; its refund.created webhook then updates the order.', {
        retryable: false,
      });
    },
    async cancelSubscription(subscriptionRef, o) {
      // UNCONFIRMED in our docs: the endpoint and its `mode` body ('scheduled' = at period end)
      await call('POST', `/v1/subscriptions/${encodeURIComponent(subscriptionRef)}/cancel`, { mode: o.atPeriodEnd ? 'scheduled' : 'immediate' });
    },
    async close() {},
  };
}

class MalformedEvent extends Error {}

function need<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new MalformedEvent(`Creem event lacks ${what}`);
  return value;
}

/** One verified Creem event, normalized. Throws MalformedEvent when a money event lacks its fields. */
function normalize(eventId: string, eventType: string, o: Obj, createdAt: Date): PaymentEvent {
  switch (eventType) {
    case 'checkout.completed': {
      const order = isObj(o.order) ? o.order : undefined;
      const product = isObj(o.product) ? o.product : undefined;
      const customer = isObj(o.customer) ? o.customer : undefined;
      const sub = isObj(o.subscription) ? o.subscription : undefined;
      const metadata = isObj(o.metadata) ? o.metadata : undefined;
      const currency = need(str(order?.currency) ?? str(product?.currency), 'order.currency').toLowerCase();
      const periodStart = date(sub?.current_period_start_date);
      const periodEnd = date(sub?.current_period_end_date);
      return {
        type: 'checkout.paid',
        eventId,
        orderId: str(o.request_id) ?? str(metadata?.order_id),
        checkoutRef: need(str(o.id), 'object.id'),
        paymentRef: need(str(order?.id), 'object.order.id'),
        amountMinor: need(num(order?.amount), 'object.order.amount'),
        currency,
        ...(str(customer?.email) ? { customerEmail: str(customer?.email) } : {}),
        ...(idOf(o.customer) ? { customerRef: idOf(o.customer) } : {}),
        ...(idOf(o.subscription) ? { subscriptionRef: idOf(o.subscription) } : {}),
        ...(periodStart ? { periodStart } : {}),
        ...(periodEnd ? { periodEnd } : {}),
      };
    }
    case 'subscription.paid': {
      const product = isObj(o.product) ? o.product : undefined;
      const transactionId = need(str(o.last_transaction_id), 'object.last_transaction_id');
      return {
        type: 'subscription.renewed',
        eventId,
        subscriptionRef: need(str(o.id), 'object.id'),
        invoiceRef: transactionId,
        paymentRef: transactionId,
        // the product's list price: the subscription object carries no amount of its own
        amountMinor: need(num(product?.price), 'object.product.price'),
        currency: need(str(product?.currency), 'object.product.currency').toLowerCase(),
        periodStart: need(date(o.current_period_start_date), 'object.current_period_start_date'),
        periodEnd: need(date(o.current_period_end_date), 'object.current_period_end_date'),
      };
    }
    case 'subscription.scheduled_cancel': {
      const periodEnd = date(o.current_period_end_date);
      return { type: 'subscription.canceled', eventId, subscriptionRef: need(str(o.id), 'object.id'), atPeriodEnd: true, ...(periodEnd ? { periodEnd } : {}) };
    }
    case 'subscription.canceled': {
      // "canceled" can still leave paid time: compare the period end with the cancel moment (not
      // with now, so a replay normalizes the same way)
      const periodEnd = date(o.current_period_end_date);
      const at = date(o.canceled_at) ?? createdAt;
      const atPeriodEnd = periodEnd !== undefined && periodEnd.getTime() > at.getTime();
      return { type: 'subscription.canceled', eventId, subscriptionRef: need(str(o.id), 'object.id'), atPeriodEnd, ...(atPeriodEnd ? { periodEnd } : {}) };
    }
    case 'subscription.expired': {
      const periodEnd = date(o.current_period_end_date);
      const endedAt = periodEnd && periodEnd.getTime() <= createdAt.getTime() ? periodEnd : createdAt;
      return { type: 'subscription.ended', eventId, subscriptionRef: need(str(o.id), 'object.id'), endedAt };
    }
    case 'refund.created': {
      const tx = isObj(o.transaction) ? o.transaction : undefined;
      const paymentRef = need(idOf(tx?.order) ?? idOf(o.transaction), 'object.transaction');
      const thisRefund = need(num(o.refund_amount), 'object.refund_amount');
      const cumulative = num(tx?.refunded_amount);
      return {
        type: 'payment.refunded',
        eventId,
        paymentRef,
        refundedMinor: Math.max(thisRefund, cumulative ?? 0),
        currency: need(str(o.refund_currency) ?? str(tx?.currency), 'object.refund_currency').toLowerCase(),
      };
    }
    case 'dispute.created': {
      const tx = isObj(o.transaction) ? o.transaction : undefined;
      return {
        type: 'payment.disputed',
        eventId,
        paymentRef: need(idOf(tx?.order) ?? idOf(o.transaction), 'object.transaction'),
        amountMinor: need(num(o.amount) ?? num(tx?.amount), 'object.amount'),
        currency: need(str(o.currency) ?? str(tx?.currency), 'object.currency').toLowerCase(),
      };
    }
    default:
      return { type: 'ignored', eventId, providerType: eventType };
  }
}
