import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { errorBody } from '../../../shared/api';
import {
  confirmChildBody,
  confirmChildResult,
  privacyRequestBody,
  privacyRequestDetail,
  privacyRequestList,
  privacyRequestListQuery,
  privacyRequestPatch,
  privacyRequestReceipt,
} from '../../../shared/api/privacy-requests';
import type { AppContext } from '../../context';
import { getSession } from '../plugins/session';
import { consoleTrail, requireRecentAuth, requireStaff, staffOnly } from '../plugins/staff';
import { answering } from './uploads';

/**
 * Privacy requests (privacy policy 5, 6, 12): the public form, and the operators' queue (support
 * and admins; confirming a child report, which deletes an account, is for admins who signed in or
 * confirmed their password within the last minutes). Anyone else gets 404 from the queue, other
 * staff 403 (issue 18); operators' changes are audited. The rules live in domain/privacy/requests.service.ts.
 */
export const privacyRequestRoutes: FastifyPluginAsyncZod<{ ctx: AppContext }> = async (app, { ctx }) => {
  const requests = ctx.services.privacyRequests;
  const errors = { 400: errorBody, 401: errorBody, 403: errorBody, 404: errorBody, 409: errorBody };
  const params = z.object({ id: z.string().min(1).max(100) });

  app.post(
    '/api/privacy-requests',
    {
      schema: {
        tags: ['privacy'],
        summary: 'Send a privacy request or report an account used by a child (no account needed)',
        description:
          'Answers with a reference and the date the operators answer by; the sender gets a receipt by mail and the operators a notice. Signed in, the request is linked to the account. Limited per IP address and per email address per hour.',
        body: privacyRequestBody,
        response: { 201: privacyRequestReceipt, 400: errorBody, 429: errorBody },
      },
    },
    async (req, reply) =>
      answering(reply, async () => {
        const session = await getSession(ctx, req, reply);
        const receipt = await requests.submit(req.body, { ip: req.ip, userId: session?.user.id ?? null });
        return reply.status(201).send(receipt);
      }),
  );

  app.get(
    '/api/admin/privacy-requests',
    {
      ...staffOnly(ctx, 'privacy.handle'),
      schema: {
        tags: ['privacy'],
        summary: 'Privacy requests, soonest due first (support, admin)',
        querystring: privacyRequestListQuery,
        response: { 200: privacyRequestList, ...errors },
      },
    },
    async (req, reply) => {
      await requireStaff(ctx, req, 'privacy.handle', reply);
      const q = req.query;
      return requests.list({
        status: q.status,
        limit: q.limit,
        ...(q.overdue ? { overdue: q.overdue === 'true' } : {}),
        ...(q.kind ? { kind: q.kind } : {}),
        ...(q.cursor ? { cursor: q.cursor } : {}),
      });
    },
  );

  app.get(
    '/api/admin/privacy-requests/:id',
    {
      ...staffOnly(ctx, 'privacy.handle'),
      schema: {
        tags: ['privacy'],
        summary: 'One privacy request, with the account it is about (support, admin)',
        params,
        response: { 200: privacyRequestDetail, ...errors },
      },
    },
    async (req, reply) => {
      await requireStaff(ctx, req, 'privacy.handle', reply);
      return requests.get(req.params.id);
    },
  );

  app.patch(
    '/api/admin/privacy-requests/:id',
    {
      ...staffOnly(ctx, 'privacy.handle'),
      schema: {
        tags: ['privacy'],
        summary: 'Move a privacy request on, or close it with what was done (support, admin)',
        params,
        body: privacyRequestPatch,
        response: { 200: privacyRequestDetail, ...errors },
      },
    },
    async (req, reply) => {
      const session = await requireStaff(ctx, req, 'privacy.handle', reply);
      return requests.update(session.user.id, req.params.id, req.body, consoleTrail(ctx, req, session));
    },
  );

  app.post(
    '/api/admin/privacy-requests/:id/confirm-child',
    {
      ...staffOnly(ctx, 'users.manage'),
      schema: {
        tags: ['privacy'],
        summary: 'Confirm a report about a child: the account it names is deleted and the report closed (admin)',
        description:
          'Deletes the account at once through the account deletion (what a legal hold covers stays until the hold ends; the pseudonymised orders stay for the tax period).',
        params,
        body: confirmChildBody,
        response: { 200: confirmChildResult, ...errors },
      },
    },
    async (req, reply) => {
      const session = await requireStaff(ctx, req, 'users.manage', reply);
      // it deletes an account: the operator signed in or confirmed the password within the last minutes
      await requireRecentAuth(ctx, session);
      return requests.confirmChild(session.user.id, req.params.id, req.body.reason, consoleTrail(ctx, req, session));
    },
  );
};
