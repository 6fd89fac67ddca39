import nodemailer from 'nodemailer';
import type SMTPTransport from 'nodemailer/lib/smtp-transport';
import { parseConnectionUrl } from 'nodemailer/lib/shared';
import type { ConnectionTestId, ConnectionTestResult } from '../../../shared/api/admin-settings';
import type { Config } from '../../config';

/**
 * "Test connection" (issue 18): one cheap authenticated call per party, with the settings in effect
 * or the ones just typed. Nothing is created or charged:
 * - KIE: `GET /api/v1/chat/credit` (the account's credit balance).
 * - fal: the queue's status of a request id that does not exist. An inference key has no read-only
 *   account call (fal's billing API needs an admin key), so a 404 "request not found" is the
 *   answer that proves the key was accepted; 401/403 mean it was refused.
 * - Stripe: `GET /v1/balance`.
 * - Creem: `GET /v1/products/search` (one product).
 * - NOWPayments: `GET /v1/status` (is the API up), then `GET /v1/currencies` with the key.
 * - SMTP: connect, STARTTLS/TLS and log in (`verify()`), then hang up.
 */
export type ConnectionSettings = Pick<
  Config,
  | 'KIE_API_KEY'
  | 'KIE_BASE_URL'
  | 'FAL_KEY'
  | 'FAL_QUEUE_URL'
  | 'STRIPE_SECRET_KEY'
  | 'STRIPE_API_BASE'
  | 'CREEM_API_KEY'
  | 'CREEM_API_BASE'
  | 'NOWPAYMENTS_API_KEY'
  | 'NOWPAYMENTS_API_BASE'
  | 'SMTP_URL'
>;

const TIMEOUT_MS = 10_000;
/** a request id no queue holds (the fal check) */
const NO_SUCH_REQUEST = '00000000-0000-4000-8000-000000000000';

type Outcome = { ok: boolean; detail: string };

export async function testConnection(id: ConnectionTestId, s: ConnectionSettings, nowMs: () => number): Promise<ConnectionTestResult> {
  const started = nowMs();
  let outcome: Outcome;
  try {
    outcome = await checks[id](s);
  } catch (err) {
    outcome = { ok: false, detail: describe(err) };
  }
  const secrets = [s.KIE_API_KEY, s.FAL_KEY, s.STRIPE_SECRET_KEY, s.CREEM_API_KEY, s.NOWPAYMENTS_API_KEY, smtpPassword(s.SMTP_URL)].filter((x): x is string =>
    Boolean(x && x.length >= 4),
  );
  const detail = secrets.reduce((d, secret) => d.split(secret).join('***'), outcome.detail).slice(0, 300);
  return { ok: outcome.ok, detail, ms: Math.max(0, Math.round(nowMs() - started)) };
}

