import { createHash, createHmac, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A fake Stripe (docs/provider-apis.md §3 in the shared docs): a real HTTP server on 127.0.0.1
 * that the official `stripe` SDK talks to when given `host`/`port`/`protocol: 'http'`.
 *
 * API (under `/v1/`): bodies and query strings are form-urlencoded with bracket nesting
 * (`line_items[0][price_data][currency]=usd`, `metadata[k]=v`, `expand[]=x`), parsed into nested
 * objects/arrays. Auth is `Authorization: Bearer <secretKey>` (what stripe-node sends: utils.js
 * `'Bearer ' + apiKey`) or HTTP Basic with the key as user (what curl `-u sk_…:` sends). Answers
 * are JSON in Stripe's shapes; errors are `{error:{type, message, code?, param?}}` with 401 (bad
 * or missing key), 400 (invalid params, unknown params, idempotency mismatch), 404 (missing
 * object or route). Unknown top-level parameters are refused like Stripe does ("Received unknown
 * parameter"), so typos in the adapter show up.
 *
 * Routes: `POST /v1/prices`, `GET /v1/prices/:id`, `POST /v1/checkout/sessions` (mode `payment` or
 * `subscription`; each line item is a `price` id or inline `price_data`; subscription mode needs
 * recurring prices, payment mode refuses them), `GET /v1/checkout/sessions/:id`,
 * `POST /v1/checkout/sessions/:id/expire`, `POST /v1/refunds` (by `payment_intent` or `charge`;
 * partial or full; `amount_refunded` on the charge is cumulative; more than what is left is a
 * 400 `charge_already_refunded` / `amount_too_large`), `GET /v1/refunds/:id`,
 * `POST /v1/subscriptions/:id` (`cancel_at_period_end`), `DELETE /v1/subscriptions/:id` (cancel at
 * once), `GET /v1/subscriptions/:id`, `GET /v1/invoices/:id` (`payments` is included only when
 * `expand[]=payments` is asked for, as for includable fields), `GET /v1/charges/:id`,
 * `GET /v1/payment_intents/:id`, `GET /v1/customers/:id`, `GET /v1/events` (`created[gte|gt|lte|lt]`
 * or `created=<ts>`, `type` (with `*` wildcards) or `types[]`, `limit` 1..100 (default 10), `starting_after`, `ending_before`;
 * newest first, `has_more`), `GET /v1/events/:id`.
 *
 * Idempotency (`Idempotency-Key`, POST and DELETE): the first result for a key is stored with
 * the method, path and a hash of the parameters; the same key with the same request replays the
 * stored status and body (header `Idempotent-Replayed: true`, UNCONFIRMED upstream); the same key
 * with other parameters or another endpoint is a 400 `idempotency_error`. As Stripe documents,
 * requests that fail validation (and 401s) are not stored. The SDK sends an auto-generated key
 * (`stripe-node-retry-…`) on every POST that has none; those are unique, so they never collide.
 *
 * Hosted page: a session's `url` is `<fake>/pay/<session id>`. `GET` answers a small HTML page
 * (title "Fake Stripe Checkout", plan name, amount, an email input prefilled with the session's
 * customer_email, buttons "Pay" `data-testid="fake-pay"` and "Decline" `data-testid="fake-decline"`
 * in a form POSTing `outcome=paid|declined&email=…` to `/pay/<id>`). `POST` completes the session
 * and redirects 303 to success_url (with `{CHECKOUT_SESSION_ID}` replaced) or cancel_url.
 * A session that is no longer open answers 410 (page) / 400 (POST).
 *
 * What paying creates and which events go out (in this order):
 * - payment mode: a customer-less payment_intent `pi_…` (metadata from
 *   `payment_intent_data[metadata]`, copied to the charge: UNCONFIRMED upstream) and its charge `ch_…`
 *   (`payment_method_details.card` {brand, last4, fingerprint, …} and Radar's `outcome` {type,
 *   risk_level, risk_score, reason, network_status, seller_message}; a test chooses them through
 *   `completeCheckout`'s `card` / `risk`, else a Visa •• 4242 with a fresh fingerprint and risk
 *   normal); events `charge.succeeded`, `payment_intent.succeeded`,
 *   `checkout.session.completed` (session `status` complete, `payment_status` paid,
 *   `payment_intent` set, `customer_details.email`).
 * - subscription mode: a customer `cus_…`, a subscription `sub_…` (status active, 30-day period,
 *   metadata from `subscription_data[metadata]`), a first invoice `in_…` (billing_reason
 *   `subscription_create`, status paid) with its payment_intent and charge; events
 *   `customer.subscription.created`, `invoice.paid`, `checkout.session.completed` (session
 *   `subscription`, `invoice` and `customer` set, `payment_intent` null).
 * - every charge made (also in subscription mode and renewals) emits `charge.succeeded` first.
 * - `declineCard`: a refused card attempt while the session stays open: `charge.failed` (status
 *   failed, `failure_code` card_declined, `outcome.type` issuer_declined or blocked) and
 *   `payment_intent.payment_failed`.
 * - declined: `checkout.session.async_payment_failed` (session `status` complete, `payment_status`
 *   unpaid). Real Stripe keeps a card decline on the page and only sends this event for delayed
 *   payment methods; the fake sends it so the failure path can be tested.
 *
 * Object shapes follow `apiShape`:
 * - 'current' (default, what stripe@23's pinned API version returns): invoices carry the
 *   subscription at `parent.subscription_details.subscription` and no `payment_intent`;
 *   subscriptions carry their period on `items.data[0].current_period_start/end`.
 * - 'legacy' (API versions before 2025-03-31): invoices carry `subscription` and
 *   `payment_intent`; subscriptions carry `current_period_start/end`.
 * The exact payloads of `invoice.paid`, `charge.refunded`, `customer.subscription.*` and
 * `charge.dispute.created` are UNCONFIRMED beyond "the full object" (provider doc §3); whether
 * `Invoice.payments` can appear in webhook payloads is UNCONFIRMED (the fake never puts it there).
 *
 * Events: every state change stores an event `evt_…` (`object: 'event'`, `api_version`, `created`,
 * `data.object`, `data.previous_attributes` for updates, `livemode: false`, `pending_webhooks`,
 * `request: {id, idempotency_key}`, `type`) listed by `/v1/events`, and POSTs it (pretty JSON, as
 * Stripe does) to the webhook URL with `Stripe-Signature: t=<unix s>,v1=<hex HMAC-SHA256 of
 * "<t>.<body>">` (identical to `stripe.webhooks.generateTestHeaderString`), signed afresh for
 * each attempt. A non-2xx answer or an unreachable receiver is retried (`retryDelaysMs`, default
 * 50/150/400 ms: 4 attempts). Stripe's real schedule (hours, up to 3 days) is not imitated.
 *
 * Controls for tests: `failNext(status, times)` (the next API requests answer that status with
 * `{error:{type:'api_error'|'rate_limit_error'}}`, as a gateway would: not stored under the
 * idempotency key), `completeCheckout`, `expireCheckout`, `renewSubscription`
 * (`invoice.paid` with billing_reason `subscription_cycle`, new invoice, payment_intent and charge,
 * next 30-day period), `endSubscription` (`customer.subscription.deleted`), `refund` (a dashboard
 * refund: `charge.refunded`), `dispute` (`charge.dispute.created`); delivery controls
 * `duplicateNext(n)` (the next event goes out n times concurrently), `hold()` / `release(order)`
 * (queue deliveries, then send them one by one, fifo or reversed), `resend(eventId)`,
 * `sendRaw(body, headers)`, `signature(payload, {secret, timestamp})`, `settled()` (wait for
 * in-flight deliveries), and the `deliveries` log.
 */

export interface FakeStripeOptions {
  port?: number;
  /** the key clients must send (default 'sk_test_fake') */
  secretKey?: string;
  /** signs webhook deliveries (default 'whsec_fake') */
  webhookSecret?: string;
  /** where events are POSTed; unset = events are only stored */
  webhookUrl?: string;
  /** shapes of invoices and subscriptions (see the header comment; default 'current') */
  apiShape?: 'current' | 'legacy';
  /** `api_version` written on events (default '2026-10-28.endive', stripe@23's pinned version) */
  apiVersion?: string;
  /** waits between delivery attempts; attempts = length + 1 (default [50, 150, 400]) */
  retryDelaysMs?: number[];
}

/** A Stripe API object as the fake stores and answers it (mutable; tests may read it). */
export type StripeObject = Record<string, unknown> & { id: string; object: string };

export interface FakeStripeEvent extends StripeObject {
  object: 'event';
  type: string;
  created: number;
  api_version: string;
  data: { object: StripeObject; previous_attributes?: Record<string, unknown> };
}

export interface FakeStripeDelivery {
  eventId: string;
  type: string;
  /** the receiver's HTTP status, 0 when it could not be reached */
  status: number;
  /** the payload sent */
  body: string;
  /** the Stripe-Signature header sent */
  signature: string;
  url: string;
  /** 1 for the first attempt of a delivery */
  attempt: number;
}

export interface FakeStripeRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  /** raw body / query string as received */
  raw: string;
  /** the parsed form parameters (query for GET) */
  params: Record<string, unknown>;
}

