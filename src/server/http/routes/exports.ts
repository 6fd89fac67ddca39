import type { FastifyReply } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { errorBody } from '../../../shared/api';
import { exportIdParams, exportList, exportTokenQuery, exportView, requestExportBody } from '../../../shared/api/exports';
import type { AppContext } from '../../context';
import { EXPORTS_PER_DAY } from '../../domain/privacy/export.service';
import { AppError } from '../../errors';
import { requireUser } from '../plugins/session';
import { consoleTrail, requireStaff, staffOnly } from '../plugins/staff';

/**
 * Data exports (privacy policy 5). The user asks for one and downloads it from the account page;
 * support and admins start one on a user's behalf (a request that arrived by mail); the link in
 * the ready mail works without a session (HMAC token). Every download answers with a 302 to a
 * short-lived signed URL of the stored ZIP. Rules live in domain/privacy/export.service.ts.
 */

const errors = { 400: errorBody, 401: errorBody, 403: errorBody, 404: errorBody, 409: errorBody, 410: errorBody };
const userParams = z.object({ id: z.string().min(1).max(100) });

/** Retry-After on a 429 (the daily limit), then rethrow for the error handler. */
async function withRetryAfter<T>(reply: FastifyReply, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    const retry =
      err instanceof AppError && err.status === 429
        ? (err.details as { extra?: { retryAfterSeconds?: number } } | undefined)?.extra?.retryAfterSeconds
        : undefined;
    if (retry) reply.header('retry-after', String(retry));
    throw err;
  }
}

export const exportRoutes: FastifyPluginAsyncZod<{ ctx: AppContext }> = async (app, { ctx }) => {
  const exports = ctx.services.exports;
  const limits = { linkDays: ctx.config.EXPORT_LINK_DAYS, perDay: EXPORTS_PER_DAY };

  /** the signed URL is only for this user: never cached by anyone else, and not for long */
  const redirect = (reply: FastifyReply, url: string) =>
    reply.header('cache-control', 'private, no-store').header('referrer-policy', 'no-referrer').redirect(url, 302);

  app.post(
    '/api/me/exports',
    {
      schema: {
        tags: ['account'],
        summary: 'Ask for an export of your data (a ZIP, built in the background; we email a link)',
        body: requestExportBody,
        response: { 202: exportView, ...errors, 429: errorBody },
      },
    },
    async (req, reply) => {
      const s = await requireUser(ctx, req, reply);
      const view = await withRetryAfter(reply, () => exports.request(s.user.id, { requestedBy: null }));
      return reply.status(202).send(view);
    },
  );

  app.get(
    '/api/me/exports',
    { schema: { tags: ['account'], summary: 'Your data exports, newest first', response: { 200: exportList, ...errors } } },
    async (req, reply) => {
      const s = await requireUser(ctx, req, reply);
      return { items: await exports.list(s.user.id), ...limits };
    },
  );

  app.get(
    '/api/me/exports/:id/download',
    { schema: { tags: ['account'], summary: 'Download one of your exports (302 to a short-lived file URL)', params: exportIdParams, response: errors } },
    async (req, reply) => {
      const s = await requireUser(ctx, req, reply);
      return redirect(reply, await exports.download(s.user.id, req.params.id));
    },
  );

  app.get(
    '/api/exports/:id/download',
    {
      schema: {
        tags: ['account'],
        summary: 'Download an export with the link from the email (no sign-in; 302 to a short-lived file URL)',
        params: exportIdParams,
        querystring: exportTokenQuery,
        response: errors,
      },
    },
    async (req, reply) => redirect(reply, await exports.downloadWithToken(req.params.id, req.query.token)),
  );

  app.post(
    '/api/admin/users/:id/exports',
    {
      ...staffOnly(ctx, 'privacy.handle'),
      schema: {
        tags: ['admin'],
        summary: "Start an export of a user's data on their behalf (support, admin); the link is emailed to the user",
        params: userParams,
        body: requestExportBody,
        response: { 202: exportView, ...errors },
      },
    },
    async (req, reply) => {
      const operator = await requireStaff(ctx, req, 'privacy.handle', reply);
      const view = await exports.request(req.params.id, { requestedBy: operator.user.id, audit: consoleTrail(ctx, req, operator) });
      req.log.info({ exportId: view.id, userId: req.params.id, operatorId: operator.user.id }, 'export started by an operator');
      return reply.status(202).send(view);
    },
  );

  app.get(
    '/api/admin/users/:id/exports',
    {
      ...staffOnly(ctx, 'privacy.handle'),
      schema: { tags: ['admin'], summary: "A user's data exports (support, admin)", params: userParams, response: { 200: exportList, ...errors } },
    },
    async (req, reply) => {
      await requireStaff(ctx, req, 'privacy.handle', reply);
      return { items: await exports.list(req.params.id), ...limits };
    },
  );
};
