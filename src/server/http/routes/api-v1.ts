import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  errorBody,
  generationList,
  generationListQuery,
  generationView,
  insufficientCreditsBody,
  modelsResponse,
  type GenerationView,
} from '../../../shared/api';
import { mediaView } from '../../../shared/api/media';
import { generationInput } from '../../../shared/catalog/request-schema';
import type { AppContext } from '../../context';
import { installApiKeyAuth, requireScope } from '../plugins/api-key';
import { formatMb } from '../../lib/safe-fetch';
import { answerOutput, OUTPUT_KINDS, type OutputKind } from '../generation-output';
import { acceptReferenceUploads, answering, uploadFromForm } from './uploads';
import { toModelView } from './models';

/**
 * The native developer API under `/api/v1` (register with `prefix: '/api/v1'`): the web app's
 * generation and upload endpoints, authenticated with an API key (`Authorization: Bearer ssk_...`)
 * instead of a session. Same bodies, same rules, same `{"error":{"code","message"}}` errors.
 */

const TAGS = ['api'];
const idParams = z.object({ id: z.string().max(100) });
const errors = { 400: errorBody, 401: errorBody, 403: errorBody, 404: errorBody, 429: errorBody };

const createExample = {
  model: 'veo-3.1',
  prompt: 'A paper boat drifting down a rainy street, cinematic',
  duration: 8,
  resolution: '720p',
  aspectRatio: '16:9',
  audio: true,
};
const imageExample = {
  model: 'kling-3.0',
  prompt: 'The woman in @image1 turns and smiles at the camera',
  mode: 'image-to-video',
  duration: 5,
  references: [{ kind: 'image', mediaId: '0b7f7c1e-3c1a-4f3e-9a43-5f1c7f0a2d11' }],
};
const urlExample = {
  model: 'seedance-2.0',
  prompt: 'A dancer in the style of @image1, to the beat of @audio1',
  mode: 'reference',
  references: [
    { kind: 'image', url: 'https://example.com/style.png' },
    { kind: 'audio', mediaId: '7d2a0e55-1c9b-4f7e-8a6f-0c3b2d1e4f55' },
  ],
};

