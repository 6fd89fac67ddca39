import http from 'node:http';
import https from 'node:https';
import Stripe from 'stripe';
import {
  PaymentProviderError,
  type CheckoutRequest,
  type CheckoutSession,
  type PaymentEvent,
  type PaymentProvider,
  type RefundRequest,
  type RefundResult,
  type WebhookVerdict,
} from './payment';

/**
 * Stripe through the official SDK (docs/provider-apis.md §3). Hosted Checkout Sessions for packs
 * (mode `payment`) and subscriptions (mode `subscription`); webhooks verified with
 * `webhooks.constructEvent` on the raw bytes; refunds; subscription cancel; the events API for
 * reconciliation. `apiBase` points the SDK at another host (the fake in tests); its path is
 * ignored (the SDK always uses `/v1/`).
 *
 * Object shapes differ across API versions: since 2025-03-31 an invoice names its subscription
 * at `parent.subscription_details.subscription` (before: `subscription`) and has no
 * `payment_intent` (its payments are at `payments.data[].payment.payment_intent`, an includable
 * field); a subscription's period moved to its items. Normalization reads both.
 */
export interface StripeProviderOptions {
  secretKey: string;
  webhookSecret: string;
  /** default https://api.stripe.com */
  apiBase?: string;
  /** per request, ms (default 20 000) */
  timeoutMs?: number;
  /** webhook timestamp tolerance in seconds (default 300, the SDK's) */
  toleranceSeconds?: number;
}

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
/** a string field, or '' when it is missing or not a string */
const text = (v: unknown): string => str(v) ?? '';
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
/** an id field that may be expanded into its object */
const ref = (v: unknown): string | undefined => str(v) ?? (isObj(v) ? str(v.id) : undefined);
const date = (epochSeconds: unknown): Date | undefined => {
  const n = num(epochSeconds);
  return n === undefined ? undefined : new Date(n * 1000);
};

/** Event types we act on (also the `types` filter of the events API). */
const HANDLED_TYPES = [
  'checkout.session.completed',
  'checkout.session.async_payment_succeeded',
  'checkout.session.async_payment_failed',
  'checkout.session.expired',
  'invoice.paid',
  'customer.subscription.updated',
  'customer.subscription.deleted',
  'charge.refunded',
  'charge.dispute.created',
  'charge.succeeded',
  'charge.failed',
] as const;

/** The payment intent of an invoice, in either API shape, when present. */
function invoicePaymentIntent(inv: Obj): string | undefined {
  const legacy = ref(inv.payment_intent);
  if (legacy) return legacy;
  const payments = isObj(inv.payments) && Array.isArray(inv.payments.data) ? inv.payments.data : [];
  for (const p of payments) {
    if (isObj(p) && isObj(p.payment)) {
      const pi = ref(p.payment.payment_intent);
      if (pi) return pi;
    }
  }
  return undefined;
}

function invoiceSubscription(inv: Obj): string | undefined {
  const parent = isObj(inv.parent) && isObj(inv.parent.subscription_details) ? ref(inv.parent.subscription_details.subscription) : undefined;
  return parent ?? ref(inv.subscription);
}

/** A subscription's current period, in either API shape. */
function subscriptionPeriod(sub: Obj): { start?: Date; end?: Date } {
  const items = isObj(sub.items) && Array.isArray(sub.items.data) ? sub.items.data : [];
  const item = items.find(isObj);
  return { start: date(sub.current_period_start ?? item?.current_period_start), end: date(sub.current_period_end ?? item?.current_period_end) };
}

function invoicePeriod(inv: Obj): { start?: Date; end?: Date } {
  const lines = isObj(inv.lines) && Array.isArray(inv.lines.data) ? inv.lines.data : [];
  const first = lines.find(isObj);
  const period = first && isObj(first.period) ? first.period : undefined;
  return { start: date(period?.start ?? inv.period_start), end: date(period?.end ?? inv.period_end) };
}