/** The card a payment uses; unset fields: a Visa •• 4242 with a fingerprint of its own (a different card each time). */
export interface FakeStripeCard {
  fingerprint?: string;
  brand?: string;
  last4?: string;
}

/** Radar's verdict on a charge: `outcome.risk_level` (default normal), `risk_score`, `type` (default authorized; manual_review when elevated). */
export interface FakeStripeRisk {
  level?: 'normal' | 'elevated' | 'highest' | 'not_assessed';
  score?: number;
  type?: 'authorized' | 'manual_review';
}

export interface FakeStripePrice {
  unitAmount: number;
  currency: string;
  productName: string;
  recurring?: { interval: 'day' | 'week' | 'month' | 'year' };
}

export interface FakeStripe {
  /** base URL (no `/v1`): pass to the adapter as `apiBase` */
  url: string;
  secretKey: string;
  webhookSecret: string;
  readonly webhookUrl: string | undefined;
  setWebhookUrl(url: string | undefined): void;
  /** checkout sessions by id (the stored objects) */
  sessions: Map<string, StripeObject>;
  subscriptions: Map<string, StripeObject>;
  invoices: Map<string, StripeObject>;
  charges: Map<string, StripeObject>;
  paymentIntents: Map<string, StripeObject>;
  /** every event, oldest first */
  events: FakeStripeEvent[];
  /** every webhook delivery attempt, oldest first */
  deliveries: FakeStripeDelivery[];
  /** every API request, oldest first */
  requests: FakeStripeRequest[];
  /** create a Price (same as POST /v1/prices); returns its id `price_…` */
  createPrice(p: FakeStripePrice): string;
  /** what the hosted page does; returns the URL the browser is redirected to */
  completeCheckout(sessionId: string, outcome: 'paid' | 'declined', opts?: { email?: string; card?: FakeStripeCard; risk?: FakeStripeRisk }): string;
  /**
   * A card refused on the hosted page (the session stays open, as on Stripe): a failed charge on the
   * session's payment intent, `charge.failed` and `payment_intent.payment_failed`. `outcome` is the
   * charge's `outcome.type`: `issuer_declined` (default) or `blocked` (Radar).
   */
  declineCard(
    sessionId: string,
    opts?: { card?: FakeStripeCard; outcome?: 'issuer_declined' | 'blocked'; risk?: FakeStripeRisk },
  ): { paymentIntentId: string; chargeId: string };
  /** `checkout.session.expired` */
  expireCheckout(sessionId: string): void;
  /** the next period: `invoice.paid` (subscription_cycle); returns the new invoice */
  renewSubscription(subId: string): { invoiceId: string; paymentIntentId: string; chargeId: string };
  /** `customer.subscription.deleted` */
  endSubscription(subId: string): void;
  /** a dashboard refund (the whole remainder by default): `charge.refunded`; returns the refund id */
  refund(paymentIntent: string, amount?: number): string;
  /** `charge.dispute.created` for the whole charge; returns the dispute id */
  dispute(paymentIntent: string): string;
  /** the next `times` API requests answer `status` (e.g. 500, 503, 429) before auth or idempotency: nothing is stored */
  failNext(status: number, times?: number): void;
  /** the next emitted event is delivered n times, concurrently */
  duplicateNext(n: number): void;
  /** queue deliveries until `release` */
  hold(): void;
  /** send the queued deliveries one after the other; resolves when all are done */
  release(order?: 'fifo' | 'reverse'): Promise<void>;
  /** deliver a stored event again (one attempt series, not held) */
  resend(eventId: string): Promise<FakeStripeDelivery>;
  /** POST an arbitrary body to the webhook URL */
  sendRaw(body: string, headers: Record<string, string>): Promise<{ status: number; body: string }>;
  /** a `Stripe-Signature` header for a payload (default: the webhook secret, now) */
  signature(payload: string, opts?: { secret?: string; timestamp?: number }): string;
  /** resolves when no delivery is in flight */
  settled(): Promise<void>;
  close(): Promise<void>;
}

const DAY = 86_400;
const PERIOD_DAYS = 30;

class StripeApiError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
    readonly extra: { code?: string; param?: string } = {},
    /** validation errors are not stored under an idempotency key */
    readonly validation = true,
  ) {
    super(message);
  }
}

const invalid = (message: string, param?: string, code = 'parameter_invalid') =>
  new StripeApiError(400, 'invalid_request_error', message, { code, ...(param ? { param } : {}) });
const missing = (param: string) => invalid(`Missing required param: ${param}.`, param, 'parameter_missing');
const notFound = (kind: string, id: string, param = 'id') =>
  new StripeApiError(404, 'invalid_request_error', `No such ${kind}: '${id}'`, { code: 'resource_missing', param }, false);

// --- form encoding ------------------------------------------------------------------------------

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * Parse `application/x-www-form-urlencoded` with bracket nesting: `a[b][0][c]=v` -> `{a:{b:[{c:'v'}]}}`,
 * `a[]=x&a[]=y` -> `{a:['x','y']}`. Objects whose keys are all indices become arrays (in index order).
 */
export function parseStripeForm(raw: string): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  for (const [key, value] of new URLSearchParams(raw)) {
    const m = /^([^[\]]+)((?:\[[^[\]]*\])*)$/.exec(key);
    const path = m ? [m[1]!, ...[...m[2]!.matchAll(/\[([^[\]]*)\]/g)].map((x) => x[1]!)] : [key];
    if (path.some((p) => FORBIDDEN_KEYS.has(p))) continue;
    let node: Record<string, unknown> = root;
    for (let i = 0; i < path.length; i++) {
      let seg = path[i]!;
      if (seg === '') seg = String(Object.keys(node).filter((k) => /^\d+$/.test(k)).length);
      if (i === path.length - 1) {
        node[seg] = value;
      } else {
        const next = node[seg];
        if (next === null || typeof next !== 'object') node[seg] = {};
        node = node[seg] as Record<string, unknown>;
      }
    }
  }
  const arrays = (v: unknown): unknown => {
    if (v === null || typeof v !== 'object') return v;
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o);
    for (const k of keys) o[k] = arrays(o[k]);
    if (keys.length > 0 && keys.every((k) => /^\d+$/.test(k)))
      return keys
        .map(Number)
        .sort((a, b) => a - b)
        .map((k) => o[String(k)]);
    return o;
  };
  return arrays(root) as Record<string, unknown>;
}

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const now = () => Math.floor(Date.now() / 1000);
const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const formatAmount = (minor: number, currency: string) => `${(minor / 100).toFixed(2)} ${currency.toUpperCase()}`;

