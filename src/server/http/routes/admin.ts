import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { errorBody, userRole, userStatus } from '../../../shared/api';
import type { AppContext } from '../../context';
import { requireRole } from '../plugins/session';

const adminUser = z.object({
  id: z.string(),
  email: z.string(),
  name: z.string(),
  role: userRole,
  status: userStatus,
  credits: z.number(),
  createdAt: z.string(),
});

/** Operator console API (support and admins). More arrives with moderation and billing. */
export const adminRoutes: FastifyPluginAsyncZod<{ ctx: AppContext }> = async (app, { ctx }) => {
  app.get(
    '/api/admin/users',
    {
      schema: {
        tags: ['admin'],
        summary: 'List users (support, admin)',
        querystring: z.object({ limit: z.coerce.number().int().min(1).max(200).default(50), offset: z.coerce.number().int().min(0).default(0) }),
        response: { 200: z.object({ users: z.array(adminUser) }), 401: errorBody, 403: errorBody },
      },
    },
    async (req, reply) => {
      await requireRole(ctx, req, ['support'], reply);
      const users = await ctx.services.users.list({ limit: req.query.limit, offset: req.query.offset });
      return { users: users.map((u) => ({ ...u, createdAt: u.createdAt.toISOString() })) };
    },
  );

  app.post(
    '/api/admin/users/:id/delete',
    {
      schema: {
        tags: ['admin'],
        summary: 'Delete an account (admin)',
        description:
          "Deletes the account, its creations and its references, with their files (orders keep their record, unlinked). What a legal hold covers stays, and the account is then closed (terminated, signed out) until the hold ends. Used, for example, when data is reported as a child's (privacy policy 6).",
        params: z.object({ id: z.string().min(1).max(100) }),
        body: z.object({ reason: z.string().trim().min(1).max(2000) }),
        response: {
          200: z.object({
            userId: z.string(),
            outcome: z.enum(['deleted', 'closed']),
            removed: z.object({ generations: z.number(), media: z.number() }),
            kept: z.object({ generations: z.number(), media: z.number() }),
          }),
          400: errorBody,
          401: errorBody,
          403: errorBody,
          404: errorBody,
        },
      },
    },
    async (req, reply) => {
      const admin = await requireRole(ctx, req, ['admin'], reply);
      return ctx.services.accountDeletion.deleteAccount(req.params.id, { actorId: admin.user.id, reason: req.body.reason });
    },
  );
};
