import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import {
  adminFreeCreditsBody,
  adminFreeCreditsResult,
  adminUserIdParams,
  adminUserRisk,
  errorBody,
  riskClustersQuery,
  riskClustersResult,
} from '../../../../shared/api';
import type { AppContext } from '../../../context';
import { consoleActor, requireRecentAuth, requireStaff, staffOnly } from '../../plugins/staff';

const errors = { 400: errorBody, 401: errorBody, 403: errorBody, 404: errorBody, 409: errorBody };

/**
 * Risk in the console (issue 19): an account's signals, linked accounts and flags, the clusters of
 * linked accounts, and granting withheld free credits. Rules and the audit entry live in
 * domain/admin/risk-console.service.ts.
 */
export const adminRiskRoutes: FastifyPluginAsyncZod<{ ctx: AppContext }> = async (app, { ctx }) => {
  const risk = ctx.services.riskConsole;
  const staff = (permission: Parameters<typeof staffOnly>[1]) => staffOnly(ctx, permission);

  app.get(
    '/api/admin/users/:id/risk',
    {
      ...staff('risk.view'),
      schema: {
        tags: ['admin'],
        summary: "An account's abuse signals, the accounts sharing them, and its flags with their reasons (support, admin)",
        description:
          'Signals are shown masked. A linked account shares a device, browser fingerprint, card, wallet or canonical address (strong), ' +
          'or only an IP address or its /24 (/64) within RISK_IP_LINK_DAYS of this account’s use (weak).',
        params: adminUserIdParams,
        response: { 200: adminUserRisk, ...errors },
      },
    },
    async (req, reply) => {
      await requireStaff(ctx, req, 'risk.view', reply);
      return risk.userRisk(req.params.id);
    },
  );

  app.get(
    '/api/admin/risk/clusters',
    {
      ...staff('risk.view'),
      schema: {
        tags: ['admin'],
        summary: 'Clusters of accounts linked by one strong signal, largest or newest sign-up first (support, admin)',
        description:
          'A cluster is two or more accounts holding the same device, fingerprint, card, wallet or canonical address. Pass nextCursor as cursor for the next page.',
        querystring: riskClustersQuery,
        response: { 200: riskClustersResult, ...errors },
      },
    },
    async (req, reply) => {
      await requireStaff(ctx, req, 'risk.view', reply);
      return risk.clusters(req.query);
    },
  );

  app.post(
    '/api/admin/users/:id/free-credits',
    {
      ...staff('risk.manage'),
      schema: {
        tags: ['admin'],
        summary: 'Grant the free credits a sign-up decision withheld (admin, recent sign-in)',
        description: 'Once per account: a repeat answers replayed=true and changes nothing. 409 not_withheld when the decision is pending, none, or missing.',
        params: adminUserIdParams,
        body: adminFreeCreditsBody,
        response: { 200: adminFreeCreditsResult, ...errors },
      },
    },
    async (req, reply) => {
      const s = await requireStaff(ctx, req, 'risk.manage', reply);
      await requireRecentAuth(ctx, s);
      return risk.grantFreeCredits(consoleActor(req, s), req.params.id, req.body.reason);
    },
  );
};