/** A form value as Stripe quotes it in an error: text as sent, a nested value as JSON. */
const shown = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));

function intParam(v: unknown, param: string, opts: { required?: boolean; min?: number } = {}): number | undefined {
  if (v === undefined || v === '') {
    if (opts.required) throw missing(param);
    return undefined;
  }
  if (typeof v !== 'string' || !/^-?\d+$/.test(v)) throw invalid(`Invalid integer: ${shown(v)}`, param, 'parameter_invalid_integer');
  const n = Number(v);
  if (opts.min !== undefined && n < opts.min) throw invalid(`This value must be greater than or equal to ${opts.min}.`, param);
  return n;
}

function boolParam(v: unknown, param: string): boolean | undefined {
  if (v === undefined) return undefined;
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw invalid(`Invalid boolean: ${shown(v)}`, param);
}

function metadataParam(v: unknown, param: string): Record<string, string> {
  if (v === undefined || v === '') return {};
  if (!isRecord(v)) throw invalid('Invalid hash', param);
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v)) {
    if (typeof val !== 'string') throw invalid('Invalid metadata value', `${param}[${k}]`);
    out[k] = val;
  }
  return out;
}

function onlyKnown(params: Record<string, unknown>, allowed: readonly string[]) {
  for (const k of Object.keys(params)) if (!allowed.includes(k)) throw invalid(`Received unknown parameter: ${k}`, k, 'parameter_unknown');
}

/** Stable hash of parameters (key order does not matter). */
function paramsHash(v: unknown): string {
  const canon = (x: unknown): unknown =>
    isRecord(x)
      ? Object.fromEntries(
          Object.keys(x)
            .sort()
            .map((k) => [k, canon(x[k])]),
        )
      : Array.isArray(x)
        ? x.map(canon)
        : x;
  return createHash('sha256')
    .update(JSON.stringify(canon(v)))
    .digest('hex');
}

const SESSION_PARAMS = [
  'mode',
  'line_items',
  'success_url',
  'cancel_url',
  'client_reference_id',
  'metadata',
  'customer',
  'customer_email',
  'payment_intent_data',
  'subscription_data',
  'expires_at',
  'payment_method_types',
  'allow_promotion_codes',
  'locale',
  'customer_creation',
  'billing_address_collection',
  'expand',
  'automatic_tax',
  'ui_mode',
] as const;
const REFUND_PARAMS = ['payment_intent', 'charge', 'amount', 'reason', 'metadata', 'refund_application_fee', 'reverse_transfer', 'expand'] as const;
const REFUND_REASONS = ['duplicate', 'fraudulent', 'requested_by_customer'];

interface Price {
  id: string;
  unitAmount: number;
  currency: string;
  productName: string;
  recurring: { interval: 'day' | 'week' | 'month' | 'year' } | null;
}

interface SessionLine {
  price: Price;
  quantity: number;
}

interface IdemEntry {
  method: string;
  path: string;
  hash: string;
  status: number;
  body: string;
}

