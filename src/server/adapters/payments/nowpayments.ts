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
 * NOWPayments (crypto) over plain `fetch` (docs/provider-apis.md §5 in the shared docs).
 *
 * - Checkout: `POST /v1/invoice` with `x-api-key`; the IPN URL travels per invoice
 *   (`ipn_callback_url`). Only one-off packs: NOWPayments has no card-style subscriptions here
 *   (`supportsSubscriptions: false`). Prices go in major units (`price_amount` = minor / 100), so
 *   only currencies with 2 decimals are accepted.
 * - IPN signature: `x-nowpayments-sig` = hex HMAC-SHA512(IPN secret, JSON of the parsed body with
 *   sorted keys, no spaces). Integrations disagree on nested objects (the official Node sample sorts
 *   only the top level and, used as a replacer list, drops nested keys absent from the top level;
 *   others sort recursively), so both strings are computed and either signature is accepted.
 * - NOWPayments has no event id: `eventId` = `${payment_id}:${payment_status}`, so a repeated IPN of
 *   the same status is the same event.
 * - Credits are granted only at `finished`; `waiting`, `confirming`, `confirmed`, `sending` are
 *   ignored. `partially_paid`: the paid share is `actually_paid / pay_amount` (both in the pay
 *   currency) of the invoice price, rounded DOWN to the minor unit (never credit more than was
 *   paid). Whether NOWPayments may later move a partially_paid payment to finished (a top-up) is
 *   UNCONFIRMED; if it does, the finished IPN is a different event id and billing sees checkout.paid.
 * - `refunded`: NOWPayments refunds whole payments, so `refundedMinor` is the full invoice amount.
 *
 * `refund()` does not call NOWPayments: crypto refunds are made in its dashboard and arrive as a
 * `refunded` IPN.
 *
 * Payment fraud (issue 19): no payer wallet is recorded. UNCONFIRMED: the documented IPN fields name
 * no payer address (`pay_address` is the deposit address NOWPayments gave us, not the payer's), so
 * there is nothing to store as a `wallet` signal; crypto payments have no chargebacks either.
 */
export interface NowPaymentsProviderOptions {
  apiKey: string;
  ipnSecret: string;
  /** default https://api.nowpayments.io */
  apiBase?: string;
  /** per request, default 15000 */
  timeoutMs?: number;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
/** ids arrive as numbers or strings */
const idStr = (v: unknown): string | undefined => (typeof v === 'number' && Number.isFinite(v) ? String(v) : str(v));
const num = (v: unknown): number | undefined =>
  typeof v === 'number' && Number.isFinite(v) ? v : typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v)) ? Number(v) : undefined;

/** ISO 4217 currencies whose minor unit is not 2 decimals (0 or 3): not supported here. */
const NOT_TWO_DECIMALS = new Set([
  'bif',
  'clp',
  'djf',
  'gnf',
  'isk',
  'jpy',
  'kmf',
  'krw',
  'pyg',
  'rwf',
  'ugx',
  'uyi',
  'vnd',
  'vuv',
  'xaf',
  'xof',
  'xpf',
  'bhd',
  'iqd',
  'jod',
  'kwd',
  'lyd',
  'omr',
  'tnd',
]);

/** Objects with their keys sorted at every depth (arrays keep their order). */
function sortDeep(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortDeep);
  if (isObj(v))
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, sortDeep(v[k])]),
    );
  return v;
}

/** The strings NOWPayments' signature may cover: recursively sorted, and the official sample's top-level-sorted form. */
export function nowPaymentsSignedStrings(body: Obj): string[] {
  const recursive = JSON.stringify(sortDeep(body));
  const topLevel = JSON.stringify(body, Object.keys(body).sort());
  return recursive === topLevel ? [recursive] : [recursive, topLevel];
}