const checks: Record<ConnectionTestId, (s: ConnectionSettings) => Promise<Outcome>> = {
  async kie(s) {
    if (!s.KIE_API_KEY) return { ok: false, detail: 'KIE_API_KEY is not set.' };
    const res = await get(`${s.KIE_BASE_URL}/api/v1/chat/credit`, { authorization: `Bearer ${s.KIE_API_KEY}` });
    const body = res.json as { code?: unknown; msg?: unknown; data?: unknown } | null;
    // KIE answers errors either with the HTTP status or with HTTP 200 and the code in the body
    const code = typeof body?.code === 'number' ? body.code : res.status;
    if (res.status === 200 && code === 200) return { ok: true, detail: `KIE accepted the key; the account has ${String(body?.data)} credits.` };
    if (code === 401 || code === 403) return { ok: false, detail: `KIE refused the key (${code}).` };
    return { ok: false, detail: `KIE answered ${code}${typeof body?.msg === 'string' ? `: ${body.msg}` : ''}.` };
  },
  async fal(s) {
    if (!s.FAL_KEY) return { ok: false, detail: 'FAL_KEY is not set.' };
    const res = await get(`${s.FAL_QUEUE_URL}/fal-ai/veo3.1/requests/${NO_SUCH_REQUEST}/status`, { authorization: `Key ${s.FAL_KEY}` });
    if (res.status === 401 || res.status === 403) return { ok: false, detail: `fal refused the key (HTTP ${res.status}${detailOf(res.json)}).` };
    if (res.status === 404 || res.status === 200)
      return { ok: true, detail: `fal accepted the key (the queue answered HTTP ${res.status} for a request that does not exist).` };
    return { ok: false, detail: `fal answered HTTP ${res.status}${detailOf(res.json)}.` };
  },
  async stripe(s) {
    if (!s.STRIPE_SECRET_KEY) return { ok: false, detail: 'STRIPE_SECRET_KEY is not set.' };
    const res = await get(`${s.STRIPE_API_BASE ?? 'https://api.stripe.com'}/v1/balance`, { authorization: `Bearer ${s.STRIPE_SECRET_KEY}` });
    const body = res.json as { livemode?: unknown; error?: { message?: unknown } } | null;
    if (res.status === 200) return { ok: true, detail: `Stripe accepted the key (${body?.livemode === true ? 'live' : 'test'} mode).` };
    const message = typeof body?.error?.message === 'string' ? `: ${body.error.message}` : '';
    if (res.status === 401 || res.status === 403) return { ok: false, detail: `Stripe refused the key (HTTP ${res.status}${message}).` };
    return { ok: false, detail: `Stripe answered HTTP ${res.status}${message}.` };
  },
  async creem(s) {
    if (!s.CREEM_API_KEY) return { ok: false, detail: 'CREEM_API_KEY is not set.' };
    const res = await get(`${s.CREEM_API_BASE}/v1/products/search?page_number=1&page_size=1`, { 'x-api-key': s.CREEM_API_KEY });
    if (res.status === 200) {
      const test = s.CREEM_API_KEY.startsWith('creem_test_') ? ' (a test key)' : '';
      return { ok: true, detail: `Creem accepted the key${test}.` };
    }
    if (res.status === 401 || res.status === 403) return { ok: false, detail: `Creem refused the key (HTTP ${res.status}${detailOf(res.json)}).` };
    return { ok: false, detail: `Creem answered HTTP ${res.status}${detailOf(res.json)}.` };
  },
  async nowpayments(s) {
    if (!s.NOWPAYMENTS_API_KEY) return { ok: false, detail: 'NOWPAYMENTS_API_KEY is not set.' };
    const status = await get(`${s.NOWPAYMENTS_API_BASE}/v1/status`, {});
    const message = (status.json as { message?: unknown } | null)?.message;
    if (status.status !== 200 || message !== 'OK')
      return { ok: false, detail: `NOWPayments is not available (HTTP ${status.status}${detailOf(status.json)}).` };
    const res = await get(`${s.NOWPAYMENTS_API_BASE}/v1/currencies`, { 'x-api-key': s.NOWPAYMENTS_API_KEY });
    if (res.status === 200) {
      const list = (res.json as { currencies?: unknown } | null)?.currencies;
      return { ok: true, detail: `NOWPayments is up and accepted the key${Array.isArray(list) ? ` (${list.length} currencies)` : ''}.` };
    }
    if (res.status === 401 || res.status === 403) return { ok: false, detail: `NOWPayments refused the key (HTTP ${res.status}${detailOf(res.json)}).` };
    return { ok: false, detail: `NOWPayments answered HTTP ${res.status}${detailOf(res.json)}.` };
  },
  async smtp(s) {
    if (!s.SMTP_URL) return { ok: false, detail: 'SMTP_URL is not set: mail goes to the outbox folder.' };
    const parsed = new URL(s.SMTP_URL);
    const secure = parsed.protocol === 'smtps:';
    const port = parsed.port ? Number(parsed.port) : secure ? 465 : 587;
    const user = safeDecode(parsed.username);
    const pass = safeDecode(parsed.password);
    const { auth: _ignored, ...fromQuery } = parseConnectionUrl(`${parsed.protocol}//${parsed.host}${parsed.search}`);
    const options: SMTPTransport.Options = {
      connectionTimeout: TIMEOUT_MS,
      greetingTimeout: TIMEOUT_MS,
      socketTimeout: TIMEOUT_MS,
      ...fromQuery,
      host: parsed.hostname.replace(/^\[|\]$/g, ''),
      port,
      secure,
      ...(user || pass ? { auth: { user, pass } } : {}),
      logger: false,
      debug: false,
    };
    const transport = nodemailer.createTransport(options);
    try {
      await transport.verify();
      return { ok: true, detail: `${parsed.hostname}:${port} accepted the connection${user ? ' and the login' : ''}.` };
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      return { ok: false, detail: `${parsed.hostname}:${port}: ${describe(err)}${typeof code === 'string' ? ` (${code})` : ''}` };
    } finally {
      transport.close();
    }
  },
};

async function get(url: string, headers: Record<string, string>): Promise<{ status: number; json: unknown }> {
  const res = await fetch(url, { headers: { accept: 'application/json', ...headers }, signal: AbortSignal.timeout(TIMEOUT_MS), redirect: 'manual' });
  const text = (await res.text()).slice(0, 100_000);
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {
    // not JSON (a gateway's HTML page): the status says enough
  }
  return { status: res.status, json };
}

/** `: <message>` from the usual error bodies ({detail}, {message}, {error:{message}}, {msg}) */
function detailOf(body: unknown): string {
  if (!body || typeof body !== 'object') return '';
  const b = body as { detail?: unknown; message?: unknown; msg?: unknown; error?: { message?: unknown } };
  const m = [b.detail, b.message, b.msg, b.error?.message].find((x): x is string => typeof x === 'string');
  return m ? `: ${m}` : '';
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    if (err.name === 'TimeoutError' || err.name === 'AbortError') return `no answer within ${TIMEOUT_MS / 1000} s`;
    const cause = (err as { cause?: unknown }).cause;
    const causeText = cause instanceof Error ? ` (${(cause as NodeJS.ErrnoException).code ?? cause.message})` : '';
    return `${err.message}${causeText}`;
  }
  return String(err);
}

function smtpPassword(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    return safeDecode(new URL(url).password) || undefined;
  } catch {
    return undefined;
  }
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
