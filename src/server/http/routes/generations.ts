import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { creditsQuery, creditsResponse, errorBody, generationList, generationListQuery, generationView, insufficientCreditsBody } from '../../../shared/api';
import { generationInput } from '../../../shared/catalog/request-schema';
import type { AppContext } from '../../context';
import type { GenerationEvents } from '../../domain/generations/events';
import { requireUser, requireVerifiedUser } from '../plugins/session';
import { answerOutput, OUTPUT_KINDS, type OutputKind } from '../generation-output';

const idParams = z.object({ id: z.string().max(100) });
const errors = { 400: errorBody, 401: errorBody, 403: errorBody, 404: errorBody };

export const generationRoutes: FastifyPluginAsyncZod<{ ctx: AppContext; events: GenerationEvents }> = async (app, { ctx, events }) => {
  const generations = ctx.services.generations;
  // open event streams end when the server closes (they would otherwise hold it open)
  const streams = new Set<import('node:http').ServerResponse>();
  app.addHook('preClose', async () => {
    for (const raw of streams) raw.end();
    streams.clear();
  });

  app.post(
    '/api/generations',
    {
      schema: {
        tags: ['generations'],
        summary: 'Generate a video: validate, price, hold the credits and queue it',
        description:
          'Answers 202 with the new generation. An `Idempotency-Key` header (1-255 characters) makes retries safe: the same key and body within 24 h return the original generation (200), the same key with another body answers 409.',
        headers: z.object({ 'idempotency-key': z.string().optional() }),
        body: generationInput,
        response: {
          200: generationView,
          202: generationView,
          ...errors,
          402: insufficientCreditsBody,
          409: errorBody,
          410: errorBody,
          429: errorBody,
          503: errorBody,
        },
      },
    },
    async (req, reply) => {
      const s = await requireVerifiedUser(ctx, req, reply);
      const result = await generations.submit(s.user.id, req.body, { idempotencyKey: req.headers['idempotency-key'], source: 'web' });
      if (result.replayed) reply.header('idempotent-replayed', 'true');
      return reply.status(result.replayed ? 200 : 202).send(result.view);
    },
  );

  app.get(
    '/api/generations',
    {
      schema: {
        tags: ['generations'],
        summary: 'Your generations, newest first',
        querystring: generationListQuery,
        response: { 200: generationList, ...errors },
      },
    },
    async (req, reply) => {
      const s = await requireUser(ctx, req, reply);
      return generations.list(s.user.id, req.query);
    },
  );

  app.get(
    '/api/generations/events',
    { schema: { tags: ['generations'], summary: 'Server-Sent Events: `event: generation` with the changed generation, for the signed-in user' } },
    async (req, reply) => {
      const s = await requireUser(ctx, req, reply);
      reply.hijack();
      const raw = reply.raw;
      raw.writeHead(200, {
        ...(reply.getHeaders() as Record<string, string>),
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      raw.write('retry: 3000\n\n');
      const unsubscribe = await events.subscribe(s.user.id, (view) => {
        raw.write(`event: generation\nid: ${view.id}:${view.updatedAt}\ndata: ${JSON.stringify(view)}\n\n`);
      });
      const heartbeat = setInterval(() => raw.write(': keep-alive\n\n'), 15_000);
      streams.add(raw);
      req.raw.on('close', () => {
        clearInterval(heartbeat);
        unsubscribe();
        streams.delete(raw);
      });
    },
  );

  app.get(
    '/api/generations/:id',
    { schema: { tags: ['generations'], summary: 'One of your generations', params: idParams, response: { 200: generationView, ...errors } } },
    async (req, reply) => {
      const s = await requireUser(ctx, req, reply);
      return generations.get(s.user.id, req.params.id);
    },
  );

  app.post(
    '/api/generations/:id/cancel',
    {
      schema: {
        tags: ['generations'],
        summary: 'Cancel a generation that has not started (its credits come back)',
        params: idParams,
        response: { 200: generationView, ...errors, 409: errorBody },
      },
    },
    async (req, reply) => {
      const s = await requireUser(ctx, req, reply);
      return generations.cancel(s.user.id, req.params.id);
    },
  );

  for (const which of Object.keys(OUTPUT_KINDS) as OutputKind[]) {
    app.get(
      `/api/generations/:id/${which}`,
      {
        schema: {
          tags: ['generations'],
          summary: `The ${which} of one of your finished generations`,
          description:
            'Answers 302 with a signed URL of the file that works for one hour and carries no session. `?download=1` asks the browser to save it instead of showing it.',
          params: idParams,
          querystring: z.object({ download: z.enum(['0', '1']).optional() }),
        },
      },
      async (req, reply) => {
        const s = await requireUser(ctx, req, reply);
        const out = await generations.output(s.user.id, req.params.id);
        return answerOutput(ctx, req, reply, { id: req.params.id, out, which, download: req.query.download === '1' });
      },
    );
  }

  app.get(
    '/api/credits',
    {
      schema: {
        tags: ['credits'],
        summary: 'Your balance, held credits and history (newest first)',
        querystring: creditsQuery,
        response: { 200: creditsResponse, ...errors },
      },
    },
    async (req, reply) => {
      const s = await requireUser(ctx, req, reply);
      return generations.credits(s.user.id, req.query);
    },
  );
};