/** One Stripe event (already authenticated) -> our events. */
export function normalizeStripeEvent(event: Obj): PaymentEvent[] {
  const eventId = text(event.id);
  const type = text(event.type);
  const data = isObj(event.data) && isObj(event.data.object) ? event.data.object : {};
  const ignored: PaymentEvent[] = [{ type: 'ignored', eventId, providerType: type }];
  switch (type) {
    case 'checkout.session.completed':
    case 'checkout.session.async_payment_succeeded': {
      const s = data;
      const invoice = s.invoice;
      const subscription = isObj(s.subscription) ? s.subscription : undefined;
      const paid = s.payment_status === 'paid' || (s.mode === 'subscription' && isObj(invoice) && invoice.status === 'paid');
      // unpaid: a delayed payment method; checkout.session.async_payment_succeeded follows
      if (!paid) return ignored;
      const checkoutRef = text(s.id);
      const paymentRef =
        s.mode === 'subscription'
          ? ((isObj(invoice) ? (invoicePaymentIntent(invoice) ?? ref(invoice)) : str(invoice)) ?? ref(s.payment_intent) ?? checkoutRef)
          : (ref(s.payment_intent) ?? checkoutRef);
      const details = isObj(s.customer_details) ? s.customer_details : {};
      const metadata = isObj(s.metadata) ? s.metadata : {};
      const period = subscription ? subscriptionPeriod(subscription) : {};
      return [
        {
          type: 'checkout.paid',
          eventId,
          orderId: str(s.client_reference_id) ?? str(metadata.order_id),
          checkoutRef,
          paymentRef,
          amountMinor: num(s.amount_total) ?? 0,
          currency: text(s.currency).toLowerCase(),
          customerEmail: str(details.email) ?? str(s.customer_email),
          customerRef: ref(s.customer),
          subscriptionRef: ref(s.subscription),
          periodStart: period.start,
          periodEnd: period.end,
        },
      ];
    }
    case 'checkout.session.async_payment_failed':
    case 'checkout.session.expired': {
      const metadata = isObj(data.metadata) ? data.metadata : {};
      return [
        {
          type: type === 'checkout.session.expired' ? 'checkout.expired' : 'checkout.failed',
          eventId,
          orderId: str(data.client_reference_id) ?? str(metadata.order_id),
          checkoutRef: text(data.id),
        },
      ];
    }
    case 'invoice.paid': {
      // the first period is granted by checkout.session.completed
      if (data.billing_reason === 'subscription_create') return ignored;
      const subscriptionRef = invoiceSubscription(data);
      if (!subscriptionRef) return ignored; // a one-off invoice: not ours
      const period = invoicePeriod(data);
      const invoiceRef = text(data.id);
      return [
        {
          type: 'subscription.renewed',
          eventId,
          subscriptionRef,
          invoiceRef,
          paymentRef: invoicePaymentIntent(data) ?? invoiceRef,
          amountMinor: num(data.amount_paid) ?? 0,
          currency: text(data.currency).toLowerCase(),
          periodStart: period.start ?? date(event.created) ?? new Date(),
          periodEnd: period.end ?? period.start ?? date(event.created) ?? new Date(),
        },
      ];
    }
    case 'customer.subscription.updated': {
      const cancelAt = num(data.cancel_at);
      if (data.cancel_at_period_end !== true && !(cancelAt !== undefined && data.status !== 'canceled')) return ignored;
      const periodEnd = date(cancelAt) ?? subscriptionPeriod(data).end;
      return [{ type: 'subscription.canceled', eventId, subscriptionRef: text(data.id), atPeriodEnd: true, ...(periodEnd ? { periodEnd } : {}) }];
    }
    case 'customer.subscription.deleted':
      return [
        {
          type: 'subscription.ended',
          eventId,
          subscriptionRef: text(data.id),
          endedAt: date(data.ended_at) ?? date(data.canceled_at) ?? date(event.created) ?? new Date(),
        },
      ];
    case 'charge.refunded':
      return [
        {
          type: 'payment.refunded',
          eventId,
          paymentRef: ref(data.payment_intent) ?? text(data.id),
          refundedMinor: num(data.amount_refunded) ?? 0,
          currency: text(data.currency).toLowerCase(),
        },
      ];
    case 'charge.dispute.created':
      return [
        {
          type: 'payment.disputed',
          eventId,
          paymentRef: ref(data.payment_intent) ?? ref(data.charge) ?? '',
          amountMinor: num(data.amount) ?? 0,
          currency: text(data.currency).toLowerCase(),
        },
      ];
    case 'charge.succeeded':
    case 'charge.failed': {
      const pi = ref(data.payment_intent);
      const chargeRef = text(data.id);
      const metadata = isObj(data.metadata) ? data.metadata : {};
      const details = isObj(data.payment_method_details) ? data.payment_method_details : {};
      const card = isObj(details.card) ? details.card : undefined;
      const fingerprint = card ? str(card.fingerprint) : undefined;
      const outcome = isObj(data.outcome) ? data.outcome : undefined;
      const brand = card ? str(card.brand) : undefined;
      const last4 = card ? str(card.last4) : undefined;
      const score = outcome ? num(outcome.risk_score) : undefined;
      const risk = outcome
        ? {
            ...(str(outcome.type) ? { outcome: str(outcome.type) } : {}),
            ...(str(outcome.risk_level) ? { level: str(outcome.risk_level) } : {}),
            ...(score !== undefined ? { score } : {}),
          }
        : undefined;
      const orderId = str(metadata.order_id);
      const failureCode = str(data.failure_code);
      const customerRef = ref(data.customer);
      const created = num(data.created);
      return [
        {
          type: 'payment.charge',
          eventId,
          // UNCONFIRMED: that a charge made by a PaymentIntent carries the intent's metadata; the order is found by the payment intent otherwise
          ...(orderId ? { orderId } : {}),
          paymentRef: pi ?? chargeRef,
          chargeRef,
          succeeded: type === 'charge.succeeded',
          ...(fingerprint ? { card: { fingerprint, ...(brand ? { brand } : {}), ...(last4 ? { last4 } : {}) } } : {}),
          ...(risk && Object.keys(risk).length ? { risk } : {}),
          ...(failureCode ? { failureCode } : {}),
          ...(customerRef ? { customerRef } : {}),
          ...(created !== undefined ? { created } : {}),
        },
      ];
    }
    default:
      return ignored;
  }
}