/** the output links of a view, pointed at this API (the web app's need a session) */
function apiView(v: GenerationView): GenerationView {
  if (!v.output) return v;
  const relink = (u: string) => u.replace(/^\/api\/generations\//, '/api/v1/generations/');
  const { videoUrl, thumbnailUrl, previewUrl } = v.output;
  return {
    ...v,
    output: { ...v.output, videoUrl: relink(videoUrl), thumbnailUrl: thumbnailUrl && relink(thumbnailUrl), previewUrl: previewUrl && relink(previewUrl) },
  };
}

export const apiV1Routes: FastifyPluginAsyncZod<{ ctx: AppContext }> = async (app, { ctx }) => {
  const { generations, media, catalog } = ctx.services;
  const maxBytes = media.maxUploadBytes;

  installApiKeyAuth(app, ctx, { errorStyle: 'native' });
  await acceptReferenceUploads(app, maxBytes, (req) => req.routeOptions.url?.endsWith('/uploads') ?? false);

  app.post(
    '/generations',
    {
      schema: {
        tags: TAGS,
        summary: 'Generate a video',
        description: [
          "The same request as the web app: validated against the model (`GET /api/v1/models` lists each model's modes, durations, resolutions, aspect ratios, audio and reference limits), priced, its credits held, and queued. Answers 202 with the generation; poll `GET /api/v1/generations/{id}` until `status` is final (`succeeded`, `failed`, `canceled`, `blocked`).",
          '',
          '**Modes**: `text-to-video`, `image-to-video` (one image, its first frame), `first-last-frame` (two images), `reference` (images, videos and audio the model takes). Left out, the mode follows from the references.',
          '',
          '**References**: `{kind, mediaId}` for a file uploaded with `POST /api/v1/uploads`, or `{kind, url}` for a public https URL. Mention them in the prompt as `@image1`, `@video1`, `@audio1` (in the order given per kind).',
          '',
          'An `Idempotency-Key` header (1-255 characters) makes retries safe: the same key and body within 24 h return the original generation (200); the same key with another body answers 409. Needs the `videos:write` scope.',
        ].join('\n'),
        headers: z.object({ 'idempotency-key': z.string().optional() }),
        body: generationInput.meta({ examples: [createExample, imageExample, urlExample] }),
        response: { 200: generationView, 202: generationView, ...errors, 402: insufficientCreditsBody, 409: errorBody, 410: errorBody, 503: errorBody },
      },
    },
    async (req, reply) => {
      const principal = requireScope(req, 'videos:write');
      const key = req.headers['idempotency-key'];
      const result = await generations.submit(principal.userId, req.body, {
        ...(key ? { idempotencyKey: key } : {}),
        source: 'api',
        apiKeyId: principal.keyId,
      });
      if (result.replayed) reply.header('idempotent-replayed', 'true');
      return reply.status(result.replayed ? 200 : 202).send(apiView(result.view));
    },
  );

  app.get(
    '/generations',
    {
      schema: {
        tags: TAGS,
        summary: 'Your generations, newest first',
        description:
          'Pages of `limit` (1-100, default 20); pass `nextCursor` as `cursor` for the next page. Filters: `status`, `model`. Needs the `videos:read` scope.',
        querystring: generationListQuery,
        response: { 200: generationList, ...errors },
      },
    },
    async (req) => {
      const principal = requireScope(req, 'videos:read');
      const page = await generations.list(principal.userId, req.query);
      return { ...page, items: page.items.map(apiView) };
    },
  );

  app.get(
    '/generations/:id',
    {
      schema: {
        tags: TAGS,
        summary: 'One of your generations',
        description: 'Its status, progress, price, failure (if any) and output. Needs the `videos:read` scope.',
        params: idParams,
        response: { 200: generationView, ...errors },
      },
    },
    async (req) => {
      const principal = requireScope(req, 'videos:read');
      return apiView(await generations.get(principal.userId, req.params.id));
    },
  );

  app.post(
    '/generations/:id/cancel',
    {
      schema: {
        tags: TAGS,
        summary: 'Cancel a generation that has not started',
        description: 'Its held credits come back. A generation that has started already answers 409. Needs the `videos:write` scope.',
        params: idParams,
        response: { 200: generationView, ...errors, 409: errorBody },
      },
    },
    async (req) => {
      const principal = requireScope(req, 'videos:write');
      return apiView(await generations.cancel(principal.userId, req.params.id));
    },
  );

  for (const which of Object.keys(OUTPUT_KINDS) as OutputKind[]) {
    app.get(
      `/generations/:id/${which}`,
      {
        schema: {
          tags: TAGS,
          summary: `The ${which} of a finished generation`,
          description: `Answers 302 with a signed URL of the ${which === 'thumbnail' ? 'JPEG' : 'MP4'} that works for one hour and needs no key. \`?download=1\` names it for saving. Needs the \`videos:read\` scope.`,
          params: idParams,
          querystring: z.object({ download: z.enum(['0', '1']).optional() }),
          response: { ...errors },
        },
      },
      async (req, reply) => {
        const principal = requireScope(req, 'videos:read');
        const out = await generations.output(principal.userId, req.params.id);
        return answerOutput(ctx, req, reply, { id: req.params.id, out, which, download: req.query.download === '1' });
      },
    );
  }

  app.post(
    '/uploads',
    {
      schema: {
        tags: TAGS,
        summary: 'Upload a reference file (multipart/form-data, one part named `file`)',
        description: `Images (JPEG, PNG, WebP, GIF), videos (MP4, MOV, WebM) and audio (MP3, WAV, AAC, M4A), at most ${formatMb(maxBytes)}; the type is decided from the content. Answers 201 with the file; use its \`id\` as a reference's \`mediaId\`. Example: \`curl -H "Authorization: Bearer $KEY" -F file=@face.png $PUBLIC_URL/api/v1/uploads\`. Needs the \`videos:write\` scope.`,
        consumes: ['multipart/form-data'],
        response: { 201: mediaView, ...errors, 406: errorBody, 413: errorBody },
      },
    },
    async (req, reply) => {
      const principal = requireScope(req, 'videos:write');
      return answering(reply, async () => reply.status(201).send(await uploadFromForm(req, media, principal.userId)));
    },
  );

  app.get(
    '/models',
    {
      schema: {
        tags: TAGS,
        summary: 'The video models',
        description:
          'Availability, modes, durations, resolutions, aspect ratios, audio, reference limits and price rules of each model: what `POST /api/v1/generations` accepts.',
        response: { 200: modelsResponse, ...errors },
      },
    },
    async (_req, reply) => {
      const models = await catalog.list();
      return reply.header('cache-control', 'no-store').send({ models: models.filter((m) => m.enabled).map(toModelView) });
    },
  );
};
