import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import {
  adminDeleteUser,
  adminDeleteUserResult,
  adminIdempotencyHeaders,
  adminUserCreditsBody,
  adminUserCreditsResult,
  adminUserDetail,
  adminUserIdParams,
  adminUserLedgerQuery,
  adminUserReasonBody,
  adminUserRoleBody,
  adminUserRow,
  adminUserSearchQuery,
  adminUserSearchResult,
  adminUserSignOutResult,
  creditsResponse,
  errorBody,
  exportView,
  requestExportBody,
  type AdminDeleteUserResult,
} from '../../../../shared/api';
import type { AppContext } from '../../../context';
import { consoleActor, requireRecentAuth, requireStaff, staffOnly } from '../../plugins/staff';

const errors = { 400: errorBody, 401: errorBody, 403: errorBody, 404: errorBody, 409: errorBody };

/**
 * The console's users section (issue 18): search, a user's page and the actions on an account.
 * Rules and the audit entries live in domain/admin/users-console.service.ts; the CLI's user
 * commands call the same functions.
 */
export const adminUsersRoutes: FastifyPluginAsyncZod<{ ctx: AppContext }> = async (app, { ctx }) => {
  const users = ctx.services.usersConsole;
  // (staffOnly checks the role before the body is read: whoever is not staff gets the same 404 for any body)
  const staff = (permission: Parameters<typeof staffOnly>[1]) => staffOnly(ctx, permission);

  app.get(
    '/api/admin/users',
    {
      ...staff('users.view'),
      schema: {
        tags: ['admin'],
        summary: 'Search users (support, admin)',
        description:
          'q matches an email (prefix or exact, any letter case), part of a name, a user id, an IP address a session came from, or a referral code; ' +
          'empty q lists everyone. Newest accounts first; pass nextCursor as cursor for the next page.',
        querystring: adminUserSearchQuery,
        response: { 200: adminUserSearchResult, ...errors },
      },
    },
    async (req, reply) => {
      await requireStaff(ctx, req, 'users.view', reply);
      return users.search(req.query);
    },
  );

  app.get(
    '/api/admin/users/:id',
    {
      ...staff('users.view'),
      schema: {
        tags: ['admin'],
        summary: "A user's page: profile, devices and sessions, credits, orders, generations, API keys, flags and cases, consent, privacy (support, admin)",
        params: adminUserIdParams,
        response: { 200: adminUserDetail, ...errors },
      },
    },
    async (req, reply) => {
      await requireStaff(ctx, req, 'users.view', reply);
      return users.detail(req.params.id);
    },
  );

  app.get(
    '/api/admin/users/:id/ledger',
    {
      ...staff('users.view'),
      schema: {
        tags: ['admin'],
        summary: "A user's credit balance and ledger, newest first (support, admin)",
        params: adminUserIdParams,
        querystring: adminUserLedgerQuery,
        response: { 200: creditsResponse, ...errors },
      },
    },
    async (req, reply) => {
      await requireStaff(ctx, req, 'users.view', reply);
      return users.ledger(req.params.id, req.query);
    },
  );

  app.post(
    '/api/admin/users/:id/credits',
    {
      ...staff('users.act'),
      schema: {
        tags: ['admin'],
        summary: 'Grant or deduct credits with a reason (support, admin)',
        description:
          'A positive amount grants, a negative one deducts; a deduction never takes the balance below zero (409 insufficient_credits, nothing changes). ' +
          'An Idempotency-Key header makes a repeated request (a double click, a retry) apply once: the repeat answers replayed=true.',
        params: adminUserIdParams,
        headers: adminIdempotencyHeaders,
        body: adminUserCreditsBody,
        response: { 200: adminUserCreditsResult, ...errors },
      },
    },
    async (req, reply) => {
      const s = await requireStaff(ctx, req, 'users.act', reply);
      return users.changeCredits(consoleActor(req, s), req.params.id, {
        amount: req.body.amount,
        reason: req.body.reason,
        idempotencyKey: req.headers['idempotency-key'],
      });
    },
  );

  for (const [action, status, permission] of [
    ['suspend', 'suspended', 'users.act'],
    ['reactivate', 'active', 'users.act'],
    ['terminate', 'terminated', 'users.manage'],
  ] as const) {
    app.post(
      `/api/admin/users/:id/${action}`,
      {
        ...staff(permission),
        schema: {
          tags: ['admin'],
          summary:
            action === 'terminate'
              ? 'Terminate an account: signs it out and blocks sign-in for good (admin, recent sign-in)'
              : action === 'suspend'
                ? 'Suspend an account: signs it out and blocks sign-in and generation (support, admin)'
                : 'Lift a suspension or termination (support, admin)',
          params: adminUserIdParams,
          body: adminUserReasonBody,
          response: { 200: adminUserRow, ...errors },
        },
      },
      async (req, reply) => {
        const s = await requireStaff(ctx, req, permission, reply);
        if (action === 'terminate') await requireRecentAuth(ctx, s);
        return users.setStatus(consoleActor(req, s), req.params.id, status, req.body.reason);
      },
    );
  }

  app.post(
    '/api/admin/users/:id/role',
    {
      ...staff('users.manage'),
      schema: {
        tags: ['admin'],
        summary: 'Change a role (admin, recent sign-in)',
        description: 'An admin cannot change their own role, and the last active admin stays admin (409).',
        params: adminUserIdParams,
        body: adminUserRoleBody,
        response: { 200: adminUserRow, ...errors },
      },
    },
    async (req, reply) => {
      const s = await requireStaff(ctx, req, 'users.manage', reply);
      await requireRecentAuth(ctx, s);
      return users.setRole(consoleActor(req, s), req.params.id, req.body.role, req.body.reason);
    },
  );

  app.post(
    '/api/admin/users/:id/sign-out-everywhere',
    {
      ...staff('users.act'),
      schema: {
        tags: ['admin'],
        summary: 'End every session of an account (support, admin)',
        params: adminUserIdParams,
        body: adminUserReasonBody.partial().optional(),
        response: { 200: adminUserSignOutResult, ...errors },
      },
    },
    async (req, reply) => {
      const s = await requireStaff(ctx, req, 'users.act', reply);
      return users.signOutEverywhere(consoleActor(req, s), req.params.id, req.body?.reason);
    },
  );

  app.post(
    '/api/admin/users/:id/export',
    {
      ...staff('users.act'),
      schema: {
        tags: ['admin'],
        summary: "Start an export of a user's data on their behalf; the link is mailed to the user (support, admin)",
        params: adminUserIdParams,
        body: requestExportBody,
        response: { 202: exportView, ...errors },
      },
    },
    async (req, reply) => {
      const s = await requireStaff(ctx, req, 'users.act', reply);
      return reply.status(202).send(await users.startExport(consoleActor(req, s), req.params.id));
    },
  );

  app.post(
    '/api/admin/users/:id/delete',
    {
      ...staff('users.manage'),
      schema: {
        tags: ['admin'],
        summary: 'Delete an account, now or after the grace period (admin, recent sign-in)',
        description:
          "when=now (the default) deletes at once: the account's subscriptions are canceled with the payment provider first, then its profile, sessions, " +
          'sign-in methods, creations, references, keys, webhooks and files go, and what the law keeps (orders, their ledger rows, subscriptions, safety ' +
          'cases) stays under a pseudonym (subjectRef). What a legal hold covers stays, and the account is then closed (terminated, signed out) until the ' +
          'hold ends. when=grace starts the grace period (ACCOUNT_DELETION_GRACE_DAYS): the user is signed out and mailed, and may cancel by signing in. ' +
          "Used, for example, for a deletion request that came by mail, or data reported as a child's (privacy policy 5 and 6).",
        params: adminUserIdParams,
        body: adminDeleteUser,
        response: { 200: adminDeleteUserResult, ...errors, 502: errorBody },
      },
    },
    async (req, reply): Promise<AdminDeleteUserResult> => {
      const s = await requireStaff(ctx, req, 'users.manage', reply);
      await requireRecentAuth(ctx, s);
      const r = await users.deleteAccount(consoleActor(req, s), req.params.id, { when: req.body.when, reason: req.body.reason });
      return r.outcome === 'scheduled' ? { ...r, dueAt: r.dueAt.toISOString() } : r;
    },
  );
};