function header(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  for (const [k, v] of Object.entries(headers)) {
    if (k.toLowerCase() !== name) continue;
    return Array.isArray(v) ? v[0] : v;
  }
  return undefined;
}

/** Stripe SDK errors -> PaymentProviderError (retryable for network, 5xx, 429, lock conflicts). */
function toProviderError(err: unknown, what: string): PaymentProviderError {
  if (err instanceof PaymentProviderError) return err;
  if (err instanceof Stripe.errors.StripeError) {
    const status = err.statusCode;
    const retryable =
      err instanceof Stripe.errors.StripeConnectionError ||
      err instanceof Stripe.errors.StripeRateLimitError ||
      (err instanceof Stripe.errors.StripeAPIError && status === undefined) ||
      status === 429 ||
      status === 409 ||
      (status !== undefined && status >= 500);
    const code = err.code ? ` (${err.code})` : '';
    return new PaymentProviderError('stripe', `${what}: ${err.message}${code}`, { ...(status !== undefined ? { status } : {}), retryable, cause: err });
  }
  return new PaymentProviderError('stripe', `${what}: ${err instanceof Error ? err.message : String(err)}`, { retryable: true, cause: err });
}

export function createStripeProvider(opts: StripeProviderOptions): PaymentProvider {
  const base = new URL(opts.apiBase ?? 'https://api.stripe.com');
  const protocol = base.protocol === 'http:' ? 'http' : 'https';
  const agent = protocol === 'http' ? new http.Agent({ keepAlive: true }) : new https.Agent({ keepAlive: true });
  const stripe = new Stripe(opts.secretKey, {
    host: base.hostname,
    port: base.port || (protocol === 'http' ? 80 : 443),
    protocol,
    maxNetworkRetries: 2,
    timeout: opts.timeoutMs ?? 20_000,
    httpAgent: agent,
    telemetry: false,
    appInfo: { name: 'save-sora' },
  });
  const tolerance = opts.toleranceSeconds ?? 300;

  /** a payment reference -> what refunds.create takes (an invoice id is resolved to its payment intent) */
  async function refundTarget(paymentRef: string): Promise<{ payment_intent: string } | { charge: string }> {
    if (paymentRef.startsWith('ch_') || paymentRef.startsWith('py_')) return { charge: paymentRef };
    if (paymentRef.startsWith('in_')) {
      const inv = (await stripe.invoices.retrieve(paymentRef, { expand: ['payments'] })) as unknown as Obj;
      const pi = invoicePaymentIntent(inv);
      if (!pi) throw new PaymentProviderError('stripe', `refund: invoice ${paymentRef} has no payment intent`, { retryable: false });
      return { payment_intent: pi };
    }
    return { payment_intent: paymentRef };
  }

  return {
    id: 'stripe',
    supportsSubscriptions: true,

    async enrich(event: PaymentEvent): Promise<PaymentEvent> {
      let out = event;
      // a subscription's payment is named by its invoice in the current API, but refunds and
      // disputes name the payment intent: record the payment intent, so they find the order
      if ((out.type === 'checkout.paid' || out.type === 'subscription.renewed') && out.paymentRef.startsWith('in_')) {
        try {
          const target = await refundTarget(out.paymentRef);
          if ('payment_intent' in target) out = { ...out, paymentRef: target.payment_intent };
        } catch {
          /* keep the invoice id: refunds through refund() resolve it again */
        }
      }
      // a checkout session does not say which period it paid: the subscription does
      if (out.type === 'checkout.paid' && out.subscriptionRef && !out.periodEnd) {
        try {
          const period = subscriptionPeriod((await stripe.subscriptions.retrieve(out.subscriptionRef)) as unknown as Obj);
          out = { ...out, ...(period.start ? { periodStart: period.start } : {}), ...(period.end ? { periodEnd: period.end } : {}) };
        } catch {
          /* the billing service falls back to the plan's interval */
        }
      }
      return out;
    },

    async createCheckout(req: CheckoutRequest): Promise<CheckoutSession> {
      const { item } = req;
      const subscription = item.kind === 'subscription';
      // privacy policy 4.2: processors get the amount, currency, order id and customer email, nothing about the user
      const meta = { order_id: req.orderId };
      const lineItem: Stripe.Checkout.SessionCreateParams.LineItem = item.providerPriceRef
        ? { price: item.providerPriceRef, quantity: 1 }
        : {
            price_data: {
              currency: item.currency.toLowerCase(),
              unit_amount: item.amountMinor,
              product_data: { name: item.name },
              ...(subscription ? { recurring: { interval: item.interval ?? 'month' } } : {}),
            },
            quantity: 1,
          };
      const params: Stripe.Checkout.SessionCreateParams = {
        mode: subscription ? 'subscription' : 'payment',
        line_items: [lineItem],
        client_reference_id: req.orderId,
        metadata: meta,
        success_url: req.successUrl,
        cancel_url: req.cancelUrl,
        ...(req.customerEmail ? { customer_email: req.customerEmail } : {}),
        ...(subscription ? { subscription_data: { metadata: meta } } : { payment_intent_data: { metadata: meta } }),
      };
      let session: Stripe.Checkout.Session;
      try {
        session = await stripe.checkout.sessions.create(params, { idempotencyKey: req.idempotencyKey });
      } catch (err) {
        throw toProviderError(err, 'checkout');
      }
      if (!session.url) throw new PaymentProviderError('stripe', `checkout: session ${session.id} has no url`, { retryable: false });
      return { checkoutRef: session.id, url: session.url, ...(session.expires_at ? { expiresAt: new Date(session.expires_at * 1000) } : {}) };
    },

    verifyWebhook(rawBody: Buffer, headers: Record<string, string | string[] | undefined>): WebhookVerdict {
      const signature = header(headers, 'stripe-signature');
      if (!signature) return { ok: false, reason: 'missing Stripe-Signature header' };
      let event: Stripe.Event;
      try {
        event = stripe.webhooks.constructEvent(rawBody, signature, opts.webhookSecret, tolerance);
      } catch (err) {
        return { ok: false, reason: err instanceof Error ? err.message : String(err) };
      }
      if (!isObj(event) || typeof event.id !== 'string' || typeof event.type !== 'string') return { ok: false, reason: 'not a Stripe event' };
      return { ok: true, events: normalizeStripeEvent(event) };
    },

    async refund(req: RefundRequest): Promise<RefundResult> {
      try {
        const target = await refundTarget(req.paymentRef);
        const r = await stripe.refunds.create(
          { ...target, amount: req.amountMinor, ...(req.reason ? { reason: req.reason } : {}), metadata: { payment_ref: req.paymentRef } },
          { idempotencyKey: req.idempotencyKey },
        );
        const status = r.status === 'succeeded' ? 'succeeded' : r.status === 'failed' || r.status === 'canceled' ? 'failed' : 'pending';
        return { refundRef: r.id, status };
      } catch (err) {
        throw toProviderError(err, 'refund');
      }
    },

    async cancelSubscription(subscriptionRef: string, o: { atPeriodEnd: boolean; idempotencyKey: string }): Promise<void> {
      try {
        if (o.atPeriodEnd) await stripe.subscriptions.update(subscriptionRef, { cancel_at_period_end: true }, { idempotencyKey: o.idempotencyKey });
        else await stripe.subscriptions.cancel(subscriptionRef, {}, { idempotencyKey: o.idempotencyKey });
      } catch (err) {
        throw toProviderError(err, 'cancel subscription');
      }
    },

    async listEventsSince(since: Date): Promise<PaymentEvent[]> {
      const newestFirst: Obj[] = [];
      try {
        const list = stripe.events.list({ created: { gte: Math.floor(since.getTime() / 1000) }, limit: 100, types: [...HANDLED_TYPES] });
        for await (const e of list) newestFirst.push(e as unknown as Obj);
      } catch (err) {
        throw toProviderError(err, 'list events');
      }
      return newestFirst.reverse().flatMap(normalizeStripeEvent);
    },

    async close() {
      agent.destroy();
    },
  };
}
