import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { errorBody, modelsResponse, modelView, quoteResponse, type ModelView } from '../../../shared/api';
import { generationInput } from '../../../shared/catalog/request-schema';
import type { AppContext } from '../../context';
import type { EffectiveModel } from '../../domain/catalog/catalog.service';
import { notFound } from '../../errors';

/** Public view of a model: everything but routes and operator bookkeeping. */
export function toModelView(m: EffectiveModel): ModelView {
  return {
    id: m.id,
    name: m.name,
    vendor: m.vendor,
    summaryKey: m.summaryKey,
    modes: m.modes,
    durations: m.durations,
    defaultDuration: m.defaultDuration,
    resolutions: m.resolutions,
    defaultResolution: m.defaultResolution,
    aspectRatios: m.aspectRatios,
    defaultAspectRatio: m.defaultAspectRatio,
    audio: m.audio,
    defaultAudio: m.defaultAudio,
    promptMaxLength: m.promptMaxLength,
    negativePrompt: m.negativePrompt,
    seed: m.seed,
    references: m.references,
    maxReferences: m.maxReferences,
    price: m.price,
    lifecycle: m.lifecycle,
    available: m.available,
    ...(m.unavailableReason ? { unavailableReason: m.unavailableReason } : {}),
    deadlineSeconds: m.deadlineSeconds,
  };
}

export const modelRoutes: FastifyPluginAsyncZod<{ ctx: AppContext }> = async (app, { ctx }) => {
  const catalog = ctx.services.catalog;

  app.get(
    '/api/models',
    { schema: { tags: ['models'], summary: 'The video models: availability, modes, limits and price rules', response: { 200: modelsResponse } } },
    async (_req, reply) => {
      const models = await catalog.list();
      // disabled models are hidden from users; retired and unconfigured ones stay listed as unavailable
      return reply.header('cache-control', 'no-store').send({ models: models.filter((m) => m.enabled).map(toModelView) });
    },
  );

  app.get(
    '/api/models/:id',
    {
      schema: {
        tags: ['models'],
        summary: 'One video model',
        params: z.object({ id: z.string().max(100) }),
        response: { 200: modelView, 404: errorBody },
      },
    },
    async (req) => {
      const model = await catalog.get(req.params.id);
      if (!model || !model.enabled) throw notFound('That model');
      return toModelView(model);
    },
  );

  app.post(
    '/api/models/quote',
    {
      schema: {
        tags: ['models'],
        summary: "Validate a generation request against its model's limits and price it, without generating",
        description:
          "Takes the same body as a generation. Answers 400 `invalid_request` with `fields` (one entry per bad field, with the allowed values) when the request breaks the model's limits.",
        body: generationInput,
        response: { 200: quoteResponse, 400: errorBody },
      },
    },
    async (req) => {
      const { model, request, quote } = await catalog.parseRequest(req.body);
      return {
        model: model.id,
        credits: quote.credits,
        breakdown: quote.breakdown,
        request: {
          mode: request.mode,
          durationSeconds: request.durationSeconds,
          resolution: request.resolution,
          aspectRatio: request.aspectRatio,
          audio: request.audio,
        },
      };
    },
  );
};
