import { createHmac, randomBytes, randomInt } from 'node:crypto';
import http from 'node:http';
import { postWebhook } from './deliver';
import { listenLocal } from './listen';
import { pendingWork } from './pending';

/**
 * A fake NOWPayments (docs/provider-apis.md §5 in the shared docs): a real HTTP server on 127.0.0.1.
 *
 * API (header `x-api-key` = apiKey, else 403 `{status:false, statusCode:403, code:"INVALID_API_KEY",
 * message:"Invalid api key"}`; 403 rather than 401 is UNCONFIRMED, `authStatus` switches it):
 * - `POST /v1/invoice` `{price_amount (number > 0), price_currency, pay_currency?, order_id?,
 *   order_description?, ipn_callback_url?, success_url?, cancel_url?, …}` -> 201 `{id (a string of
 *   digits), order_id, order_description, price_amount (as a string, as in the public example),
 *   price_currency, pay_currency, ipn_callback_url, invoice_url: "<fake>/payment/?iid=<id>",
 *   success_url, cancel_url, created_at, updated_at}`. Bad input -> 400 `{status:false,
 *   statusCode:400, code:"INVALID_REQUEST_PARAMS", message}`.
 * - `GET /v1/invoice/:id` -> the invoice (not a documented NOWPayments endpoint; for tests).
 * - `GET /v1/payment/:payment_id` -> the payment as its IPN shows it (for reconciliation); 400 for a
 *   non-numeric id ("Payment id must be a number"), 404 when unknown.
 *
 * Hosted page: `GET /payment/?iid=<id>` is an HTML form with buttons `data-testid="fake-pay"` and
 * `data-testid="fake-decline"`. Paying sends the `confirming` then the `finished` IPN (first
 * attempts awaited), then answers 303 to `success_url`. Declining sends a `failed` IPN and answers
 * 303 to `cancel_url` (a real customer would rather abandon the invoice and let it expire).
 *
 * IPNs: POST to the invoice's `ipn_callback_url` (no URL: nothing is sent), a flat JSON body
 * `{payment_id, invoice_id (numbers), payment_status, pay_address, price_amount, price_currency,
 * pay_amount, actually_paid, actually_paid_at_fiat, pay_currency, order_id, order_description,
 * purchase_id, outcome_amount, outcome_currency, created_at, updated_at, …}` (`nestedFee: true` adds
 * the nested `fee{currency, depositFee, withdrawalFee, serviceFee}` real IPNs carry), header
 * `x-nowpayments-sig` = hex HMAC-SHA512(ipnSecret, JSON with keys sorted): recursively by default,
 * or `signing: 'top-level'` for the official Node sample's `JSON.stringify(body,
 * Object.keys(body).sort())` (identical for flat bodies). The retry policy is UNCONFIRMED: the fake
 * retries any answer other than 2xx, or none within 3000 ms (NOWPayments' documented limit), after
 * `retryDelaysMs` (default 100/200/400 ms). `duplicateNext(n)` delivers the next n IPNs twice;
 * `hold()` queues IPNs until `release('fifo'|'reverse')`.
 *
 * Amounts: the pay currency is BTC at a fixed fake rate of 50000 units of the price currency per
 * BTC; `actually_paid` = pay_amount × fraction (partially_paid defaults to 0.5).
 */
export type NowPaymentStatus = 'waiting' | 'confirming' | 'confirmed' | 'sending' | 'partially_paid' | 'finished' | 'failed' | 'expired' | 'refunded';

export interface FakeNowPaymentsOptions {
  port?: number;
  host?: string;
  /** default 'np_test_fake' */
  apiKey?: string;
  /** default 'np_ipn_fake' */
  ipnSecret?: string;
  /** how IPNs are signed (default 'recursive') */
  signing?: 'recursive' | 'top-level';
  /** add the nested `fee` object to IPNs (default false: flat bodies) */
  nestedFee?: boolean;
  /** default [100, 200, 400] */
  retryDelaysMs?: number[];
  /** HTTP status for a bad API key (default 403) */
  authStatus?: 401 | 403;
}

export interface FakeNowInvoice {
  id: string;
  body: Record<string, unknown>;
  priceAmount: number;
  priceCurrency: string;
  orderId: string | null;
  orderDescription: string | null;
  ipnCallbackUrl: string | null;
  successUrl: string | null;
  cancelUrl: string | null;
  createdAt: number;
  paymentId?: string;
}

