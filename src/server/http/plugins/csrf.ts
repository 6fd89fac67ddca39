import type { FastifyInstance } from 'fastify';
import { errorPayload } from '../errors';

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * CSRF protection for cookie-authenticated requests: a state-changing request that carries our
 * cookies must come from our own origin (Origin header, or Sec-Fetch-Site: same-origin when a
 * browser omits Origin). SameSite=Lax cookies are the first line; this is the second. Requests
 * without our cookies (API keys, webhooks) are not affected: there is no ambient authority to abuse.
 */
export function installCsrfProtection(app: FastifyInstance, publicUrl: string): void {
  const allowed = new URL(publicUrl).origin;
  app.addHook('onRequest', async (req, reply) => {
    if (!UNSAFE.has(req.method)) return;
    const cookie = req.headers.cookie;
    if (!cookie || !/(^|;\s*)(__Secure-)?savesora\./.test(cookie)) return;
    const origin = req.headers.origin;
    const site = req.headers['sec-fetch-site'];
    const sameOrigin = origin !== undefined ? origin === allowed : site === 'same-origin';
    if (!sameOrigin) {
      return reply
        .status(403)
        .send(errorPayload('csrf_rejected', 'This request did not come from this site, so it was refused. Reload the page and try again.'));
    }
  });
}
