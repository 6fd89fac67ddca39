import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { dashboardQuery, dashboardView, errorBody } from '../../../../shared/api';
import type { AppContext } from '../../../context';
import { requireStaff } from '../../plugins/staff';

/** The console's dashboard routes (issue 18). */
export const adminDashboardRoutes: FastifyPluginAsyncZod<{ ctx: AppContext }> = async (app, { ctx }) => {
  app.get(
    '/api/admin/dashboard',
    {
      schema: {
        tags: ['admin'],
        summary: 'The dashboard: sign-ups, activity, generations, credits, money, moderation and the job queue (admin)',
        description:
          'range=24h gives hourly points, 7d, 30d and 90d daily points (UTC), with the totals of the range and of the previous range of the ' +
          'same length. Served from the hourly aggregates that the admin.stats-rollup job keeps up to date every minute (computedThrough says ' +
          'how far), plus live figures: waiting jobs per queue and generations stuck past their deadline.',
        querystring: dashboardQuery,
        response: { 200: dashboardView, 400: errorBody, 403: errorBody, 404: errorBody },
      },
    },
    async (req, reply) => {
      await requireStaff(ctx, req, 'dashboard.view', reply);
      return ctx.services.stats.dashboard(req.query.range, ctx.clock.now());
    },
  );
};