export interface FakeNowPayment {
  paymentId: string;
  invoiceId: string;
  status: NowPaymentStatus;
  payCurrency: string;
  payAmount: number;
  actuallyPaid: number;
  payAddress: string;
  purchaseId: string;
  createdAt: number;
  updatedAt: number;
}

export interface FakeNowDelivery {
  paymentId: string;
  /** a NowPaymentStatus, or whatever status a test sent */
  status: string;
  url: string;
  headers: Record<string, string>;
  body: string;
  attempt: number;
  /** receiver's HTTP status, 0 when unreachable or slower than 3000 ms */
  httpStatus: number;
  at: number;
}

export interface FakeNowPayments {
  url: string;
  apiKey: string;
  ipnSecret: string;
  invoices: Map<string, FakeNowInvoice>;
  /** by payment id */
  payments: Map<string, FakeNowPayment>;
  /** moves the invoice's payment (created on first use) to a status and sends its IPN (first attempt awaited) */
  setStatus(invoiceId: string, status: NowPaymentStatus, o?: { actuallyPaidFraction?: number }): Promise<FakeNowPayment>;
  /** confirming, then finished */
  pay(invoiceId: string): Promise<FakeNowPayment>;
  /** every IPN attempt, oldest first */
  deliveries: FakeNowDelivery[];
  requests: { method: string; path: string; headers: http.IncomingHttpHeaders; body: string }[];
  duplicateNext(n?: number): void;
  hold(): void;
  release(order?: 'fifo' | 'reverse'): Promise<void>;
  /** POSTs a body as is (no signature unless given) to `url`, default the latest invoice's IPN URL; returns the HTTP status */
  sendRaw(body: string | Buffer | Record<string, unknown>, headers?: Record<string, string>, url?: string): Promise<number>;
  /** hex HMAC-SHA512 over the sorted JSON of a body (default: the IPN secret and the fake's signing mode) */
  sign(body: string | Record<string, unknown>, secret?: string, mode?: 'recursive' | 'top-level'): string;
  idle(): Promise<void>;
  close(): Promise<void>;
}

const isObject = (v: unknown): v is Record<string, unknown> => Boolean(v) && typeof v === 'object' && !Array.isArray(v);
const isUrl = (v: unknown) => typeof v === 'string' && /^https?:\/\/\S+$/i.test(v);
const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const round8 = (n: number) => Number(n.toFixed(8));
const FAKE_RATE = 50_000;

function sortDeep(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortDeep);
  if (isObject(v))
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, sortDeep(v[k])]),
    );
  return v;
}

/** The string NOWPayments signs, in either convention. */
export function nowPaymentsSortedJson(body: Record<string, unknown>, mode: 'recursive' | 'top-level' = 'recursive'): string {
  return mode === 'recursive' ? JSON.stringify(sortDeep(body)) : JSON.stringify(body, Object.keys(body).sort());
}

interface Job {
  paymentId: string;
  status: string;
  url: string;
  body: string;
  sig: string;
  duplicate: boolean;
}

