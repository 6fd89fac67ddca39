import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { listenLocal } from './listen';

/**
 * A fake of Cloudflare Turnstile's server-side validation (provider-apis.md §9 in the shared docs):
 * a real HTTP server on 127.0.0.1 answering `POST /turnstile/v0/siteverify`.
 *
 * - Body: `application/x-www-form-urlencoded` or `application/json` with `secret`, `response`,
 *   optional `remoteip` and `idempotency_key`. The answer is always JSON with HTTP 200; anything
 *   else in the body (not form, not JSON, unparseable) is `bad-request`.
 * - `missing-input-secret`, `invalid-input-secret` (a secret neither documented as a test secret
 *   nor added with `addSite`), `missing-input-response`, `invalid-input-response` (a token this
 *   fake never issued for that secret, or the dummy token under a real secret).
 * - The documented test secrets: `1x…AA` always passes, `2x…AA` always fails
 *   (`invalid-input-response`), `3x…AA` answers `timeout-or-duplicate`; they accept only the dummy
 *   token `XXXX.DUMMY.TOKEN.XXXX` and the success names hostname `localhost`, action `test`, cdata
 *   `test-data`.
 * - A site added with `addSite(secret)` gets tokens from `issueToken(secret, fixture)`; each token
 *   validates once: a second validation is `timeout-or-duplicate` unless it carries the first
 *   call's `idempotency_key` (then the first answer is replayed); a token older than 300 s (on
 *   `now`) is `timeout-or-duplicate`. Success returns the fixture's `hostname`, `action`, `cdata`.
 * - `failNext()` makes the next validation answer `internal-error` (retryable), without redeeming.
 * - `requests` records every parsed request (content type and fields).
 */
export const TURNSTILE_DUMMY_TOKEN = 'XXXX.DUMMY.TOKEN.XXXX';
export const TURNSTILE_TEST_SECRETS = {
  pass: '1x0000000000000000000000000000000AA',
  fail: '2x0000000000000000000000000000000AA',
  spent: '3x0000000000000000000000000000000AA',
} as const;
export const TURNSTILE_TEST_SITEKEYS = {
  pass: '1x00000000000000000000AA',
  fail: '2x00000000000000000000AB',
  passInvisible: '1x00000000000000000000BB',
  failInvisible: '2x00000000000000000000BB',
  interactive: '3x00000000000000000000FF',
} as const;

export interface TurnstileFixture {
  hostname?: string;
  action?: string;
  cdata?: string;
}

interface Issued {
  secret: string;
  issuedAt: number;
  fixture: Required<TurnstileFixture>;
  redeemed: { idempotencyKey: string | null; answer: Record<string, unknown> } | null;
}

export interface FakeTurnstile {
  /** base URL */
  url: string;
  /** the siteverify URL (TURNSTILE_VERIFY_URL) */
  verifyUrl: string;
  /** a real-looking site: its secret is accepted and `issueToken` mints tokens for it */
  addSite(secret: string): void;
  /** a fresh token, as the widget would hand the page after a visitor passed */
  issueToken(secret: string, fixture?: TurnstileFixture): string;
  /** the next validation answers `internal-error` */
  failNext(): void;
  requests: Array<{ contentType: string; fields: Record<string, string> }>;
  close(): Promise<void>;
}

export async function startFakeTurnstile(opts: { port?: number; host?: string; now?: () => number } = {}): Promise<FakeTurnstile> {
  const now = opts.now ?? Date.now;
  const sites = new Set<string>();
  const tokens = new Map<string, Issued>();
  const requests: FakeTurnstile['requests'] = [];
  let failures = 0;

  const fail = (...codes: string[]) => ({ success: false, 'error-codes': codes });

  function validate(fields: Record<string, string>): Record<string, unknown> {
    const { secret, response, idempotency_key: idempotencyKey } = fields;
    if (!secret) return fail('missing-input-secret');
    const testSecret = Object.values(TURNSTILE_TEST_SECRETS).includes(secret as never);
    if (!testSecret && !sites.has(secret)) return fail('invalid-input-secret');
    if (!response) return fail('missing-input-response');
    if (failures > 0) {
      failures--;
      return fail('internal-error');
    }
    if (testSecret) {
      if (response !== TURNSTILE_DUMMY_TOKEN) return fail('invalid-input-response');
      if (secret === TURNSTILE_TEST_SECRETS.fail) return fail('invalid-input-response');
      if (secret === TURNSTILE_TEST_SECRETS.spent) return fail('timeout-or-duplicate');
      return { success: true, challenge_ts: new Date(now()).toISOString(), hostname: 'localhost', 'error-codes': [], action: 'test', cdata: 'test-data' };
    }
    const token = tokens.get(response);
    if (!token || token.secret !== secret) return fail('invalid-input-response');
    if (token.redeemed) {
      if (idempotencyKey && token.redeemed.idempotencyKey === idempotencyKey) return token.redeemed.answer;
      return fail('timeout-or-duplicate');
    }
    if (now() - token.issuedAt > 300_000) return fail('timeout-or-duplicate');
    const answer = { success: true, challenge_ts: new Date(token.issuedAt).toISOString(), 'error-codes': [], ...token.fixture };
    token.redeemed = { idempotencyKey: idempotencyKey ?? null, answer };
    return answer;
  }

  function parse(contentType: string, raw: string): Record<string, string> | null {
    if (contentType.startsWith('application/x-www-form-urlencoded')) return Object.fromEntries(new URLSearchParams(raw));
    if (contentType.startsWith('application/json')) {
      try {
        const json = JSON.parse(raw) as unknown;
        if (!json || typeof json !== 'object' || Array.isArray(json)) return null;
        return Object.fromEntries(Object.entries(json).flatMap(([k, v]) => (typeof v === 'string' ? [[k, v]] : [])));
      } catch {
        return null;
      }
    }
    return null;
  }

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const send = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (req.method !== 'POST' || req.url !== '/turnstile/v0/siteverify') return send(404, fail('bad-request'));
      const contentType = req.headers['content-type'] ?? '';
      const fields = parse(contentType, Buffer.concat(chunks).toString('utf8'));
      requests.push({ contentType, fields: fields ?? {} });
      send(200, fields ? validate(fields) : fail('bad-request'));
    });
  });
  const url = await listenLocal(server, opts);
  return {
    url,
    verifyUrl: `${url}/turnstile/v0/siteverify`,
    addSite(secret) {
      sites.add(secret);
    },
    issueToken(secret, fixture = {}) {
      const token = `0.${randomBytes(96).toString('base64url')}`;
      tokens.set(token, {
        secret,
        issuedAt: now(),
        fixture: { hostname: fixture.hostname ?? 'localhost', action: fixture.action ?? '', cdata: fixture.cdata ?? '' },
        redeemed: null,
      });
      return token;
    },
    failNext() {
      failures++;
    },
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
