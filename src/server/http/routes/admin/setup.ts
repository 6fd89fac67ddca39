import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { claimAdminResult, errorBody, setupChecklist } from '../../../../shared/api';
import type { AppContext } from '../../../context';
import { requireUser } from '../../plugins/session';
import { consoleActor, requireStaff } from '../../plugins/staff';

const errors = { 400: errorBody, 401: errorBody, 403: errorBody, 404: errorBody, 409: errorBody };

/**
 * The first run (issue 18): the first account claims the admin role while there is none (GET
 * /api/me says `canClaimAdmin`), then the setup checklist. The CLI does the same with
 * `npm run cli -- user:role --email E --role admin`.
 */
export const adminSetupRoutes: FastifyPluginAsyncZod<{ ctx: AppContext }> = async (app, { ctx }) => {
  const setup = ctx.services.setup;

  app.post(
    '/api/setup/claim-admin',
    {
      schema: {
        tags: ['admin'],
        summary: 'Claim the admin role on a fresh install (the first account, while no admin exists)',
        description: 'Succeeds only for the oldest active account and only while no admin exists; two claims at once cannot both win. Audited.',
        response: { 200: claimAdminResult, ...errors },
      },
    },
    async (req, reply) => {
      const session = await requireUser(ctx, req, reply);
      await setup.claimAdmin(consoleActor(req, session));
      return { role: 'admin' as const };
    },
  );

  app.get(
    '/api/admin/setup',
    {
      preValidation: async (req: FastifyRequest, reply: FastifyReply) => {
        await requireStaff(ctx, req, 'setup.manage', reply);
      },
      schema: {
        tags: ['admin'],
        summary: 'The setup checklist: providers, payments, mail, storage, policies, moderation lists (admin)',
        response: { 200: setupChecklist, ...errors },
      },
    },
    async (req, reply) => {
      await requireStaff(ctx, req, 'setup.manage', reply);
      return setup.checklist();
    },
  );
};