/** Start a fake Stripe on 127.0.0.1 (a random port unless `port` is given). */
export async function startFakeStripe(opts: FakeStripeOptions = {}): Promise<FakeStripe> {
  const secretKey = opts.secretKey ?? 'sk_test_fake';
  const webhookSecret = opts.webhookSecret ?? 'whsec_fake';
  const apiShape = opts.apiShape ?? 'current';
  const apiVersion = opts.apiVersion ?? '2026-10-28.endive';
  const retryDelays = opts.retryDelaysMs ?? [50, 150, 400];
  let webhookUrl = opts.webhookUrl;
  let base = '';

  const prices = new Map<string, Price>();
  const sessionLines = new Map<string, SessionLine[]>();
  const sessions = new Map<string, StripeObject>();
  const subscriptions = new Map<string, StripeObject>();
  const invoices = new Map<string, StripeObject>();
  const charges = new Map<string, StripeObject>();
  const paymentIntents = new Map<string, StripeObject>();
  const refunds = new Map<string, StripeObject>();
  const customers = new Map<string, StripeObject>();
  const disputes = new Map<string, StripeObject>();
  /** per session: metadata for the objects paying creates (not part of the Session object) */
  const session_extra = new Map<string, { piMetadata: Record<string, string>; subMetadata: Record<string, string> }>();
  /** invoice id -> its payment intent (for `expand[]=payments`) */
  const invoicePayments = new Map<string, string>();
  const events: FakeStripeEvent[] = [];
  const deliveries: FakeStripeDelivery[] = [];
  const requests: FakeStripeRequest[] = [];
  const idempotency = new Map<string, IdemEntry>();
  const inFlight = new Set<Promise<unknown>>();
  const closing = new AbortController();
  let closed = false;
  // read through a function after an await: TypeScript keeps the narrowing from before it, but close() may have run since
  const isClosed = () => closed;
  let duplicates = 0;
  /** statuses the next API requests answer (failNext) */
  const failures: number[] = [];
  let holding = false;
  const held: FakeStripeEvent[] = [];

  const newId = (prefix: string) => `${prefix}_${randomBytes(12).toString('base64url').replace(/[-_]/g, 'x')}`;

  // --- events and deliveries --------------------------------------------------------------------

  /** the request that caused the current change (set while an API call runs) */
  let currentRequest: { id: string | null; idempotency_key: string | null } = { id: null, idempotency_key: null };

  function emit(type: string, object: StripeObject, previous?: Record<string, unknown>): FakeStripeEvent {
    const evt: FakeStripeEvent = {
      id: newId('evt'),
      object: 'event',
      api_version: apiVersion,
      created: now(),
      data: { object: structuredClone(object), ...(previous ? { previous_attributes: previous } : {}) },
      livemode: false,
      pending_webhooks: webhookUrl ? 1 : 0,
      request: { ...currentRequest },
      type,
    };
    events.push(evt);
    dispatch(evt);
    return evt;
  }

  function track<T>(p: Promise<T>): Promise<T> {
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p)).catch(() => undefined);
    return p;
  }

  function dispatch(evt: FakeStripeEvent) {
    if (!webhookUrl) return;
    if (holding) return void held.push(evt);
    const n = Math.max(1, duplicates);
    duplicates = 0;
    for (let i = 0; i < n; i++) void track(deliver(evt));
  }

  function sign(payload: string, secret = webhookSecret, timestamp = now()) {
    return `t=${timestamp},v1=${createHmac('sha256', secret).update(`${timestamp}.${payload}`, 'utf8').digest('hex')}`;
  }

  async function post(url: string, body: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
    try {
      const res = await fetch(url, { method: 'POST', body, headers, signal: AbortSignal.any([closing.signal, AbortSignal.timeout(10_000)]) });
      return { status: res.status, body: await res.text() };
    } catch {
      return { status: 0, body: '' };
    }
  }

  /** one delivery: attempts until a 2xx or the retries run out; resolves with the last attempt */
  async function deliver(evt: FakeStripeEvent): Promise<FakeStripeDelivery> {
    const payload = JSON.stringify(evt, null, 2);
    let last: FakeStripeDelivery | undefined;
    for (let attempt = 1; attempt <= retryDelays.length + 1; attempt++) {
      const url = webhookUrl;
      if (!url || closed) break;
      const signature = sign(payload);
      const res = await post(url, payload, {
        'content-type': 'application/json; charset=utf-8',
        'user-agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)',
        'stripe-signature': signature,
      });
      last = { eventId: evt.id, type: evt.type, status: res.status, body: payload, signature, url, attempt };
      if (!isClosed()) deliveries.push(last);
      if (res.status >= 200 && res.status < 300) break;
      if (attempt <= retryDelays.length) await new Promise((r) => setTimeout(r, retryDelays[attempt - 1]));
    }
    return last ?? { eventId: evt.id, type: evt.type, status: 0, body: payload, signature: '', url: webhookUrl ?? '', attempt: 0 };
  }

  // --- object factories -------------------------------------------------------------------------

  function createPrice(p: FakeStripePrice): string {
    const id = newId('price');
    prices.set(id, { id, unitAmount: p.unitAmount, currency: p.currency.toLowerCase(), productName: p.productName, recurring: p.recurring ?? null });
    return id;
  }

  function priceJson(p: Price): StripeObject {
    return {
      id: p.id,
      object: 'price',
      active: true,
      currency: p.currency,
      unit_amount: p.unitAmount,
      product: `prod_${p.id.slice(6)}`,
      recurring: p.recurring ? { interval: p.recurring.interval, interval_count: 1, usage_type: 'licensed' } : null,
      type: p.recurring ? 'recurring' : 'one_time',
      livemode: false,
    };
  }

  /** `payment_method_details` and `outcome` of a charge paid (or declined) with `card` */
  function cardFacts(card: FakeStripeCard | undefined, risk: FakeStripeRisk | undefined, failed: 'issuer_declined' | 'blocked' | null) {
    const c = { brand: 'visa', last4: '4242', fingerprint: randomBytes(8).toString('hex'), ...card };
    const level = risk?.level ?? (failed === 'blocked' ? 'highest' : 'normal');
    const type = failed ?? risk?.type ?? (level === 'elevated' ? 'manual_review' : 'authorized');
    return {
      payment_method: newId('pm'),
      payment_method_details: {
        type: 'card',
        card: { brand: c.brand, last4: c.last4, fingerprint: c.fingerprint, exp_month: 12, exp_year: 2030, country: 'US', funding: 'credit' },
      },
      outcome: {
        network_status: failed === 'blocked' ? 'not_sent_to_network' : failed ? 'declined_by_network' : 'approved_by_network',
        reason:
          failed === 'blocked'
            ? 'highest_risk_level'
            : failed
              ? 'generic_decline'
              : level === 'elevated' && type === 'manual_review'
                ? 'elevated_risk_level'
                : null,
        risk_level: level,
        risk_score: risk?.score ?? (level === 'highest' ? 85 : level === 'elevated' ? 65 : 20),
        seller_message:
          failed === 'blocked'
            ? 'Stripe blocked this payment as too risky.'
            : failed
              ? 'The bank did not return any further details with this decline.'
              : 'Payment complete.',
        type,
      },
    };
  }

  function payment(
    amount: number,
    currency: string,
    metadata: Record<string, string>,
    customer: string | null,
    email: string | null,
    facts: { card?: FakeStripeCard; risk?: FakeStripeRisk } = {},
  ) {
    const piId = newId('pi');
    const chId = newId('ch');
    const created = now();
    const charge: StripeObject = {
      id: chId,
      object: 'charge',
      amount,
      amount_captured: amount,
      amount_refunded: 0,
      captured: true,
      created,
      currency,
      customer,
      billing_details: { email },
      disputed: false,
      failure_code: null,
      failure_message: null,
      livemode: false,
      metadata,
      paid: true,
      payment_intent: piId,
      refunded: false,
      status: 'succeeded',
      ...cardFacts(facts.card, facts.risk, null),
    };
    const pi: StripeObject = {
      id: piId,
      object: 'payment_intent',
      amount,
      amount_received: amount,
      created,
      currency,
      customer,
      latest_charge: chId,
      livemode: false,
      metadata,
      receipt_email: email,
      status: 'succeeded',
    };
    charges.set(chId, charge);
    paymentIntents.set(piId, pi);
    emit('charge.succeeded', charge);
    return { pi, charge };
  }

  function declineCard(sessionId: string, o: { card?: FakeStripeCard; outcome?: 'issuer_declined' | 'blocked'; risk?: FakeStripeRisk } = {}) {
    const s = sessions.get(sessionId);
    if (!s) throw notFound('checkout.session', sessionId);
    if (s.status !== 'open') throw invalid(`This Checkout Session is no longer active (status ${String(s.status)}).`, undefined, 'checkout_session_inactive');
    const extra = session_extra.get(sessionId)!;
    const currency = String(s.currency);
    const amount = Number(s.amount_total);
    const email = str(s.customer_email) ?? null;
    const metadata = s.mode === 'payment' ? extra.piMetadata : {};
    // one payment intent per session, as Checkout does: each attempt is a new charge on it
    let piId = str(s.payment_intent);
    const created = now();
    const chId = newId('ch');
    const declined = o.outcome ?? 'issuer_declined';
    const charge: StripeObject = {
      id: chId,
      object: 'charge',
      amount,
      amount_captured: 0,
      amount_refunded: 0,
      captured: false,
      created,
      currency,
      customer: str(s.customer) ?? null,
      billing_details: { email },
      disputed: false,
      failure_code: 'card_declined',
      failure_message: 'Your card was declined.',
      livemode: false,
      metadata,
      paid: false,
      payment_intent: null as string | null,
      refunded: false,
      status: 'failed',
      ...cardFacts(o.card, o.risk, declined),
    };
    if (!piId) {
      piId = newId('pi');
      paymentIntents.set(piId, {
        id: piId,
        object: 'payment_intent',
        amount,
        amount_received: 0,
        created,
        currency,
        customer: str(s.customer) ?? null,
        latest_charge: chId,
        livemode: false,
        metadata,
        receipt_email: email,
        status: 'requires_payment_method',
      });
      if (s.mode === 'payment') s.payment_intent = piId;
    }
    const pi = paymentIntents.get(piId)!;
    Object.assign(pi, { latest_charge: chId, last_payment_error: { type: 'card_error', code: 'card_declined', message: 'Your card was declined.' } });
    charge.payment_intent = piId;
    charges.set(chId, charge);
    emit('charge.failed', charge);
    emit('payment_intent.payment_failed', pi);
    return { paymentIntentId: piId, chargeId: chId };
  }

  function invoiceFor(
    sub: StripeObject,
    billingReason: 'subscription_create' | 'subscription_cycle',
    start: number,
    end: number,
    amount: number,
    currency: string,
    piId: string,
    email: string | null,
  ): StripeObject {
    const id = newId('in');
    const lineId = newId('il');
    const inv: StripeObject = {
      id,
      object: 'invoice',
      amount_due: amount,
      amount_paid: amount,
      amount_remaining: 0,
      billing_reason: billingReason,
      created: now(),
      currency,
      customer: sub.customer,
      customer_email: email,
      lines: {
        object: 'list',
        data: [{ id: lineId, object: 'line_item', amount, currency, period: { start, end }, quantity: 1 }],
        has_more: false,
        url: `/v1/invoices/${id}/lines`,
      },
      livemode: false,
      metadata: {},
      paid: true,
      period_start: start,
      period_end: end,
      status: 'paid',
      status_transitions: { paid_at: now() },
      ...(apiShape === 'legacy'
        ? { subscription: sub.id, payment_intent: piId, charge: paymentIntents.get(piId)?.latest_charge ?? null }
        : { parent: { type: 'subscription_details', quote_details: null, subscription_details: { metadata: sub.metadata, subscription: sub.id } } }),
    };
    invoices.set(id, inv);
    invoicePayments.set(id, piId);
    const pi = paymentIntents.get(piId);
    if (pi && apiShape === 'legacy') pi.invoice = id;
    return inv;
  }

  function setPeriod(sub: StripeObject, start: number, end: number) {
    if (apiShape === 'legacy') {
      sub.current_period_start = start;
      sub.current_period_end = end;
    }
    const items = sub.items as { data: Record<string, unknown>[] };
    for (const item of items.data) {
      item.current_period_start = start;
      item.current_period_end = end;
    }
  }

  const periodEndOf = (sub: StripeObject): number => {
    const item = (sub.items as { data: Record<string, unknown>[] }).data[0];
    return Number(sub.current_period_end ?? item?.current_period_end ?? 0);
  };

  // --- checkout ---------------------------------------------------------------------------------

  function createSession(p: Record<string, unknown>): StripeObject {
    onlyKnown(p, SESSION_PARAMS);
    const mode = str(p.mode);
    if (!mode) throw missing('mode');
    if (mode !== 'payment' && mode !== 'subscription') {
      if (mode === 'setup') throw invalid('The fake does not support mode `setup`.', 'mode');
      throw invalid(`Invalid mode: must be one of payment, setup, or subscription`, 'mode');
    }
    const successUrl = str(p.success_url);
    if (!successUrl) throw missing('success_url');
    if (!/^https?:\/\//.test(successUrl)) throw invalid('Not a valid URL', 'success_url', 'url_invalid');
    const cancelUrl = str(p.cancel_url);
    if (cancelUrl !== undefined && !/^https?:\/\//.test(cancelUrl)) throw invalid('Not a valid URL', 'cancel_url', 'url_invalid');
    const items = p.line_items;
    if (items === undefined) throw missing('line_items');
    if (!Array.isArray(items) || items.length === 0) throw invalid('line_items must be a non-empty list', 'line_items');
    const lines: SessionLine[] = items.map((raw, i) => {
      const param = `line_items[${i}]`;
      if (!isRecord(raw)) throw invalid('Invalid line item', param);
      onlyKnown(raw, ['price', 'price_data', 'quantity', 'adjustable_quantity', 'tax_rates']);
      const quantity = intParam(raw.quantity, `${param}[quantity]`, { min: 1 }) ?? 1;
      let price: Price;
      if (raw.price !== undefined) {
        if (raw.price_data !== undefined) throw invalid('You may only specify one of these parameters: price, price_data.', `${param}[price]`);
        const id = str(raw.price) ?? '';
        const found = prices.get(id);
        if (!found) throw invalid(`No such price: '${id}'`, `${param}[price]`, 'resource_missing');
        price = found;
      } else if (isRecord(raw.price_data)) {
        const pd = raw.price_data;
        const pp = `${param}[price_data]`;
        onlyKnown(pd, ['currency', 'unit_amount', 'unit_amount_decimal', 'product', 'product_data', 'recurring', 'tax_behavior']);
        const currency = str(pd.currency);
        if (!currency) throw missing(`${pp}[currency]`);
        if (!/^[a-z]{3}$/.test(currency)) throw invalid(`Invalid currency: ${currency}`, `${pp}[currency]`);
        const unitAmount = intParam(pd.unit_amount, `${pp}[unit_amount]`, { required: true, min: 0 })!;
        const pdata = pd.product_data;
        const name = isRecord(pdata) ? str(pdata.name) : undefined;
        if (!name && !str(pd.product)) throw missing(`${pp}[product_data][name]`);
        let recurring: Price['recurring'] = null;
        if (pd.recurring !== undefined) {
          const interval = isRecord(pd.recurring) ? str(pd.recurring.interval) : undefined;
          if (!interval) throw missing(`${pp}[recurring][interval]`);
          if (!['day', 'week', 'month', 'year'].includes(interval)) throw invalid(`Invalid interval: ${interval}`, `${pp}[recurring][interval]`);
          recurring = { interval: interval as 'day' | 'week' | 'month' | 'year' };
        }
        price = { id: newId('price'), unitAmount, currency, productName: name ?? str(pd.product)!, recurring };
      } else {
        throw invalid('You must specify either `price` or `price_data` for each line item.', `${param}[price]`, 'parameter_missing');
      }
      if (mode === 'subscription' && !price.recurring)
        throw invalid('You must provide at least one recurring price in `subscription` mode when using prices.', `${param}[price]`);
      if (mode === 'payment' && price.recurring)
        throw invalid(
          'You specified `payment` mode but passed a recurring price. Either switch to `subscription` mode or use only one-time prices.',
          `${param}[price]`,
        );
      return { price, quantity };
    });
    const currency = lines[0]!.price.currency;
    if (lines.some((l) => l.price.currency !== currency)) throw invalid('All line items must use the same currency', 'line_items');
    if (p.payment_intent_data !== undefined && mode !== 'payment')
      throw invalid('You can not pass `payment_intent_data` in `subscription` mode.', 'payment_intent_data');
    if (p.subscription_data !== undefined && mode !== 'subscription')
      throw invalid('You can only pass in `subscription_data` in `subscription` mode.', 'subscription_data');
    const email = str(p.customer_email);
    if (email !== undefined && !/^[^@\s]+@[^@\s]+$/.test(email)) throw invalid('Invalid email address: ' + email, 'customer_email', 'email_invalid');
    const pid = isRecord(p.payment_intent_data) ? p.payment_intent_data : {};
    const sd = isRecord(p.subscription_data) ? p.subscription_data : {};
    const id = `cs_test_${randomBytes(24).toString('base64url').replace(/[-_]/g, 'x')}`;
    const created = now();
    const expiresAt = intParam(p.expires_at, 'expires_at') ?? created + DAY;
    const amount = lines.reduce((s, l) => s + l.price.unitAmount * l.quantity, 0);
    const session: StripeObject = {
      id,
      object: 'checkout.session',
      amount_subtotal: amount,
      amount_total: amount,
      cancel_url: cancelUrl ?? null,
      client_reference_id: str(p.client_reference_id) ?? null,
      created,
      currency,
      customer: str(p.customer) ?? null,
      customer_details: null,
      customer_email: email ?? null,
      expires_at: expiresAt,
      invoice: null,
      livemode: false,
      metadata: metadataParam(p.metadata, 'metadata'),
      mode,
      payment_intent: null,
      payment_status: 'unpaid',
      status: 'open',
      subscription: null,
      success_url: successUrl,
      url: `${base}/pay/${id}`,
    };
    sessions.set(id, session);
    sessionLines.set(id, lines);
    session_extra.set(id, {
      piMetadata: metadataParam(pid.metadata, 'payment_intent_data[metadata]'),
      subMetadata: metadataParam(sd.metadata, 'subscription_data[metadata]'),
    });
    return session;
  }
  function redirectUrl(template: string, id: string) {
    return template.split('{CHECKOUT_SESSION_ID}').join(id);
  }

  function completeCheckout(sessionId: string, outcome: 'paid' | 'declined', o: { email?: string; card?: FakeStripeCard; risk?: FakeStripeRisk } = {}): string {
    const s = sessions.get(sessionId);
    if (!s) throw notFound('checkout.session', sessionId);
    if (s.status !== 'open') throw invalid(`This Checkout Session is no longer active (status ${String(s.status)}).`, undefined, 'checkout_session_inactive');
    if (Number(s.expires_at) < now()) {
      expireCheckout(sessionId);
      throw invalid('This Checkout Session has expired.', undefined, 'checkout_session_expired');
    }
    const email = o.email || str(s.customer_email) || 'buyer@example.com';
    const currency = String(s.currency);
    const amount = Number(s.amount_total);
    const extra = session_extra.get(sessionId)!;
    if (outcome === 'declined') {
      Object.assign(s, { status: 'complete', payment_status: 'unpaid', customer_details: { email } });
      emit('checkout.session.async_payment_failed', s);
      return redirectUrl(String(s.cancel_url ?? s.success_url), sessionId);
    }
    if (s.mode === 'payment') {
      const { pi } = payment(amount, currency, extra.piMetadata, str(s.customer) ?? null, email, o);
      Object.assign(s, { status: 'complete', payment_status: 'paid', payment_intent: pi.id, customer_details: { email } });
      emit('payment_intent.succeeded', pi);
      emit('checkout.session.completed', s);
    } else {
      let customerId = str(s.customer);
      if (!customerId) {
        customerId = newId('cus');
        customers.set(customerId, { id: customerId, object: 'customer', email, created: now(), livemode: false, metadata: {} });
      }
      const start = now();
      const end = start + PERIOD_DAYS * DAY;
      const lines = sessionLines.get(sessionId)!;
      const subId = newId('sub');
      const sub: StripeObject = {
        id: subId,
        object: 'subscription',
        cancel_at: null,
        cancel_at_period_end: false,
        canceled_at: null,
        created: start,
        currency,
        customer: customerId,
        ended_at: null,
        items: {
          object: 'list',
          data: lines.map((l) => ({ id: newId('si'), object: 'subscription_item', price: priceJson(l.price), quantity: l.quantity })),
          has_more: false,
          url: `/v1/subscription_items?subscription=${subId}`,
        },
        latest_invoice: null,
        livemode: false,
        metadata: extra.subMetadata,
        start_date: start,
        status: 'active',
      };
      setPeriod(sub, start, end);
      subscriptions.set(subId, sub);
      const { pi } = payment(amount, currency, {}, customerId, email, o);
      const inv = invoiceFor(sub, 'subscription_create', start, end, amount, currency, pi.id, email);
      sub.latest_invoice = inv.id;
      Object.assign(s, { status: 'complete', payment_status: 'paid', customer: customerId, subscription: subId, invoice: inv.id, customer_details: { email } });
      emit('customer.subscription.created', sub);
      emit('invoice.paid', inv);
      emit('checkout.session.completed', s);
    }
    return redirectUrl(String(s.success_url), sessionId);
  }

  function expireCheckout(sessionId: string) {
    const s = sessions.get(sessionId);
    if (!s) throw notFound('checkout.session', sessionId);
    if (s.status !== 'open') throw invalid(`Only Checkout Sessions with a status of open can be expired.`, undefined, 'checkout_session_inactive');
    Object.assign(s, { status: 'expired' });
    emit('checkout.session.expired', s);
  }

  // --- subscriptions ----------------------------------------------------------------------------

  function getSub(subId: string): StripeObject {
    const sub = subscriptions.get(subId);
    if (!sub) throw notFound('subscription', subId);
    return sub;
  }

  function renewSubscription(subId: string) {
    const sub = getSub(subId);
    if (sub.status !== 'active') throw invalid(`Subscription ${subId} is ${String(sub.status)}`);
    const start = periodEndOf(sub);
    const end = start + PERIOD_DAYS * DAY;
    const items = (sub.items as { data: { price: { unit_amount: number }; quantity: number }[] }).data;
    const amount = items.reduce((s, i) => s + i.price.unit_amount * i.quantity, 0);
    const currency = String(sub.currency);
    const customer = customers.get(String(sub.customer));
    const email = str(customer?.email) ?? null;
    const { pi, charge } = payment(amount, currency, {}, String(sub.customer), email);
    setPeriod(sub, start, end);
    const inv = invoiceFor(sub, 'subscription_cycle', start, end, amount, currency, pi.id, email);
    sub.latest_invoice = inv.id;
    emit('invoice.paid', inv);
    return { invoiceId: inv.id, paymentIntentId: pi.id, chargeId: charge.id };
  }

  function updateSubscription(subId: string, p: Record<string, unknown>): StripeObject {
    const sub = getSub(subId);
    onlyKnown(p, ['cancel_at_period_end', 'metadata', 'expand', 'proration_behavior']);
    if (sub.status === 'canceled') throw invalid('A canceled subscription can only update its cancellation_details and metadata.', 'cancel_at_period_end');
    const previous: Record<string, unknown> = {};
    const cape = boolParam(p.cancel_at_period_end, 'cancel_at_period_end');
    if (cape !== undefined && cape !== sub.cancel_at_period_end) {
      previous.cancel_at_period_end = sub.cancel_at_period_end;
      previous.cancel_at = sub.cancel_at;
      previous.canceled_at = sub.canceled_at;
      sub.cancel_at_period_end = cape;
      sub.cancel_at = cape ? periodEndOf(sub) : null;
      sub.canceled_at = cape ? now() : null;
    }
    if (p.metadata !== undefined) {
      previous.metadata = sub.metadata;
      sub.metadata = { ...(sub.metadata as Record<string, string>), ...metadataParam(p.metadata, 'metadata') };
    }
    if (Object.keys(previous).length) emit('customer.subscription.updated', sub, previous);
    return sub;
  }

  function endSubscription(subId: string): StripeObject {
    const sub = getSub(subId);
    if (sub.status === 'canceled') throw invalid(`No such subscription: '${subId}' is already canceled`, 'id', 'resource_missing');
    const t = now();
    Object.assign(sub, { status: 'canceled', ended_at: t, canceled_at: sub.canceled_at ?? t });
    emit('customer.subscription.deleted', sub);
    return sub;
  }

  // --- refunds and disputes ---------------------------------------------------------------------

  function chargeOfIntent(pi: string, param = 'payment_intent'): StripeObject {
    const intent = paymentIntents.get(pi);
    if (!intent) throw invalid(`No such payment_intent: '${pi}'`, param, 'resource_missing');
    return charges.get(String(intent.latest_charge))!;
  }

  function createRefund(charge: StripeObject, amount: number | undefined, reason: string | undefined, metadata: Record<string, string>): StripeObject {
    const left = Number(charge.amount) - Number(charge.amount_refunded);
    if (left <= 0)
      throw new StripeApiError(400, 'invalid_request_error', `Charge ${charge.id} has already been refunded.`, { code: 'charge_already_refunded' }, false);
    const value = amount ?? left;
    if (value > left)
      throw new StripeApiError(
        400,
        'invalid_request_error',
        `Refund amount (${formatAmount(value, String(charge.currency))}) is greater than unrefunded amount on charge (${formatAmount(left, String(charge.currency))})`,
        { code: 'amount_too_large', param: 'amount' },
        false,
      );
    const refund: StripeObject = {
      id: newId('re'),
      object: 'refund',
      amount: value,
      charge: charge.id,
      created: now(),
      currency: charge.currency,
      metadata,
      payment_intent: charge.payment_intent,
      reason: reason ?? null,
      status: 'succeeded',
    };
    refunds.set(refund.id, refund);
    const previous = { amount_refunded: charge.amount_refunded, refunded: charge.refunded };
    charge.amount_refunded = Number(charge.amount_refunded) + value;
    charge.refunded = charge.amount_refunded === charge.amount;
    emit('charge.refunded', charge, previous);
    return refund;
  }

  function apiRefund(p: Record<string, unknown>): StripeObject {
    onlyKnown(p, REFUND_PARAMS);
    const piId = str(p.payment_intent);
    const chId = str(p.charge);
    if (!piId && !chId)
      throw invalid('One of the following params should be provided for this request: payment_intent or charge.', 'payment_intent', 'parameter_missing');
    const amount = intParam(p.amount, 'amount', { min: 1 });
    const reason = str(p.reason);
    if (reason !== undefined && !REFUND_REASONS.includes(reason)) throw invalid(`Invalid reason: must be one of ${REFUND_REASONS.join(', ')}`, 'reason');
    let charge: StripeObject;
    if (chId) {
      const c = charges.get(chId);
      if (!c) throw invalid(`No such charge: '${chId}'`, 'charge', 'resource_missing');
      charge = c;
    } else charge = chargeOfIntent(piId!);
    return createRefund(charge, amount, reason, metadataParam(p.metadata, 'metadata'));
  }

  function dispute(pi: string): string {
    const charge = chargeOfIntent(pi);
    const d: StripeObject = {
      id: newId('dp'),
      object: 'dispute',
      amount: Number(charge.amount) - Number(charge.amount_refunded),
      charge: charge.id,
      created: now(),
      currency: charge.currency,
      livemode: false,
      metadata: {},
      payment_intent: pi,
      reason: 'fraudulent',
      status: 'needs_response',
    };
    disputes.set(d.id, d);
    charge.disputed = true;
    emit('charge.dispute.created', d);
    return d.id;
  }

  // --- events list ------------------------------------------------------------------------------

  function listEvents(q: Record<string, unknown>) {
    onlyKnown(q, ['created', 'limit', 'starting_after', 'ending_before', 'type', 'types', 'delivery_success', 'expand']);
    const limit = intParam(q.limit, 'limit') ?? 10;
    if (limit < 1 || limit > 100) throw invalid('This value must be between 1 and 100.', 'limit');
    let list = [...events].reverse(); // newest first
    const c = q.created;
    if (typeof c === 'string') {
      const t = intParam(c, 'created')!;
      list = list.filter((e) => e.created === t);
    } else if (isRecord(c)) {
      const bound = (k: string) => intParam(c[k], `created[${k}]`);
      const [gte, gt, lte, lt] = [bound('gte'), bound('gt'), bound('lte'), bound('lt')];
      list = list.filter(
        (e) =>
          (gte === undefined || e.created >= gte) &&
          (gt === undefined || e.created > gt) &&
          (lte === undefined || e.created <= lte) &&
          (lt === undefined || e.created < lt),
      );
    }
    if (q.types !== undefined) {
      if (!Array.isArray(q.types) || q.types.length > 20) throw invalid('types must be a list of at most 20 event types', 'types');
      if (q.type !== undefined) throw invalid('You may only specify one of these parameters: type, types.', 'types');
      const types = q.types.map(String);
      list = list.filter((e) => types.includes(e.type));
    }
    const type = str(q.type);
    if (type) {
      const re = new RegExp(`^${type.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);
      list = list.filter((e) => re.test(e.type));
    }
    const after = str(q.starting_after);
    const before = str(q.ending_before);
    if (after) {
      const i = list.findIndex((e) => e.id === after);
      if (i < 0) throw invalid(`No such event: '${after}'`, 'starting_after', 'resource_missing');
      list = list.slice(i + 1);
      return { object: 'list', data: list.slice(0, limit), has_more: list.length > limit, url: '/v1/events' };
    }
    if (before) {
      const i = list.findIndex((e) => e.id === before);
      if (i < 0) throw invalid(`No such event: '${before}'`, 'ending_before', 'resource_missing');
      list = list.slice(0, i);
      return { object: 'list', data: list.slice(Math.max(0, list.length - limit)), has_more: list.length > limit, url: '/v1/events' };
    }
    return { object: 'list', data: list.slice(0, limit), has_more: list.length > limit, url: '/v1/events' };
  }

  // --- HTTP -------------------------------------------------------------------------------------

  function authorized(req: http.IncomingMessage): 'ok' | 'missing' | 'bad' {
    const h = req.headers.authorization;
    if (!h) return 'missing';
    const bearer = /^Bearer\s+(.+)$/i.exec(h);
    if (bearer) return bearer[1] === secretKey ? 'ok' : 'bad';
    const basic = /^Basic\s+(.+)$/i.exec(h);
    if (basic) {
      const user = Buffer.from(basic[1]!, 'base64').toString('utf8').split(':')[0];
      return user === secretKey ? 'ok' : 'bad';
    }
    return 'bad';
  }

  /** Returns the response, so that a handler can answer and stop in one `return send(...)`. */
  function send(res: http.ServerResponse, status: number, body: string, extra: Record<string, string> = {}) {
    return res.writeHead(status, { 'content-type': 'application/json', 'request-id': newId('req'), 'stripe-version': apiVersion, ...extra }).end(body);
  }

  const errorBody = (e: StripeApiError) =>
    JSON.stringify({ error: { type: e.type, message: e.message, ...e.extra, request_log_url: `${base}/logs` } }, null, 2);

  type Handler = (p: Record<string, unknown>, m: RegExpExecArray) => unknown;
  const retrieve = (store: Map<string, StripeObject>, kind: string) => (_p: Record<string, unknown>, m: RegExpExecArray) => {
    const o = store.get(m[1]!);
    if (!o) throw notFound(kind, m[1]!);
    return o;
  };
  const routes: [string, RegExp, Handler][] = [
    [
      'POST',
      /^\/v1\/prices$/,
      (p) => {
        onlyKnown(p, ['currency', 'unit_amount', 'product_data', 'recurring', 'nickname', 'metadata']);
        const currency = str(p.currency);
        if (!currency) throw missing('currency');
        const interval = isRecord(p.recurring) ? str(p.recurring.interval) : undefined;
        const name = isRecord(p.product_data) ? str(p.product_data.name) : undefined;
        if (!name) throw missing('product_data[name]');
        const id = createPrice({
          unitAmount: intParam(p.unit_amount, 'unit_amount', { required: true, min: 0 })!,
          currency,
          productName: name,
          ...(interval ? { recurring: { interval: interval as 'month' } } : {}),
        });
        return priceJson(prices.get(id)!);
      },
    ],
    [
      'GET',
      /^\/v1\/prices\/([^/]+)$/,
      (_p, m) => {
        const pr = prices.get(m[1]!);
        if (!pr) throw notFound('price', m[1]!);
        return priceJson(pr);
      },
    ],
    ['POST', /^\/v1\/checkout\/sessions$/, (p) => createSession(p)],
    ['GET', /^\/v1\/checkout\/sessions\/([^/]+)$/, retrieve(sessions, 'checkout.session')],
    [
      'POST',
      /^\/v1\/checkout\/sessions\/([^/]+)\/expire$/,
      (_p, m) => {
        expireCheckout(m[1]!);
        return sessions.get(m[1]!);
      },
    ],
    ['POST', /^\/v1\/refunds$/, (p) => apiRefund(p)],
    [
      'GET',
      /^\/v1\/balance$/,
      () => ({ object: 'balance', available: [{ amount: 0, currency: 'usd' }], pending: [{ amount: 0, currency: 'usd' }], livemode: false }),
    ],
    ['GET', /^\/v1\/refunds\/([^/]+)$/, retrieve(refunds, 'refund')],
    ['GET', /^\/v1\/subscriptions\/([^/]+)$/, retrieve(subscriptions, 'subscription')],
    ['POST', /^\/v1\/subscriptions\/([^/]+)$/, (p, m) => updateSubscription(m[1]!, p)],
    [
      'DELETE',
      /^\/v1\/subscriptions\/([^/]+)$/,
      (p, m) => {
        onlyKnown(p, ['invoice_now', 'prorate', 'cancellation_details', 'expand']);
        return endSubscription(m[1]!);
      },
    ],
    [
      'GET',
      /^\/v1\/invoices\/([^/]+)$/,
      (p, m) => {
        const inv = invoices.get(m[1]!);
        if (!inv) throw notFound('invoice', m[1]!);
        const expand = Array.isArray(p.expand) ? p.expand : [];
        if (!expand.includes('payments')) return inv;
        const pi = invoicePayments.get(inv.id)!;
        return {
          ...inv,
          payments: {
            object: 'list',
            data: [
              {
                id: newId('inpay'),
                object: 'invoice_payment',
                amount_paid: inv.amount_paid,
                currency: inv.currency,
                invoice: inv.id,
                is_default: true,
                status: 'paid',
                payment: { type: 'payment_intent', payment_intent: pi },
              },
            ],
            has_more: false,
            url: `/v1/invoice_payments?invoice=${inv.id}`,
          },
        };
      },
    ],
    ['GET', /^\/v1\/charges\/([^/]+)$/, retrieve(charges, 'charge')],
    ['GET', /^\/v1\/payment_intents\/([^/]+)$/, retrieve(paymentIntents, 'payment_intent')],
    ['GET', /^\/v1\/customers\/([^/]+)$/, retrieve(customers, 'customer')],
    ['GET', /^\/v1\/disputes\/([^/]+)$/, retrieve(disputes, 'dispute')],
    ['GET', /^\/v1\/events$/, (p) => listEvents(p)],
    [
      'GET',
      /^\/v1\/events\/([^/]+)$/,
      (_p, m) => {
        const e = events.find((x) => x.id === m[1]);
        if (!e) throw notFound('event', m[1]!);
        return e;
      },
    ],
  ];

  function api(req: http.IncomingMessage, res: http.ServerResponse, url: URL, raw: string) {
    const method = req.method ?? 'GET';
    const failure = failures.shift();
    if (failure !== undefined) {
      // a gateway-level failure: before auth and idempotency, nothing is stored or changed
      const type = failure === 429 ? 'rate_limit_error' : 'api_error';
      const message = failure === 429 ? 'Too many requests hit the API too quickly.' : 'An unknown error occurred (fake injected failure).';
      return send(res, failure, JSON.stringify({ error: { type, message } }));
    }
    const auth = authorized(req);
    if (auth !== 'ok') {
      const message =
        auth === 'missing'
          ? "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY')."
          : 'Invalid API Key provided: sk_****';
      return send(res, 401, errorBody(new StripeApiError(401, 'invalid_request_error', message, {}, false)), { 'www-authenticate': 'Basic realm="Stripe"' });
    }
    const query = url.search.slice(1);
    const params = method === 'GET' ? parseStripeForm(query) : parseStripeForm(raw || query);
    requests.push({ method, path: url.pathname, headers: req.headers, raw: method === 'GET' ? query : raw, params });
    const found = routes.find(([m, re]) => m === method && re.test(url.pathname));
    if (!found)
      return send(res, 404, errorBody(new StripeApiError(404, 'invalid_request_error', `Unrecognized request URL (${method}: ${url.pathname}).`, {}, false)));

    const key = method === 'POST' || method === 'DELETE' ? (req.headers['idempotency-key'] as string | undefined) : undefined;
    const hash = paramsHash(params);
    if (key !== undefined) {
      if (key.length > 255) return send(res, 400, errorBody(invalid('Idempotency-Key must be at most 255 characters', undefined, 'idempotency_key_in_use')));
      const prior = idempotency.get(key);
      if (prior) {
        if (prior.method !== method || prior.path !== url.pathname || prior.hash !== hash) {
          const e = new StripeApiError(
            400,
            'idempotency_error',
            `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${key}' if you meant to execute a different request.`,
            {},
            false,
          );
          return send(res, 400, errorBody(e));
        }
        return send(res, prior.status, prior.body, { 'idempotent-replayed': 'true', 'idempotency-key': key });
      }
    }
    let status = 200;
    let body: string;
    let store = true;
    currentRequest = { id: newId('req'), idempotency_key: key ?? null };
    try {
      const m = found[1].exec(url.pathname)!;
      body = JSON.stringify(found[2](params, m), null, 2);
    } catch (err) {
      const e = err instanceof StripeApiError ? err : new StripeApiError(500, 'api_error', err instanceof Error ? err.message : String(err), {}, false);
      status = e.status;
      body = errorBody(e);
      store = !e.validation;
    } finally {
      currentRequest = { id: null, idempotency_key: null };
    }
    if (key !== undefined && store) idempotency.set(key, { method, path: url.pathname, hash, status, body });
    return send(res, status, body, key ? { 'idempotency-key': key } : {});
  }

  function page(res: http.ServerResponse, id: string) {
    const s = sessions.get(id);
    const html = (status: number, content: string) =>
      res
        .writeHead(status, { 'content-type': 'text/html; charset=utf-8' })
        .end(`<!doctype html><html><head><meta charset="utf-8"><title>Fake Stripe Checkout</title></head><body>${content}</body></html>`);
    if (!s) return html(404, '<h1>Fake Stripe Checkout</h1><p data-testid="fake-missing">No such checkout session.</p>');
    if (s.status !== 'open' || Number(s.expires_at) < now())
      return html(
        410,
        `<h1>Fake Stripe Checkout</h1><p data-testid="fake-inactive">This checkout session is ${escapeHtml(String(s.status === 'open' ? 'expired' : s.status))}.</p>`,
      );
    const lines = sessionLines.get(id) ?? [];
    const name = lines.map((l) => l.price.productName).join(', ');
    const interval = lines[0]?.price.recurring?.interval;
    const amount = formatAmount(Number(s.amount_total), String(s.currency)) + (interval ? ` / ${interval}` : '');
    html(
      200,
      `<main style="font-family:sans-serif;max-width:28rem;margin:3rem auto">
<h1>Fake Stripe Checkout</h1>
<p data-testid="fake-plan">${escapeHtml(name)}</p>
<p data-testid="fake-amount">${escapeHtml(amount)}</p>
<form method="post" action="/pay/${escapeHtml(id)}">
<label>Email <input type="email" name="email" data-testid="fake-email" value="${escapeHtml(str(s.customer_email) ?? '')}"></label>
<button type="submit" name="outcome" value="paid" data-testid="fake-pay">Pay</button>
<button type="submit" name="outcome" value="declined" data-testid="fake-decline">Decline</button>
</form>
</main>`,
    );
  }

  function pay(res: http.ServerResponse, id: string, raw: string) {
    const form = new URLSearchParams(raw);
    const outcome = form.get('outcome') === 'declined' ? 'declined' : 'paid';
    try {
      const location = completeCheckout(id, outcome, { email: form.get('email') ?? undefined });
      res.writeHead(303, { location, 'content-type': 'text/plain' }).end(`Redirecting to ${location}`);
    } catch (err) {
      const status = err instanceof StripeApiError ? err.status : 400;
      const message = err instanceof Error ? err.message : String(err);
      res
        .writeHead(status, { 'content-type': 'text/html; charset=utf-8' })
        .end(`<!doctype html><title>Fake Stripe Checkout</title><p>${escapeHtml(message)}</p>`);
    }
  }

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', base);
      const raw = Buffer.concat(chunks).toString('utf8');
      try {
        const payId = /^\/pay\/([\w-]+)$/.exec(url.pathname)?.[1];
        if (payId && (req.method === 'GET' || req.method === 'HEAD')) return page(res, payId);
        if (payId && req.method === 'POST') return pay(res, payId, raw);
        if (url.pathname.startsWith('/v1/')) return api(req, res, url, raw);
        send(res, 404, errorBody(new StripeApiError(404, 'invalid_request_error', `Unrecognized request URL (${req.method ?? 'GET'}: ${url.pathname}).`)));
      } catch (err) {
        if (!res.headersSent) send(res, 500, JSON.stringify({ error: { type: 'api_error', message: err instanceof Error ? err.message : String(err) } }));
      }
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const settled = async () => {
    while (inFlight.size) await Promise.allSettled([...inFlight]);
  };

  return {
    url: base,
    secretKey,
    webhookSecret,
    get webhookUrl() {
      return webhookUrl;
    },
    setWebhookUrl(u) {
      webhookUrl = u;
    },
    sessions,
    subscriptions,
    invoices,
    charges,
    paymentIntents,
    events,
    deliveries,
    requests,
    createPrice,
    completeCheckout,
    declineCard,
    expireCheckout,
    renewSubscription,
    endSubscription: (subId) => void endSubscription(subId),
    refund: (pi, amount) => createRefund(chargeOfIntent(pi), amount, 'requested_by_customer', {}).id,
    dispute,
    failNext(status, times = 1) {
      for (let i = 0; i < times; i++) failures.push(status);
    },
    duplicateNext(n) {
      duplicates = n;
    },
    hold() {
      holding = true;
    },
    async release(order = 'fifo') {
      holding = false;
      const queue = held.splice(0);
      if (order === 'reverse') queue.reverse();
      await track(
        (async () => {
          for (const evt of queue) await deliver(evt);
        })(),
      );
    },
    resend(eventId) {
      const evt = events.find((e) => e.id === eventId);
      if (!evt) return Promise.reject(new Error(`no event ${eventId}`));
      return track(deliver(evt));
    },
    sendRaw(body, headers) {
      if (!webhookUrl) return Promise.reject(new Error('no webhook URL set'));
      return track(post(webhookUrl, body, { 'content-type': 'application/json; charset=utf-8', ...headers }));
    },
    signature: (payload, o = {}) => sign(payload, o.secret ?? webhookSecret, o.timestamp ?? now()),
    settled,
    close: () =>
      new Promise<void>((resolve, reject) => {
        closed = true;
        closing.abort();
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
