import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from '../../context';
import { resetTokenOwner } from '../../domain/auth/auth';
import { assertPasswordAllowed } from '../../domain/users/password-policy';
import { AppError } from '../../errors';
import { BOT_CHALLENGE_HEADER, type BotChallengePurpose } from '../../../shared/api/bot-challenge';
import { errorPayload } from '../errors';
import { webHeaders } from '../plugins/session';
import { withDeviceCookie } from '../../domain/abuse/signals';

interface Limit {
  /** bucket name */
  name: string;
  /** what identifies the caller: the IP, the IP and the submitted email, or only the email */
  by: 'ip' | 'ip+email' | 'email';
  limit: number;
  windowSeconds: number;
  /** over the limit: refuse with 429, or only slow down (for per-account limits across IPs,
   *  so an attacker cannot lock a real user out) */
  mode: 'refuse' | 'slow';
}

/** Abuse protection on the auth routes, per endpoint. Counters live in the database (all processes). */
// its limit is SIGNUP_RATE_PER_HOUR (default 10)
const SIGNUP_LIMIT: Limit = { name: 'signup-ip', by: 'ip', limit: 10, windowSeconds: 3600, mode: 'refuse' };

const LIMITS: Record<string, Limit[]> = {
  'POST /sign-in/email': [
    { name: 'signin-ip', by: 'ip', limit: 30, windowSeconds: 600, mode: 'refuse' },
    { name: 'signin-ip-email', by: 'ip+email', limit: 10, windowSeconds: 900, mode: 'refuse' },
    { name: 'signin-email', by: 'email', limit: 20, windowSeconds: 900, mode: 'slow' },
  ],
  'POST /sign-up/email': [SIGNUP_LIMIT],
  'POST /request-password-reset': [
    { name: 'reset-ip', by: 'ip', limit: 10, windowSeconds: 3600, mode: 'refuse' },
    { name: 'reset-email', by: 'email', limit: 3, windowSeconds: 3600, mode: 'refuse' },
  ],
  'POST /reset-password': [{ name: 'reset-submit-ip', by: 'ip', limit: 20, windowSeconds: 3600, mode: 'refuse' }],
  'POST /send-verification-email': [
    { name: 'verify-send-ip', by: 'ip', limit: 10, windowSeconds: 3600, mode: 'refuse' },
    { name: 'verify-send-email', by: 'email', limit: 3, windowSeconds: 3600, mode: 'refuse' },
  ],
  'GET /verify-email': [{ name: 'verify-ip', by: 'ip', limit: 30, windowSeconds: 600, mode: 'refuse' }],
  'POST /sign-in/social': [{ name: 'oauth-ip', by: 'ip', limit: 30, windowSeconds: 600, mode: 'refuse' }],
};

/**
 * The Better Auth endpoints the web app uses, and nothing else. Account changes (name, photo,
 * password, email, sessions) go through our own validated routes under /api/me; Better Auth's
 * update-user, change-password, get-session, list-sessions and the rest are not reachable.
 */
const ALLOWED: Array<{ method: 'GET' | 'POST'; path: RegExp }> = [
  { method: 'POST', path: /^\/sign-in\/email$/ },
  { method: 'POST', path: /^\/sign-up\/email$/ },
  { method: 'POST', path: /^\/sign-out$/ },
  { method: 'POST', path: /^\/request-password-reset$/ },
  { method: 'POST', path: /^\/reset-password$/ },
  { method: 'POST', path: /^\/send-verification-email$/ },
  { method: 'POST', path: /^\/sign-in\/social$/ },
  // links in mails, and the OAuth round trip (Google may answer with a GET or a form POST)
  { method: 'GET', path: /^\/verify-email$/ },
  { method: 'GET', path: /^\/reset-password\/[A-Za-z0-9_-]{1,200}$/ },
  { method: 'GET', path: /^\/callback\/google$/ },
  { method: 'POST', path: /^\/callback\/google$/ },
  { method: 'GET', path: /^\/error$/ },
];

const PREFIX = '/api/auth';

