import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { errorBody } from '../../../../shared/api';
import { addBlockedDomainBody, blockedDomainList, blockedDomainParams, blockedDomainView } from '../../../../shared/api/abuse';
import type { AppContext } from '../../../context';
import { consoleTrail, requireRecentAuth, requireStaff, staffOnly } from '../../plugins/staff';

const errors = { 400: errorBody, 401: errorBody, 403: errorBody, 404: errorBody, 409: errorBody };

/**
 * The operator's own disposable-mail domains (issue 19), besides the maintained list: admins
 * (risk.manage) list, add and remove them; changes need a recent re-authentication and are audited.
 */
export const adminAbuseDomainRoutes: FastifyPluginAsyncZod<{ ctx: AppContext }> = async (app, { ctx }) => {
  app.get(
    '/api/admin/abuse/domains',
    {
      ...staffOnly(ctx, 'risk.manage'),
      schema: {
        tags: ['admin'],
        summary: 'Disposable-mail domains the operator added (admin)',
        description: 'Sign-ups with an address at one of these domains, or at any of its subdomains, are refused, as for the maintained list.',
        response: { 200: blockedDomainList, ...errors },
      },
    },
    async (req, reply) => {
      await requireStaff(ctx, req, 'risk.manage', reply);
      return ctx.services.emailRules.list();
    },
  );

  app.post(
    '/api/admin/abuse/domains',
    {
      ...staffOnly(ctx, 'risk.manage'),
      schema: {
        tags: ['admin'],
        summary: 'Refuse sign-ups at a domain and its subdomains (admin)',
        description:
          'The domain may be written `tempmail.example`, `@tempmail.example` or `*.tempmail.example`; it is stored in lower case. A malformed domain is a 400 `invalid_domain`, one on the list already a 409 `domain_exists`. Needs a recent re-authentication (403 `reauth_required`).',
        body: addBlockedDomainBody,
        response: { 201: blockedDomainView, ...errors },
      },
    },
    async (req, reply) => {
      const session = await requireStaff(ctx, req, 'risk.manage', reply);
      await requireRecentAuth(ctx, session);
      return reply.status(201).send(await ctx.services.emailRules.add(req.body, session.user.email, consoleTrail(ctx, req, session)));
    },
  );

  app.delete(
    '/api/admin/abuse/domains/:domain',
    {
      ...staffOnly(ctx, 'risk.manage'),
      schema: {
        tags: ['admin'],
        summary: 'Remove a domain the operator added (admin)',
        description: 'Only the operator’s additions can be removed (404 otherwise). Needs a recent re-authentication (403 `reauth_required`).',
        params: blockedDomainParams,
        response: { 204: z.null(), ...errors },
      },
    },
    async (req, reply) => {
      const session = await requireStaff(ctx, req, 'risk.manage', reply);
      await requireRecentAuth(ctx, session);
      await ctx.services.emailRules.remove(req.params.domain, consoleTrail(ctx, req, session));
      return reply.status(204).send(null);
    },
  );
};
