import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from '../../context';
import { assertNotCommonPassword } from '../../domain/users/common-passwords';
import { errorPayload } from '../errors';
import { webHeaders } from '../plugins/session';

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

/** Abuse protection on the auth routes, per path. Counters live in the database (all processes). */
const LIMITS: Record<string, Limit[]> = {
  '/api/auth/sign-in/email': [
    { name: 'signin-ip', by: 'ip', limit: 30, windowSeconds: 600, mode: 'refuse' },
    { name: 'signin-ip-email', by: 'ip+email', limit: 10, windowSeconds: 900, mode: 'refuse' },
    { name: 'signin-email', by: 'email', limit: 20, windowSeconds: 900, mode: 'slow' },
  ],
  // the limit is SIGNUP_RATE_PER_HOUR (default 10)
  '/api/auth/sign-up/email': [{ name: 'signup-ip', by: 'ip', limit: 10, windowSeconds: 3600, mode: 'refuse' }],
  '/api/auth/request-password-reset': [
    { name: 'reset-ip', by: 'ip', limit: 10, windowSeconds: 3600, mode: 'refuse' },
    { name: 'reset-email', by: 'email', limit: 3, windowSeconds: 3600, mode: 'refuse' },
  ],
  '/api/auth/reset-password': [{ name: 'reset-submit-ip', by: 'ip', limit: 20, windowSeconds: 3600, mode: 'refuse' }],
  '/api/auth/send-verification-email': [
    { name: 'verify-send-ip', by: 'ip', limit: 10, windowSeconds: 3600, mode: 'refuse' },
    { name: 'verify-send-email', by: 'email', limit: 3, windowSeconds: 3600, mode: 'refuse' },
  ],
  '/api/auth/verify-email': [{ name: 'verify-ip', by: 'ip', limit: 30, windowSeconds: 600, mode: 'refuse' }],
  '/api/auth/sign-in/social': [{ name: 'oauth-ip', by: 'ip', limit: 30, windowSeconds: 600, mode: 'refuse' }],
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Better Auth behind our HTTP conventions: requests are passed through as Web Requests (with the
 * client IP as Fastify resolved it), rate limits apply first, and its error bodies are rewritten
 * into our one error shape.
 */
export const authRoutes: FastifyPluginAsync<{ ctx: AppContext }> = async (app, { ctx }) => {
  const limiter = ctx.rateLimiter;

  async function applyLimits(req: FastifyRequest, reply: FastifyReply, path: string): Promise<boolean> {
    const limits = path === '/api/auth/sign-up/email' ? [{ ...LIMITS[path]![0]!, limit: ctx.config.SIGNUP_RATE_PER_HOUR }] : LIMITS[path];
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

  app.route({
    method: ['GET', 'POST'],
    url: '/api/auth/*',
    schema: { hide: true },
    async handler(req, reply) {
      const path = req.url.split('?')[0]!;
      if (!(await applyLimits(req, reply, path))) return reply;
      if (req.method === 'POST' && (path === '/api/auth/sign-up/email' || path === '/api/auth/reset-password')) {
        const b = (req.body ?? {}) as { password?: unknown; newPassword?: unknown };
        assertNotCommonPassword(path === '/api/auth/sign-up/email' ? b.password : b.newPassword);
      }
      const url = new URL(req.url, ctx.config.PUBLIC_URL);
      const headers = webHeaders(req);
      let body: string | undefined;
      if (req.method === 'POST') {
        body = JSON.stringify(req.body ?? {});
        headers.set('content-type', 'application/json');
        headers.delete('content-length');
      }
      const res = await ctx.auth.handler(new Request(url, { method: req.method, headers, body }));
      reply.status(res.status);
      res.headers.forEach((value, key) => {
        if (key !== 'set-cookie' && key !== 'content-length' && key !== 'content-encoding') reply.header(key, value);
      });
      const cookies = res.headers.getSetCookie();
      if (cookies.length) reply.header('set-cookie', cookies);
      const text = await res.text();
      if (res.status >= 400 && (res.headers.get('content-type') ?? '').includes('json')) {
        let parsed: { code?: string; message?: string } = {};
        try {
          parsed = JSON.parse(text) as typeof parsed;
        } catch {
          /* not JSON after all */
        }
        const code = (parsed.code ?? 'auth_error').toLowerCase();
        return reply.type('application/json; charset=utf-8').send(errorPayload(code, parsed.message ?? 'The request could not be completed.'));
      }
      return reply.send(text.length ? text : null);
    },
  });
};
