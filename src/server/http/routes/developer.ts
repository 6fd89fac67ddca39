import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { apiKeyList, createApiKeyInput, createdApiKey, errorBody, usageQuery, usageResponse } from '../../../shared/api';
import type { AppContext } from '../../context';
import { requireUser, requireVerifiedUser } from '../plugins/session';

const errors = { 400: errorBody, 401: errorBody, 403: errorBody, 404: errorBody, 409: errorBody };

/** API keys and API usage, for the signed-in user (a session, never an API key). */
export const developerRoutes: FastifyPluginAsyncZod<{ ctx: AppContext }> = async (app, { ctx }) => {
  app.get(
    '/api/keys',
    { schema: { tags: ['developer'], summary: 'Your API keys (never their secrets)', response: { 200: apiKeyList, ...errors } } },
    async (req, reply) => {
      const s = await requireUser(ctx, req, reply);
      return { keys: await ctx.services.developer.listKeys(s.user.id) };
    },
  );

  app.post(
    '/api/keys',
    {
      schema: {
        tags: ['developer'],
        summary: 'Create an API key: the secret is in this answer only',
        description: 'Needs a verified email address (403 `email_not_verified`).',
        body: createApiKeyInput,
        response: { 201: createdApiKey, ...errors },
      },
    },
    async (req, reply) => {
      const s = await requireVerifiedUser(ctx, req, reply);
      const key = await ctx.services.developer.createKey(s.user.id, req.body);
      return reply.status(201).header('cache-control', 'no-store').send(key);
    },
  );

  app.delete(
    '/api/keys/:id',
    {
      schema: {
        tags: ['developer'],
        summary: 'Revoke an API key (at once, for good)',
        params: z.object({ id: z.string().max(100) }),
        response: { 204: z.null(), ...errors },
      },
    },
    async (req, reply) => {
      const s = await requireUser(ctx, req, reply);
      await ctx.services.developer.revokeKey(s.user.id, req.params.id);
      return reply.status(204).send(null);
    },
  );

  app.get(
    '/api/usage',
    {
      schema: {
        tags: ['developer'],
        summary: 'Your API usage per day and the recent request log',
        querystring: usageQuery,
        response: { 200: usageResponse, ...errors },
      },
    },
    async (req, reply) => {
      const s = await requireUser(ctx, req, reply);
      return ctx.services.developer.usage(s.user.id, req.query.days);
    },
  );
};