/** The endpoints behind the bot challenge (issue 19): its solution comes in the X-Bot-Challenge header. */
const CHALLENGED: Record<string, BotChallengePurpose> = {
  'POST /sign-up/email': 'signup',
  'POST /sign-in/email': 'signin',
  'POST /request-password-reset': 'reset',
};

/**
 * The one normal form of a request path: percent-decoded segment by segment, empty and `.`
 * segments dropped, `..` resolved. Null when the path cannot be a route of ours (bad escapes, an
 * encoded slash, backslash or control character, or `..` above the root). The limit, the password
 * policy and the request forwarded to Better Auth all use this one value, so no spelling of a path
 * reaches an endpoint while skipping its limits.
 */
export function normalizePath(raw: string): string | null {
  const out: string[] = [];
  for (const seg of raw.split('/')) {
    let s: string;
    try {
      s = decodeURIComponent(seg);
    } catch {
      return null;
    }
    if (/[/\\\p{Cc}]/u.test(s)) return null;
    if (s === '' || s === '.') continue;
    if (s === '..') {
      if (!out.length) return null;
      out.pop();
      continue;
    }
    out.push(s);
  }
  return `/${out.join('/')}`;
}

/** Bodies Better Auth answers with that hold a session token: the cookie carries it, page scripts never see it. */
function withoutTokens(value: unknown, depth = 0): unknown {
  if (depth > 8 || !value || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => withoutTokens(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (/token/i.test(k)) continue;
    out[k] = withoutTokens(v, depth + 1);
  }
  return out;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Better Auth behind our HTTP conventions: only the endpoints the app uses, reached by one
 * normalised path; rate limits and the password policy apply first; requests are passed on as Web
 * Requests (with the client IP as Fastify resolved it); tokens are taken out of response bodies and
 * error bodies are rewritten into our one error shape.
 */
export const authRoutes: FastifyPluginAsync<{ ctx: AppContext }> = async (app, { ctx }) => {
  const limiter = ctx.rateLimiter;

  async function applyLimits(req: FastifyRequest, reply: FastifyReply, endpoint: string): Promise<boolean> {
    const limits = endpoint === 'POST /sign-up/email' ? [{ ...SIGNUP_LIMIT, limit: ctx.config.SIGNUP_RATE_PER_HOUR }] : LIMITS[endpoint];
    if (!limits) return true;
    const body = (req.body ?? {}) as { email?: unknown };
    const email = typeof body.email === 'string' ? body.email.trim().toLowerCase() : '';
    for (const l of limits) {
      if (l.by !== 'ip' && !email) continue;
      const key = l.by === 'ip' ? `${l.name}:${req.ip}` : l.by === 'email' ? `${l.name}:${email}` : `${l.name}:${req.ip}:${email}`;
      const r = await limiter.hit(key, l.limit, l.windowSeconds);
      if (r.allowed) continue;
      if (l.mode === 'slow') {
        // each attempt over the limit waits a little longer, up to 5 s; it is never refused
        await sleep(Math.min(5000, 250 * (r.count - l.limit)));
        continue;
      }
      const minutes = Math.ceil(r.retryAfterSeconds / 60);
      reply
        .status(429)
        .header('retry-after', String(r.retryAfterSeconds))
        .send(errorPayload('rate_limited', `Too many attempts. Please wait ${minutes} minute${minutes === 1 ? '' : 's'} and try again.`));
      return false;
    }
    return true;
  }

  /** The password policy, for the two Better Auth endpoints that set a password. */
  async function checkPassword(endpoint: string, body: Record<string, unknown>): Promise<void> {
    if (endpoint === 'POST /sign-up/email') {
      assertPasswordAllowed(body.password, {
        email: typeof body.email === 'string' ? body.email : null,
        name: typeof body.name === 'string' ? body.name : null,
      });
    } else if (endpoint === 'POST /reset-password') {
      // checked against the account the link belongs to; an unknown token is Better Auth's to refuse
      const owner = typeof body.token === 'string' ? await resetTokenOwner(ctx.auth, body.token) : null;
      assertPasswordAllowed(body.newPassword, owner ?? {});
    }
  }

  app.route({
    method: ['GET', 'POST'],
    url: `${PREFIX}/*`,
    schema: { hide: true },
    async handler(req, reply) {
      const [rawPath = '', ...rest] = req.url.split('?');
      const normal = normalizePath(rawPath);
      const sub = normal?.startsWith(`${PREFIX}/`) ? normal.slice(PREFIX.length) : null;
      if (!sub || !ALLOWED.some((a) => a.method === req.method && a.path.test(sub))) {
        throw new AppError('not_found', `No route matches ${req.method} ${rawPath}.`, 404);
      }
      const endpoint = `${req.method} ${sub}`;
      const body = (req.method === 'POST' ? (req.body ?? {}) : {}) as Record<string, unknown>;
      if (typeof body !== 'object' || Array.isArray(body)) throw new AppError('invalid_request', 'The request body must be a JSON object.', 400);
      if (!(await applyLimits(req, reply, endpoint))) return reply;
      const purpose = CHALLENGED[endpoint];
      // before Better Auth runs: a refused request creates no account and sends no mail
      if (purpose) await ctx.services.botChallenge.check(purpose, req.ip, req.headers[BOT_CHALLENGE_HEADER]);
      await checkPassword(endpoint, body);
      // disposable mail is refused before anything else, whether or not the address is taken
      if (endpoint === 'POST /sign-up/email' && typeof body.email === 'string') await ctx.services.emailRules.assertAllowed(body.email);

      const search = rest.length ? `?${rest.join('?')}` : '';
      const url = new URL(`${PREFIX}${sub}${search}`, ctx.config.PUBLIC_URL);
      const headers = webHeaders(req);
      // the first-party device cookie (issue 19): set when absent, and seen by this very request's hooks
      const deviceCookie = withDeviceCookie(headers, ctx.config.PUBLIC_URL.startsWith('https://'));
      let forwardBody: string | undefined;
      if (req.method === 'POST') {
        forwardBody = JSON.stringify(body);
        headers.set('content-type', 'application/json');
        headers.delete('content-length');
      }
      headers.delete(BOT_CHALLENGE_HEADER);
      const res = await ctx.auth.handler(new Request(url, { method: req.method, headers, body: forwardBody }));
      // a wrong email or password: after a few from this address, sign-in asks for the bot challenge
      if (purpose === 'signin' && res.status === 401) await ctx.services.botChallenge.recordFailure(req.ip);
      reply.status(res.status);
      res.headers.forEach((value, key) => {
        if (key !== 'set-cookie' && key !== 'content-length' && key !== 'content-encoding') reply.header(key, value);
      });
      const cookies = [...res.headers.getSetCookie(), ...(deviceCookie ? [deviceCookie] : [])];
      if (cookies.length) reply.header('set-cookie', cookies);
      const text = await res.text();
      const isJson = (res.headers.get('content-type') ?? '').includes('json');
      if (res.status >= 400 && isJson) {
        let parsed: { code?: string; message?: string; appealToken?: unknown } = {};
        try {
          parsed = JSON.parse(text) as typeof parsed;
        } catch {
          /* not JSON after all */
        }
        const code = (parsed.code ?? 'auth_error').toLowerCase();
        const payload = errorPayload(code, parsed.message ?? 'The request could not be completed.');
        // a suspended account's sign-in refusal carries the token of its one appeal (POST /api/appeals)
        if (typeof parsed.appealToken === 'string')
          return reply.type('application/json; charset=utf-8').send({ error: { ...payload.error, appealToken: parsed.appealToken } });
        return reply.type('application/json; charset=utf-8').send(payload);
      }
      if (endpoint === 'POST /sign-up/email' && res.status === 200) {
        // the same answer whether the address was free (a new account) or taken (a mail to its owner)
        return reply.type('application/json; charset=utf-8').send({ status: 'check_inbox' });
      }
      if (isJson && text.length) {
        let parsed: unknown;
        try {
          parsed = JSON.parse(text);
        } catch {
          return reply.send(text);
        }
        return reply.type('application/json; charset=utf-8').send(withoutTokens(parsed));
      }
      return reply.send(text.length ? text : null);
    },
  });
};
