import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { errorBody } from '../../../shared/api';
import { holdList, holdSubject, holdView, ncmecReportView, placeHoldBody, releaseHoldBody } from '../../../shared/api/moderation';
import type { AppContext } from '../../context';
import { toHoldView } from '../../domain/moderation/holds.service';
import type { NcmecReportRow } from '../../domain/moderation/ncmec.repo';
import { consoleTrail, requireStaff, staffOnly } from '../plugins/staff';

/**
 * Legal holds (moderators and admins place and list; only admins release) and the CyberTipline
 * reports (admins: list, and retry one that is queued or failed, e.g. once NCMEC credentials are
 * configured). Rules live in domain/moderation/holds.service.ts and ncmec.service.ts. Console routes
 * (issue 18): whoever is not staff gets 404, staff without the permission 403; changes are audited.
 */

const toReportView = (r: NcmecReportRow): z.infer<typeof ncmecReportView> => ({
  id: r.id,
  caseId: r.caseId,
  status: r.status,
  environment: r.environment,
  reportId: r.reportId,
  attempts: r.attempts,
  lastError: r.lastError,
  createdAt: r.createdAt.toISOString(),
  updatedAt: r.updatedAt.toISOString(),
  finishedAt: r.finishedAt?.toISOString() ?? null,
});

export const holdsRoutes: FastifyPluginAsyncZod<{ ctx: AppContext }> = async (app, { ctx }) => {
  const errors = { 400: errorBody, 401: errorBody, 403: errorBody, 404: errorBody, 409: errorBody };

  app.get(
    '/api/moderation/holds',
    {
      schema: {
        tags: ['moderation'],
        summary: 'List legal holds, newest first (moderator, admin)',
        querystring: z.object({
          active: z.enum(['true', 'false']).optional(),
          subjectKind: holdSubject.optional(),
          subjectId: z.string().min(1).max(100).optional(),
          caseId: z.string().min(1).max(100).optional(),
          limit: z.coerce.number().int().min(1).max(200).default(100),
        }),
        response: { 200: holdList, ...errors },
      },
      ...staffOnly(ctx, 'moderation.review'),
    },
    async (req, reply) => {
      await requireStaff(ctx, req, 'moderation.review', reply);
      const q = req.query;
      const rows = await ctx.services.holds.list({
        limit: q.limit,
        ...(q.active ? { active: q.active === 'true' } : {}),
        ...(q.subjectKind ? { subjectKind: q.subjectKind } : {}),
        ...(q.subjectId ? { subjectId: q.subjectId } : {}),
        ...(q.caseId ? { caseId: q.caseId } : {}),
      });
      return { items: rows.map(toHoldView) };
    },
  );

  app.post(
    '/api/moderation/holds',
    {
      schema: { tags: ['moderation'], summary: 'Place a legal hold (moderator, admin)', body: placeHoldBody, response: { 201: holdView, ...errors } },
      ...staffOnly(ctx, 'moderation.review'),
    },
    async (req, reply) => {
      const session = await requireStaff(ctx, req, 'moderation.review', reply);
      const row = await ctx.services.holds.place(session.user.id, req.body, undefined, consoleTrail(ctx, req, session));
      return reply.code(201).send(toHoldView(row));
    },
  );

  app.post(
    '/api/moderation/holds/:id/release',
    {
      schema: {
        tags: ['moderation'],
        summary: 'Release a legal hold (admin)',
        params: z.object({ id: z.string().max(100) }),
        body: releaseHoldBody,
        response: { 200: holdView, ...errors },
      },
      ...staffOnly(ctx, 'moderation.manage'),
    },
    async (req, reply) => {
      const session = await requireStaff(ctx, req, 'moderation.manage', reply);
      return toHoldView(await ctx.services.holds.release(session.user.id, req.params.id, req.body.reason, consoleTrail(ctx, req, session)));
    },
  );

  app.get(
    '/api/moderation/ncmec-reports',
    {
      schema: {
        tags: ['moderation'],
        summary: 'CyberTipline reports, newest first (admin)',
        querystring: z.object({ status: z.enum(['queued', 'submitting', 'submitted', 'failed', 'retracted']).optional() }),
        response: { 200: z.object({ items: z.array(ncmecReportView), unavailable: z.string().nullable() }), ...errors },
      },
      ...staffOnly(ctx, 'moderation.manage'),
    },
    async (req, reply) => {
      await requireStaff(ctx, req, 'moderation.manage', reply);
      const rows = await ctx.services.ncmec.list(req.query.status ? { status: req.query.status } : {});
      return { items: rows.map(toReportView), unavailable: ctx.services.ncmec.unavailableReason() };
    },
  );

  app.post(
    '/api/moderation/ncmec-reports/:id/retry',
    {
      schema: {
        tags: ['moderation'],
        summary: 'Send a queued or failed CyberTipline report again (admin)',
        params: z.object({ id: z.string().max(100) }),
        response: { 202: ncmecReportView, ...errors },
      },
      ...staffOnly(ctx, 'moderation.manage'),
    },
    async (req, reply) => {
      const session = await requireStaff(ctx, req, 'moderation.manage', reply);
      const row = await ctx.services.ncmec.retry(session.user.id, req.params.id, consoleTrail(ctx, req, session));
      return reply.code(202).send(toReportView(row));
    },
  );
};
