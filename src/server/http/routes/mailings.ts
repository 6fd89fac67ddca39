import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { errorBody } from '../../../shared/api';
import { emailPreferences, unsubscribeResult, unsubscribeStatus, unsubscribeToken, updateEmailPreferences } from '../../../shared/api/marketing';
import type { AppContext } from '../../context';
import { AppError } from '../../errors';
import { requireUser } from '../plugins/session';

/**
 * Email preferences and the one-click unsubscribe (privacy policy 2 and 5; RFC 8058). Rules live in
 * domain/privacy/mailings.service.ts.
 *
 * `POST /api/unsubscribe/:token` is what a mail client calls when its reader presses "Unsubscribe":
 * no session, no CSRF token, a body of `List-Unsubscribe=One-Click` sent as multipart/form-data or
 * urlencoded; it answers 200 (never a redirect). `GET` on the same address only shows a page that
 * asks to confirm: link scanners and previews follow GETs, so a GET never unsubscribes anyone.
 */

/** One-click bodies are a single short field; anything much bigger is not one. */
const FORM_BODY_LIMIT = 16 * 1024;

export const mailingRoutes: FastifyPluginAsyncZod<{ ctx: AppContext }> = async (app, { ctx }) => {
  const mailings = ctx.services.mailings;
  const errors = { 400: errorBody, 401: errorBody, 403: errorBody, 404: errorBody, 413: errorBody, 415: errorBody };

  // the bodies a one-click POST may come in (this plugin only): each becomes a plain object of its fields
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: FORM_BODY_LIMIT }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(String(body))));
  });
  app.addContentTypeParser('text/plain', { parseAs: 'string', bodyLimit: FORM_BODY_LIMIT }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(String(body).trim())));
  });
  app.addContentTypeParser('multipart/form-data', { parseAs: 'buffer', bodyLimit: FORM_BODY_LIMIT }, (req, body, done) => {
    const type = String(req.headers['content-type']);
    new Response(body as Buffer<ArrayBuffer>, { headers: { 'content-type': type } })
      .formData()
      .then((form) => {
        const fields: Record<string, string> = {};
        for (const [k, v] of form.entries()) if (typeof v === 'string') fields[k] = v;
        done(null, fields);
      })
      .catch(() => done(new AppError('bad_request', 'The multipart/form-data body could not be read.', 400), undefined));
  });

  app.get(
    '/api/me/email-preferences',
    { schema: { tags: ['account'], summary: 'Your email preferences (product updates on or off)', response: { 200: emailPreferences, ...errors } } },
    async (req, reply) => {
      const s = await requireUser(ctx, req, reply);
      return mailings.preferences(s.user.id);
    },
  );

  app.put(
    '/api/me/email-preferences',
    {
      schema: {
        tags: ['account'],
        summary: 'Turn product-update emails on or off (account emails are always sent)',
        body: updateEmailPreferences,
        response: { 200: emailPreferences, ...errors },
      },
    },
    async (req, reply) => {
      const s = await requireUser(ctx, req, reply);
      return mailings.setPreferences(s.user.id, { productUpdates: req.body.productUpdates });
    },
  );

  const tokenParams = z.object({ token: unsubscribeToken });

  app.get(
    '/api/unsubscribe/:token',
    { schema: { tags: ['account'], summary: 'The unsubscribe link of a product-update email: opens the page that asks to confirm', params: tokenParams } },
    async (req, reply) => {
      // never unsubscribes: scanners and previews follow links
      return reply
        .header('cache-control', 'no-store')
        .header('referrer-policy', 'no-referrer')
        .redirect(`/unsubscribe/${encodeURIComponent(req.params.token)}`, 302);
    },
  );

  app.get(
    '/api/unsubscribe/:token/status',
    {
      schema: {
        tags: ['account'],
        summary: 'Whether the account of an unsubscribe link gets product updates',
        params: tokenParams,
        response: { 200: unsubscribeStatus, ...errors },
      },
    },
    async (req, reply) => {
      reply.header('cache-control', 'no-store');
      return mailings.subscriptionByToken(req.params.token);
    },
  );

  app.post(
    '/api/unsubscribe/:token',
    {
      schema: {
        tags: ['account'],
        summary: 'One-click unsubscribe from product updates (RFC 8058): body List-Unsubscribe=One-Click',
        consumes: ['application/x-www-form-urlencoded', 'multipart/form-data'],
        params: tokenParams,
        response: { 200: unsubscribeResult, ...errors },
      },
    },
    async (req, reply) => {
      const body = req.body as Record<string, unknown> | undefined | null;
      if (!body || typeof body !== 'object' || body['List-Unsubscribe'] !== 'One-Click') {
        throw new AppError('one_click_required', 'Send the body List-Unsubscribe=One-Click to unsubscribe.', 400);
      }
      const { changed } = await mailings.unsubscribe(req.params.token);
      reply.header('cache-control', 'no-store');
      return { productUpdates: false as const, changed };
    },
  );
};