export function createNowPaymentsProvider(opts: NowPaymentsProviderOptions): PaymentProvider {
  const apiBase = (opts.apiBase ?? 'https://api.nowpayments.io').replace(/\/+$/, '');
  const timeoutMs = opts.timeoutMs ?? 15_000;

  async function createCheckout(req: CheckoutRequest): Promise<CheckoutSession> {
    if (req.item.kind === 'subscription')
      throw new PaymentProviderError('nowpayments', 'NOWPayments cannot take subscriptions; choose a credit pack or another payment method');
    const currency = req.item.currency.toLowerCase();
    if (NOT_TWO_DECIMALS.has(currency))
      throw new PaymentProviderError('nowpayments', `currency ${currency} is not supported with NOWPayments (only currencies with 2 decimals)`);
    if (!Number.isInteger(req.item.amountMinor) || req.item.amountMinor <= 0)
      throw new PaymentProviderError('nowpayments', `invalid amount ${req.item.amountMinor}`);
    const body = {
      price_amount: req.item.amountMinor / 100,
      price_currency: currency,
      order_id: req.orderId,
      order_description: req.item.name,
      ipn_callback_url: req.webhookUrl,
      success_url: req.successUrl,
      cancel_url: req.cancelUrl,
    };
    const { status, data } = await callJson('nowpayments', 'NOWPayments', {
      url: `${apiBase}/v1/invoice`,
      method: 'POST',
      apiKey: opts.apiKey,
      body,
      timeoutMs,
      detail: (parsed) => parsed.message ?? parsed.code,
    });
    const id = isObj(data) ? idStr(data.id) : undefined;
    const url = isObj(data) ? str(data.invoice_url) : undefined;
    if (!id || !url) throw new PaymentProviderError('nowpayments', 'NOWPayments created an invoice but its answer has no id or invoice_url', { status });
    return { checkoutRef: id, url };
  }

  function verifyWebhook(rawBody: Buffer, headers: Record<string, string | string[] | undefined>): WebhookVerdict {
    const signature = headerValue(headers, 'x-nowpayments-sig');
    if (!signature) return { ok: false, reason: 'missing x-nowpayments-sig header' };
    let body: unknown;
    try {
      body = JSON.parse(rawBody.toString('utf8'));
    } catch {
      return { ok: false, reason: 'body is not JSON' };
    }
    if (!isObj(body)) return { ok: false, reason: 'body is not a JSON object' };
    const valid = nowPaymentsSignedStrings(body).some((s) => hexEqual(createHmac('sha512', opts.ipnSecret).update(s).digest('hex'), signature));
    if (!valid) return { ok: false, reason: 'invalid x-nowpayments-sig (body altered or wrong IPN secret)' };
    const paymentId = idStr(body.payment_id);
    const status = str(body.payment_status);
    if (!paymentId || !status) return { ok: false, reason: 'not a NOWPayments IPN (payment_id and payment_status are required)' };
    const eventId = `${paymentId}:${status}`;
    const orderId = str(body.order_id);
    const checkoutRef = idStr(body.invoice_id) ?? paymentId;
    const priceAmount = num(body.price_amount);
    const currency = str(body.price_currency)?.toLowerCase();
    const money = () => {
      if (priceAmount === undefined || !currency) return undefined;
      return { amountMinor: Math.round(priceAmount * 100), currency };
    };
    const one = (e: PaymentEvent): WebhookVerdict => ({ ok: true, events: [e] });
    switch (status) {
      case 'finished': {
        const m = money();
        if (!m) return { ok: false, reason: 'finished IPN lacks price_amount or price_currency' };
        return one({ type: 'checkout.paid', eventId, ...(orderId ? { orderId } : {}), checkoutRef, paymentRef: paymentId, ...m });
      }
      case 'partially_paid': {
        const m = money();
        const paid = num(body.actually_paid);
        const due = num(body.pay_amount);
        if (!m || paid === undefined || due === undefined || due <= 0)
          return { ok: false, reason: 'partially_paid IPN lacks price_amount, price_currency, actually_paid or pay_amount' };
        // a small epsilon so float noise (0.29999999) does not lose a cent; never above the price
        const paidMinor = Math.max(0, Math.min(m.amountMinor, Math.floor((paid / due) * m.amountMinor + 1e-6)));
        return one({ type: 'checkout.partially_paid', eventId, ...(orderId ? { orderId } : {}), checkoutRef, paymentRef: paymentId, paidMinor, ...m });
      }
      case 'failed':
        return one({ type: 'checkout.failed', eventId, ...(orderId ? { orderId } : {}), checkoutRef });
      case 'expired':
        return one({ type: 'checkout.expired', eventId, ...(orderId ? { orderId } : {}), checkoutRef });
      case 'refunded': {
        const m = money();
        if (!m) return { ok: false, reason: 'refunded IPN lacks price_amount or price_currency' };
        return one({ type: 'payment.refunded', eventId, paymentRef: paymentId, refundedMinor: m.amountMinor, currency: m.currency });
      }
      default:
        // waiting, confirming, confirmed, sending (and any status no documentation lists)
        return one({ type: 'ignored', eventId, providerType: status });
    }
  }

  return {
    id: 'nowpayments',
    supportsSubscriptions: false,
    createCheckout,
    verifyWebhook,
    async refund(): Promise<RefundResult> {
      throw new PaymentProviderError('nowpayments', 'Crypto payments are refunded from the NOWPayments dashboard; its refunded IPN then updates the order.', {
        retryable: false,
      });
    },
    async close() {},
  };
}
