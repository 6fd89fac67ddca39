import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import {
  can,
  connectionTestBody,
  connectionTestParams,
  connectionTestResult,
  errorBody,
  settingsView,
  updateSettingsBody,
  updateSettingsResult,
  type ConsolePermission,
} from '../../../../shared/api';
import type { AppContext } from '../../../context';
import { consoleActor, requireRecentAuth, requireStaff } from '../../plugins/staff';

const errors = { 400: errorBody, 401: errorBody, 403: errorBody, 404: errorBody, 409: errorBody };

/**
 * The console's settings (issue 18): support reads them, admins change them (after re-entering
 * the password within 10 minutes) and test the connections. Rules, sealing and the audit entries
 * live in domain/admin/settings.service.ts.
 */
export const adminSettingsRoutes: FastifyPluginAsyncZod<{ ctx: AppContext }> = async (app, { ctx }) => {
  const settings = ctx.services.settings;

  /** the role check runs before the body is read: whoever is not staff gets the same 404 for any body */
  const staff = (permission: ConsolePermission) => ({
    preValidation: async (req: FastifyRequest, reply: FastifyReply) => {
      await requireStaff(ctx, req, permission, reply);
    },
  });

  app.get(
    '/api/admin/settings',
    {
      ...staff('settings.view'),
      schema: {
        tags: ['admin'],
        summary: 'Every console setting, where its value comes from, and whether it applies live (support, admin)',
        description:
          'The environment wins where it sets a variable (`source: environment`, not editable), then the value saved here, then the default. ' +
          'Secrets are never returned: `set` and a short `hint` only.',
        response: { 200: settingsView, ...errors },
      },
    },
    async (req, reply) => {
      const session = await requireStaff(ctx, req, 'settings.view', reply);
      return settings.view({ canEdit: can(session.user.role, 'settings.edit') });
    },
  );

  app.put(
    '/api/admin/settings',
    {
      ...staff('settings.edit'),
      schema: {
        tags: ['admin'],
        summary: 'Save settings (admin, after re-authentication)',
        description:
          '`values` maps setting names to values as the environment would give them; null (or an empty string) clears the saved value, back to the default. ' +
          'One transaction and one audit entry per changed setting; every web and worker process applies live settings within a second.',
        body: updateSettingsBody,
        response: { 200: updateSettingsResult, ...errors },
      },
    },
    async (req, reply) => {
      const session = await requireStaff(ctx, req, 'settings.edit', reply);
      await requireRecentAuth(ctx, session);
      return settings.update(consoleActor(req, session), req.body.values);
    },
  );

  app.post(
    '/api/admin/settings/test/:provider',
    {
      ...staff('settings.edit'),
      schema: {
        tags: ['admin'],
        summary: 'Test the connection to KIE, fal, Stripe, Creem, NOWPayments or the SMTP server (admin)',
        description: 'One cheap authenticated call with the settings in effect, or with `values` typed but not saved (blank secrets: the ones in effect).',
        params: connectionTestParams,
        body: connectionTestBody,
        response: { 200: connectionTestResult, ...errors },
      },
    },
    async (req, reply) => {
      await requireStaff(ctx, req, 'settings.edit', reply);
      return settings.test(req.params.provider, req.body?.values);
    },
  );
};
