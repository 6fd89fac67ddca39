import { Readable } from 'node:stream';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { auditList, auditListQuery, errorBody, type AuditListQuery } from '../../../../shared/api';
import type { AppContext } from '../../../context';
import type { AuditFilter } from '../../../domain/admin/audit.repo';
import { AppError } from '../../../errors';
import { requireStaff, staffOnly } from '../../plugins/staff';

const errors = { 400: errorBody, 401: errorBody, 403: errorBody, 404: errorBody };
const csvQuery = auditListQuery.omit({ before: true, limit: true });

/** The query's filters for the audit repository (a date range that ends before it starts is a 400). */
function filterOf(q: Omit<AuditListQuery, 'before' | 'limit'>): Omit<AuditFilter, 'limit' | 'before'> {
  const from = q.from ? new Date(q.from) : undefined;
  const to = q.to ? new Date(q.to) : undefined;
  if (from && to && from > to) {
    throw new AppError('invalid_request', '`from` is after `to`: the date range ends before it starts.', 400, {
      fields: [{ field: 'to', message: 'is before from' }],
    });
  }
  return {
    ...(q.actor?.trim() ? { actor: q.actor.trim() } : {}),
    ...(q.action?.trim() ? { action: q.action.trim() } : {}),
    ...(q.targetType?.trim() ? { targetType: q.targetType.trim() } : {}),
    ...(q.targetId?.trim() ? { targetId: q.targetId.trim() } : {}),
    ...(from ? { from } : {}),
    ...(to ? { to } : {}),
  };
}

/**
 * The audit log (issue 18; admins): read and export only. Nothing here, or anywhere, updates or
 * deletes an entry (the table refuses it: migration 0010).
 */
export const adminAuditRoutes: FastifyPluginAsyncZod<{ ctx: AppContext }> = async (app, { ctx }) => {
  app.get(
    '/api/admin/audit',
    {
      ...staffOnly(ctx, 'audit.view'),
      schema: {
        tags: ['admin'],
        summary: 'Operator actions, newest first (admin)',
        description:
          '`actor` matches an operator id or part of the actor’s label (email, `cli:`); `action` is an action, or a prefix ending in `.` (`user.`); ' +
          '`from`/`to` bound the time. Pass `nextBefore` as `before` for the next page.',
        querystring: auditListQuery,
        response: { 200: auditList, ...errors },
      },
    },
    async (req, reply) => {
      await requireStaff(ctx, req, 'audit.view', reply);
      const { before, limit, ...rest } = req.query;
      const rows = await ctx.services.audit.list({ ...filterOf(rest), ...(before ? { before } : {}), limit: limit + 1 });
      const entries = rows.slice(0, limit);
      reply.header('cache-control', 'no-store');
      return { entries, nextBefore: rows.length > limit ? (entries.at(-1)?.id ?? null) : null };
    },
  );

  app.get(
    '/api/admin/audit.csv',
    {
      ...staffOnly(ctx, 'audit.view'),
      schema: {
        tags: ['admin'],
        summary: 'The audit log as CSV, with the same filters (admin)',
        description: 'Every matching entry, newest first, streamed. Text a spreadsheet would run as a formula is prefixed with a quote.',
        querystring: csvQuery,
      },
    },
    async (req, reply) => {
      await requireStaff(ctx, req, 'audit.view', reply);
      const filter = filterOf(req.query);
      const day = ctx.clock.now().toISOString().slice(0, 10);
      return reply
        .header('content-type', 'text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="audit-log-${day}.csv"`)
        .header('cache-control', 'no-store')
        .header('x-content-type-options', 'nosniff')
        .send(Readable.from(ctx.services.audit.csv(filter)));
    },
  );
};
