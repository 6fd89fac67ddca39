import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { adminReauth, adminReauthResult, errorBody, isStaff } from '../../../../shared/api';
import type { AppContext } from '../../../context';
import { AppError } from '../../../errors';
import { requireUser } from '../../plugins/session';
import { adminAbuseDomainRoutes } from './abuse-domains';
import { adminAuditRoutes } from './audit';
import { adminCatalogRoutes } from './catalog';
import { adminDashboardRoutes } from './dashboard';
import { adminGenerationsRoutes } from './generations';
import { adminOrdersRoutes } from './orders';
import { adminRiskRoutes } from './risk';
import { adminSettingsRoutes } from './settings';
import { adminSetupRoutes } from './setup';
import { adminUsersRoutes } from './users';

/**
 * The operator console's API (issue 18), under /api/admin. Every route checks the role on the
 * server (plugins/staff.ts: a normal user gets 404); sensitive actions also ask for a recent
 * sign-in or password (POST /api/admin/reauth).
 */
export const adminConsoleRoutes: FastifyPluginAsyncZod<{ ctx: AppContext }> = async (app, { ctx }) => {
  /** any staff member; anyone else gets the not-found answer, before the body is read (as staffOnly does) */
  const staffSession = async (req: FastifyRequest, reply: FastifyReply) => {
    const session = await requireUser(ctx, req, reply).catch(() => null);
    if (!session || !isStaff(session.user.role)) throw new AppError('not_found', `No route matches ${req.method} ${req.url.split('?')[0] ?? req.url}.`, 404);
    return session;
  };
  app.post(
    '/api/admin/reauth',
    {
      onRequest: async (req, reply) => {
        await staffSession(req, reply);
      },
      schema: {
        tags: ['admin'],
        summary: 'Confirm it is you before a sensitive console action (staff)',
        description: 'Checks the password; refunds, role changes, settings and deletions are then allowed for 10 minutes in this session.',
        body: adminReauth,
        response: { 200: adminReauthResult, 400: errorBody, 403: errorBody, 404: errorBody, 429: errorBody },
      },
    },
    async (req, reply) => {
      const session = await staffSession(req, reply);
      const until = await ctx.services.consoleAccess.reauthenticate(session.user.id, session.sessionId, req.body.password);
      return { reauthenticatedUntil: until.toISOString() };
    },
  );
  for (const routes of [
    adminDashboardRoutes,
    adminSetupRoutes,
    adminUsersRoutes,
    adminOrdersRoutes,
    adminGenerationsRoutes,
    adminSettingsRoutes,
    adminCatalogRoutes,
    adminAuditRoutes,
    adminAbuseDomainRoutes,
    adminRiskRoutes,
  ]) {
    await app.register(routes, { ctx });
  }
};
