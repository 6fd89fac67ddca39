import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { adminDeleteUser, adminDeleteUserResult, errorBody, userRole, userStatus, type AdminDeleteUserResult } from '../../../../shared/api';
import type { AppContext } from '../../../context';
import { AppError } from '../../../errors';
import { requireRole } from '../../plugins/session';

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
export const adminUsersRoutes: FastifyPluginAsyncZod<{ ctx: AppContext }> = async (app, { ctx }) => {
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
        summary: 'Delete an account, now or after the grace period (admin)',
        description:
          "when=now (the default) deletes at once: the account's subscriptions are canceled with the payment provider first, then its profile, sessions, " +
          'sign-in methods, creations, references, keys, webhooks and files go, and what the law keeps (orders, their ledger rows, subscriptions, safety ' +
          'cases) stays under a pseudonym (subjectRef). What a legal hold covers stays, and the account is then closed (terminated, signed out) until the ' +
          'hold ends. when=grace starts the grace period (ACCOUNT_DELETION_GRACE_DAYS): the user is signed out and mailed, and may cancel by signing in. ' +
          "Used, for example, for a deletion request that came by mail, or data reported as a child's (privacy policy 5 and 6).",
        params: z.object({ id: z.string().min(1).max(100) }),
        body: adminDeleteUser,
        response: { 200: adminDeleteUserResult, 400: errorBody, 401: errorBody, 403: errorBody, 404: errorBody, 409: errorBody, 502: errorBody },
      },
    },
    async (req, reply): Promise<AdminDeleteUserResult> => {
      const admin = await requireRole(ctx, req, ['admin'], reply);
      if (req.params.id === admin.user.id) {
        throw new AppError('own_account', 'Delete your own account from your account page (it asks for your password and has a grace period).', 409);
      }
      const by = { actorId: admin.user.id, reason: req.body.reason, origin: 'operator' as const };
      if (req.body.when === 'grace') {
        const s = await ctx.services.accountDeletion.schedule(req.params.id, by);
        return { outcome: 'scheduled', userId: req.params.id, deletionId: s.deletionId, dueAt: s.dueAt.toISOString() };
      }
      return ctx.services.accountDeletion.deleteAccount(req.params.id, by);
    },
  );
};
