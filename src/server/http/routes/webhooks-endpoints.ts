import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { errorBody, safeText } from '../../../shared/api';
import { webhookDeliveryView, webhookEndpointInput, webhookEndpointView, webhookEndpointWithSecret, webhookEventTypes } from '../../../shared/api/developer';
import type { AppContext } from '../../context';
import { requireUser, requireVerifiedUser } from '../plugins/session';

const errors = { 400: errorBody, 401: errorBody, 403: errorBody, 404: errorBody, 409: errorBody, 429: errorBody };

/** a change to an endpoint: any of its fields; `description: null` (or "") clears it */
const webhookEndpointPatch = z
  .strictObject({
    url: webhookEndpointInput.shape.url,
    description: safeText().trim().max(200).nullable(),
    events: z.array(z.enum(webhookEventTypes)).min(1),
    enabled: z.boolean(),
  })
  .partial();

const endpointParams = z.object({ id: z.string().min(1).max(100) });

/** Customer webhooks: the signed-in user's endpoints, their signing secrets and delivery logs. */
export const webhookEndpointRoutes: FastifyPluginAsyncZod<{ ctx: AppContext }> = async (app, { ctx }) => {
  const webhooks = ctx.services.webhooks;

  app.get(
    '/api/webhooks/endpoints',
    {
      schema: {
        tags: ['webhooks'],
        summary: 'Your webhook endpoints',
        response: { 200: z.object({ endpoints: z.array(webhookEndpointView) }), ...errors },
      },
    },
    async (req, reply) => {
      const s = await requireUser(ctx, req, reply);
      return { endpoints: await webhooks.list(s.user.id) };
    },
  );

  app.post(
    '/api/webhooks/endpoints',
    {
      schema: {
        tags: ['webhooks'],
        summary: 'Add a webhook endpoint (answers its signing secret)',
        description:
          'The URL must reach a public address. Events are signed per Standard Webhooks with the `whsec_…` secret in the answer (also shown later by GET …/secret). At most 5 enabled endpoints. Needs a verified email address (403 `email_not_verified`).',
        body: webhookEndpointInput,
        response: { 201: webhookEndpointWithSecret, ...errors },
      },
    },
    async (req, reply) => {
      // an unverified account must not make the platform send requests to addresses of its choosing
      const s = await requireVerifiedUser(ctx, req, reply);
      return reply.status(201).send(await webhooks.create(s.user.id, req.body));
    },
  );

  app.patch(
    '/api/webhooks/endpoints/:id',
    {
      schema: {
        tags: ['webhooks'],
        summary: 'Change a webhook endpoint: URL, description, events, enabled',
        params: endpointParams,
        body: webhookEndpointPatch,
        response: { 200: webhookEndpointView, ...errors },
      },
    },
    async (req, reply) => {
      const s = await requireUser(ctx, req, reply);
      return webhooks.update(s.user.id, req.params.id, req.body);
    },
  );

  app.delete(
    '/api/webhooks/endpoints/:id',
    {
      schema: {
        tags: ['webhooks'],
        summary: 'Delete a webhook endpoint and its delivery log; pending deliveries are not sent',
        params: endpointParams,
        response: { 204: z.null(), ...errors },
      },
    },
    async (req, reply) => {
      const s = await requireUser(ctx, req, reply);
      await webhooks.remove(s.user.id, req.params.id);
      return reply.status(204).send(null);
    },
  );

  app.get(
    '/api/webhooks/endpoints/:id/secret',
    {
      schema: {
        tags: ['webhooks'],
        summary: "Show a webhook endpoint's signing secret",
        params: endpointParams,
        response: { 200: webhookEndpointWithSecret, ...errors },
      },
    },
    async (req, reply) => {
      const s = await requireUser(ctx, req, reply);
      reply.header('cache-control', 'no-store');
      return webhooks.revealSecret(s.user.id, req.params.id);
    },
  );

  app.post(
    '/api/webhooks/endpoints/:id/test',
    {
      schema: {
        tags: ['webhooks'],
        summary: 'Send a signed `webhook.test` event to this endpoint (10 a minute)',
        description: 'Needs a verified email address (403 `email_not_verified`).',
        params: endpointParams,
        response: { 202: webhookDeliveryView, ...errors },
      },
    },
    async (req, reply) => {
      const s = await requireVerifiedUser(ctx, req, reply);
      const view = await webhooks.sendTest(s.user.id, req.params.id);
      return reply.status(202).send(view);
    },
  );

  app.get(
    '/api/webhooks/endpoints/:id/deliveries',
    {
      schema: {
        tags: ['webhooks'],
        summary: 'The delivery log of a webhook endpoint, newest first',
        params: endpointParams,
        querystring: z.object({ cursor: z.string().max(200).optional(), limit: z.coerce.number().int().min(1).max(100).default(20) }),
        response: { 200: z.object({ deliveries: z.array(webhookDeliveryView), nextCursor: z.string().nullable() }), ...errors },
      },
    },
    async (req, reply) => {
      const s = await requireUser(ctx, req, reply);
      return webhooks.deliveries(s.user.id, req.params.id, { cursor: req.query.cursor, limit: req.query.limit });
    },
  );

  app.post(
    '/api/webhooks/deliveries/:id/retry',
    {
      schema: {
        tags: ['webhooks'],
        summary: 'Send a webhook delivery again now (a delivered or failed one, or a pending one waiting for its next attempt)',
        params: endpointParams,
        response: { 202: webhookDeliveryView, ...errors },
      },
    },
    async (req, reply) => {
      const s = await requireUser(ctx, req, reply);
      const view = await webhooks.retry(s.user.id, req.params.id);
      return reply.status(202).send(view);
    },
  );
};