/** Start a fake NOWPayments on 127.0.0.1 (a random port unless `port` is given). */
export async function startFakeNowPayments(opts: FakeNowPaymentsOptions = {}): Promise<FakeNowPayments> {
  const apiKey = opts.apiKey ?? 'np_test_fake';
  const ipnSecret = opts.ipnSecret ?? 'np_ipn_fake';
  const signing = opts.signing ?? 'recursive';
  const retryDelays = opts.retryDelaysMs ?? [100, 200, 400];
  const authStatus = opts.authStatus ?? 403;
  const invoices = new Map<string, FakeNowInvoice>();
  const payments = new Map<string, FakeNowPayment>();
  const deliveries: FakeNowDelivery[] = [];
  const requests: FakeNowPayments['requests'] = [];
  const retries = pendingWork();
  const inflight = new Set<Promise<unknown>>();
  const closing = new AbortController();
  let nextId = 4_000_000_000 + randomInt(0, 100_000_000);
  let held: Job[] | undefined;
  let duplicates = 0;
  let closed = false;
  // read through a function after an await: TypeScript keeps the narrowing from before it, but close() may have run since
  const isClosed = () => closed;
  let base = '';
  let lastIpnUrl: string | undefined;

  const sign = (body: string | Record<string, unknown>, secret = ipnSecret, mode = signing) => {
    const obj = typeof body === 'string' ? (JSON.parse(body) as Record<string, unknown>) : body;
    return createHmac('sha512', secret).update(nowPaymentsSortedJson(obj, mode)).digest('hex');
  };

  // --- delivery ---------------------------------------------------------------------------------

  const track = <T>(p: Promise<T>): Promise<T> => {
    inflight.add(p);
    void p.finally(() => inflight.delete(p)).catch(() => undefined);
    return p;
  };

  const post = (url: string, body: string | Buffer, headers: Record<string, string>) =>
    postWebhook(url, body, headers, { signal: closing.signal, timeoutMs: 3000 });

  async function attempt(job: Job, n: number): Promise<void> {
    if (closed) return;
    const headers = { 'content-type': 'application/json', 'x-nowpayments-sig': job.sig };
    const httpStatus = await post(job.url, job.body, headers);
    deliveries.push({ paymentId: job.paymentId, status: job.status, url: job.url, headers, body: job.body, attempt: n, httpStatus, at: Date.now() });
    const delay = retryDelays[n - 1];
    if ((httpStatus < 200 || httpStatus > 299) && delay !== undefined && !isClosed()) {
      retries.later(delay, () => track(attempt(job, n + 1)));
    }
  }

  async function dispatch(job: Job): Promise<void> {
    await track(attempt(job, 1));
    if (job.duplicate) await track(attempt(job, 1));
  }

  function ipnBody(inv: FakeNowInvoice, p: FakeNowPayment): Record<string, unknown> {
    const body: Record<string, unknown> = {
      payment_id: Number(p.paymentId),
      parent_payment_id: null,
      invoice_id: Number(inv.id),
      payment_status: p.status,
      pay_address: p.payAddress,
      payin_extra_id: null,
      price_amount: inv.priceAmount,
      price_currency: inv.priceCurrency,
      pay_amount: p.payAmount,
      actually_paid: p.actuallyPaid,
      actually_paid_at_fiat: round8(p.actuallyPaid * FAKE_RATE),
      pay_currency: p.payCurrency,
      order_id: inv.orderId,
      order_description: inv.orderDescription,
      purchase_id: p.purchaseId,
      outcome_amount: round8(p.actuallyPaid * 0.995),
      outcome_currency: p.payCurrency,
      payment_extra_ids: null,
      created_at: new Date(p.createdAt).toISOString(),
      updated_at: new Date(p.updatedAt).toISOString(),
    };
    if (opts.nestedFee) body.fee = { currency: p.payCurrency, depositFee: 0, withdrawalFee: round8(p.actuallyPaid * 0.005), serviceFee: 0 };
    return body;
  }

  async function sendIpn(inv: FakeNowInvoice, p: FakeNowPayment): Promise<void> {
    if (!inv.ipnCallbackUrl) return;
    const obj = ipnBody(inv, p);
    const duplicate = duplicates > 0;
    if (duplicate) duplicates--;
    const job: Job = { paymentId: p.paymentId, status: p.status, url: inv.ipnCallbackUrl, body: JSON.stringify(obj), sig: sign(obj), duplicate };
    if (held) held.push(job);
    else await dispatch(job);
  }

  // --- controls ---------------------------------------------------------------------------------

  async function setStatus(invoiceId: string, status: NowPaymentStatus, o: { actuallyPaidFraction?: number } = {}): Promise<FakeNowPayment> {
    const inv = invoices.get(invoiceId);
    if (!inv) throw new Error(`fake nowpayments: no invoice ${invoiceId}`);
    let p = inv.paymentId ? payments.get(inv.paymentId) : undefined;
    if (!p) {
      const now = Date.now();
      p = {
        paymentId: String(nextId++),
        invoiceId: inv.id,
        status: 'waiting',
        payCurrency: 'btc',
        payAmount: round8(inv.priceAmount / FAKE_RATE),
        actuallyPaid: 0,
        payAddress: `bc1q${randomBytes(19).toString('hex')}`,
        purchaseId: String(nextId++),
        createdAt: now,
        updatedAt: now,
      };
      payments.set(p.paymentId, p);
      inv.paymentId = p.paymentId;
    }
    const fraction =
      o.actuallyPaidFraction ??
      (status === 'partially_paid' ? 0.5 : status === 'waiting' || status === 'failed' || status === 'expired' ? 0 : status === 'refunded' ? undefined : 1);
    if (fraction !== undefined) p.actuallyPaid = round8(p.payAmount * fraction);
    p.status = status;
    p.updatedAt = Date.now();
    await sendIpn(inv, p);
    return p;
  }

  async function pay(invoiceId: string): Promise<FakeNowPayment> {
    await setStatus(invoiceId, 'confirming');
    return setStatus(invoiceId, 'finished');
  }

  // --- HTTP -------------------------------------------------------------------------------------

  // responders return the response, so that a handler can answer and stop in one `return json(...)`
  const json = (res: http.ServerResponse, status: number, body: unknown) =>
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  const fail = (res: http.ServerResponse, status: number, code: string, message: string) =>
    json(res, status, { status: false, statusCode: status, code, message });
  const authorized = (req: http.IncomingMessage) => req.headers['x-api-key'] === apiKey;
  const unauthorized = (res: http.ServerResponse) => fail(res, authStatus, 'INVALID_API_KEY', 'Invalid api key');

  const invoiceObj = (inv: FakeNowInvoice) => ({
    id: inv.id,
    token_id: inv.id.slice(-8),
    order_id: inv.orderId,
    order_description: inv.orderDescription,
    price_amount: String(inv.priceAmount),
    price_currency: inv.priceCurrency,
    pay_currency: (inv.body.pay_currency as string | undefined) ?? null,
    ipn_callback_url: inv.ipnCallbackUrl,
    invoice_url: `${base}/payment/?iid=${inv.id}`,
    success_url: inv.successUrl,
    cancel_url: inv.cancelUrl,
    created_at: new Date(inv.createdAt).toISOString(),
    updated_at: new Date(inv.createdAt).toISOString(),
  });

  function validateInvoice(b: Record<string, unknown>): string | undefined {
    if (typeof b.price_amount !== 'number' || !Number.isFinite(b.price_amount) || b.price_amount <= 0) return 'price_amount must be a positive number';
    if (typeof b.price_currency !== 'string' || !/^[a-z]{3,10}$/i.test(b.price_currency)) return 'price_currency is required';
    for (const k of ['ipn_callback_url', 'success_url', 'cancel_url'] as const)
      if (b[k] !== undefined && b[k] !== null && !isUrl(b[k])) return `${k} must be a valid uri`;
    for (const k of ['order_id', 'order_description', 'pay_currency'] as const)
      if (b[k] !== undefined && b[k] !== null && typeof b[k] !== 'string') return `${k} must be a string`;
    return undefined;
  }

  function createInvoice(req: http.IncomingMessage, res: http.ServerResponse, raw: Buffer) {
    if (!authorized(req)) return unauthorized(res);
    let b: unknown;
    try {
      b = JSON.parse(raw.toString('utf8'));
    } catch {
      return fail(res, 400, 'INVALID_REQUEST_PARAMS', 'body must be JSON');
    }
    if (!isObject(b)) return fail(res, 400, 'INVALID_REQUEST_PARAMS', 'body must be a JSON object');
    const problem = validateInvoice(b);
    if (problem) return fail(res, 400, 'INVALID_REQUEST_PARAMS', problem);
    const str = (v: unknown) => (typeof v === 'string' ? v : null);
    const inv: FakeNowInvoice = {
      id: String(nextId++),
      body: b,
      priceAmount: b.price_amount as number,
      priceCurrency: (b.price_currency as string).toLowerCase(),
      orderId: str(b.order_id),
      orderDescription: str(b.order_description),
      ipnCallbackUrl: str(b.ipn_callback_url),
      successUrl: str(b.success_url),
      cancelUrl: str(b.cancel_url),
      createdAt: Date.now(),
    };
    invoices.set(inv.id, inv);
    if (inv.ipnCallbackUrl) lastIpnUrl = inv.ipnCallbackUrl;
    return json(res, 201, invoiceObj(inv));
  }

  const html = (res: http.ServerResponse, status: number, body: string) => res.writeHead(status, { 'content-type': 'text/html; charset=utf-8' }).end(body);

  function page(inv: FakeNowInvoice) {
    const price = `${inv.priceAmount.toFixed(2)} ${inv.priceCurrency.toUpperCase()}`;
    return `<!doctype html><html><head><meta charset="utf-8"><title>Fake NOWPayments invoice</title></head><body>
<h1>Fake NOWPayments invoice</h1>
<p data-testid="fake-product">${escapeHtml(inv.orderDescription ?? 'Invoice')}: ${escapeHtml(price)} (≈ ${round8(inv.priceAmount / FAKE_RATE)} BTC)</p>
<form method="post" action="/payment/?iid=${inv.id}">
<button type="submit" name="action" value="pay" data-testid="fake-pay">Pay with crypto</button>
<button type="submit" name="action" value="decline" data-testid="fake-decline">Cancel payment</button>
</form></body></html>`;
  }

  async function hosted(req: http.IncomingMessage, res: http.ServerResponse, url: URL, raw: Buffer) {
    const inv = invoices.get(url.searchParams.get('iid') ?? '');
    if (!inv) return html(res, 404, '<!doctype html><h1>Invoice not found</h1>');
    if (req.method === 'GET') return html(res, 200, page(inv));
    const action = new URLSearchParams(raw.toString('utf8')).get('action');
    if (action === 'decline') {
      await setStatus(inv.id, 'failed');
      if (inv.cancelUrl) return void res.writeHead(303, { location: inv.cancelUrl }).end();
      return html(res, 200, '<!doctype html><h1>Payment canceled</h1>');
    }
    await pay(inv.id);
    if (inv.successUrl) return void res.writeHead(303, { location: inv.successUrl }).end();
    return html(res, 200, '<!doctype html><h1>Payment complete</h1>');
  }

  async function route(req: http.IncomingMessage, res: http.ServerResponse, url: URL, raw: Buffer) {
    const method = req.method ?? 'GET';
    const p = url.pathname;
    if (method === 'POST' && p === '/v1/invoice') return createInvoice(req, res, raw);
    if (method === 'GET' && p === '/v1/status') return json(res, 200, { message: 'OK' });
    if (method === 'GET' && p === '/v1/currencies') return authorized(req) ? json(res, 200, { currencies: ['btc', 'eth', 'usdttrc20'] }) : unauthorized(res);
    const invoice = /^\/v1\/invoice\/([^/]+)$/.exec(p);
    if (method === 'GET' && invoice) {
      if (!authorized(req)) return unauthorized(res);
      const inv = invoices.get(decodeURIComponent(invoice[1]!));
      return inv ? json(res, 200, invoiceObj(inv)) : fail(res, 404, 'NOT_FOUND', 'Invoice not found');
    }
    const payment = /^\/v1\/payment\/([^/]+)$/.exec(p);
    if (method === 'GET' && payment) {
      if (!authorized(req)) return unauthorized(res);
      const id = decodeURIComponent(payment[1]!);
      if (!/^\d+$/.test(id)) return fail(res, 400, 'INVALID_REQUEST_PARAMS', 'Payment id must be a number');
      const pm = payments.get(id);
      if (!pm) return fail(res, 404, 'PAYMENT_NOT_FOUND', 'Payment not found');
      return json(res, 200, ipnBody(invoices.get(pm.invoiceId)!, pm));
    }
    if ((p === '/payment/' || p === '/payment') && (method === 'GET' || method === 'POST')) return hosted(req, res, url, raw);
    return fail(res, 404, 'NOT_FOUND', `no route for ${method} ${p}`);
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
        fail(res, 500, 'INTERNAL_ERROR', err instanceof Error ? err.message : String(err));
      });
    });
  });

  base = await listenLocal(server, opts);

  return {
    url: base,
    apiKey,
    ipnSecret,
    invoices,
    payments,
    setStatus,
    pay,
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
    async sendRaw(body, headers = {}, url) {
      const target = url ?? lastIpnUrl;
      if (!target) throw new Error('fake nowpayments: no IPN URL known (create an invoice with ipn_callback_url or pass url)');
      const payload = Buffer.isBuffer(body) || typeof body === 'string' ? body : JSON.stringify(body);
      return post(target, payload, { 'content-type': 'application/json', ...headers });
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
