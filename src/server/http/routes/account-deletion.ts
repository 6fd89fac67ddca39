import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { accountDeletionStatus, requestAccountDeletion } from '../../../shared/api/account-deletion';
import { errorBody } from '../../../shared/api';
import type { AppContext } from '../../context';
import { requireUser } from '../plugins/session';

const errors = { 400: errorBody, 401: errorBody, 403: errorBody, 404: errorBody, 409: errorBody, 429: errorBody };

/** The user's own account deletion (privacy policy 5): ask for it, see when it runs, cancel it. */
export const accountDeletionRoutes: FastifyPluginAsyncZod<{ ctx: AppContext }> = async (app, { ctx }) => {
  const deletion = ctx.services.accountDeletion;

  app.get(
    '/api/me/deletion',
    {
      schema: {
        tags: ['account'],
        summary: 'Whether your account is scheduled for deletion, and how to confirm a request',
        response: { 200: accountDeletionStatus, ...errors },
      },
    },
    async (req, reply) => {
      const s = await requireUser(ctx, req, reply);
      return deletion.status(s.user.id);
    },
  );

  app.post(
    '/api/me/deletion',
    {
      schema: {
        tags: ['account'],
        summary: 'Delete your account (after the grace period)',
        description:
          'Confirm with your password, or, for an account without one, within 10 minutes of signing in with Google. The account is deleted when the grace period ' +
          '(ACCOUNT_DELETION_GRACE_DAYS) ends; every session is signed out and a mail says when, what goes and what stays. Signing in and cancelling ' +
          '(DELETE) stops it. Asking again while one is scheduled changes nothing.',
        body: requestAccountDeletion,
        response: { 202: accountDeletionStatus, ...errors },
      },
    },
    async (req, reply) => {
      const s = await requireUser(ctx, req, reply);
      const view = await deletion.request(s.user.id, { password: req.body.password, sessionCreatedAt: s.createdAt });
      return reply.status(202).send(view);
    },
  );

  app.delete(
    '/api/me/deletion',
    {
      schema: {
        tags: ['account'],
        summary: 'Cancel the scheduled deletion of your account',
        response: { 200: accountDeletionStatus, ...errors },
      },
    },
    async (req, reply) => {
      const s = await requireUser(ctx, req, reply);
      return deletion.cancel(s.user.id);
    },
  );
};
