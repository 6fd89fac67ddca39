import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import multipart from '@fastify/multipart';
import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import { hasZodFastifySchemaValidationErrors, type FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { safeText } from '../../../../shared/api/text';
import type { AppContext } from '../../../context';
import { failureMessage } from '../../../domain/generations/messages';
import type { GenerationRow } from '../../../domain/generations/generations.repo';
import { STORE_PREFIX } from '../../../domain/media/ingest';
import { AppError, notFound } from '../../../errors';
import { formatMb } from '../../../lib/safe-fetch';
import { clientErrorOf } from '../../errors';
import { installApiKeyAuth, requireScope } from '../../plugins/api-key';
import { sendFile, sendStoredObject } from '../../send-file';
import { MappingError, modelIdOf, openAIError, paramOf, toGenerationInput, toRemixInput, toVideo, type CreateVideoFields } from './mapping';

/**
 * OpenAI-compatible Videos API under `/v1` (register with `prefix: '/v1'`): the official OpenAI
 * SDKs work against `$PUBLIC_URL/v1` with one of our API keys. Every request maps onto the
 * generation service, so credits, validation and idempotency are those of the web
 * app. Every error on this surface answers OpenAI's `{"error":{"message","type","param","code"}}`.
 */

const TAGS = ['openai'];

export const openAIErrorBody = z
  .object({ error: z.object({ message: z.string(), type: z.string(), param: z.string().nullable(), code: z.string().nullable() }) })
  .meta({
    examples: [
      {
        error: {
          message: 'Invalid value for \'seconds\': Sora 2 (sora-2) makes videos of 4, 8, 12 seconds (got "5").',
          type: 'invalid_request_error',
          param: 'seconds',
          code: 'invalid_value',
        },
      },
    ],
  });

export const videoObject = z
  .object({
    id: z.string(),
    object: z.literal('video'),
    model: z.string(),
    status: z.enum(['queued', 'in_progress', 'completed', 'failed']),
    progress: z.number().int(),
    created_at: z.number().int(),
    completed_at: z.number().int().nullable(),
    expires_at: z.number().int().nullable(),
    error: z.object({ code: z.string(), message: z.string() }).nullable(),
    prompt: z.string().nullable(),
    seconds: z.string(),
    size: z.string(),
    remixed_from_video_id: z.string().nullable(),
  })
  .meta({
    examples: [
      {
        id: '6f1c2b1e-8a55-4c3e-9d7a-2f0b9f1c3a10',
        object: 'video',
        model: 'sora-2',
        status: 'in_progress',
        progress: 35,
        created_at: 1767225600,
        completed_at: null,
        expires_at: null,
        error: null,
        prompt: 'A paper boat drifting down a rainy street, cinematic',
        seconds: '8',
        size: '1280x720',
        remixed_from_video_id: null,
      },
    ],
  });

const createVideoBody = z
  .strictObject({
    model: safeText().max(100).optional().describe('sora-2 (default), sora-2-pro, or any model id of GET /api/v1/models (veo-3.1, kling-3.0, ...)'),
    prompt: safeText().max(20_000).describe('What the video shows'),
    seconds: z
      .union([safeText().max(10), z.number()])
      .optional()
      .describe("Length in seconds, one of the model's durations (sora-2: 4, 8, 12). Default: the model's default"),
    size: safeText()
      .max(20)
      .optional()
      .describe("WxH: 1280x720 / 720x1280 (720p), 1792x1024 / 1024x1792 (Sora 2 Pro's 1080p), 1920x1080 ... Default: the model's default"),
    input_reference: z
      .strictObject({ image_url: safeText().max(30_000_000).optional(), file_id: safeText().max(200).optional() })
      .optional()
      .describe(
        'An image the video starts from: `{image_url}` (https URL or data: URL), or in multipart/form-data a file part named `input_reference`. `file_id` is not supported.',
      ),
  })
  .meta({ examples: [{ model: 'sora-2', prompt: 'A paper boat drifting down a rainy street, cinematic', seconds: '8', size: '1280x720' }] });

const remixBody = z.strictObject({ prompt: safeText().max(20_000) }).meta({ examples: [{ prompt: 'The same scene at night, lit by neon signs' }] });
const idParams = z.object({ id: z.string().max(100) });
const listQuery = z.object({
  after: safeText().max(100).optional().describe('the id of the last video of the previous page'),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  order: z.enum(['asc', 'desc']).default('desc'),
});
const videoList = z.object({
  object: z.literal('list'),
  data: z.array(videoObject),
  first_id: z.string().nullable(),
  last_id: z.string().nullable(),
  has_more: z.boolean(),
});
const deletedVideo = z.object({ id: z.string(), object: z.literal('video.deleted'), deleted: z.boolean() });
const errors = { 400: openAIErrorBody, 401: openAIErrorBody, 403: openAIErrorBody, 404: openAIErrorBody, 429: openAIErrorBody };

/** OpenAI's error body for anything thrown on this surface. */
function renderError(err: FastifyError | Error, reply: FastifyReply, log: FastifyInstance['log'], requestId: string) {
  if (err instanceof MappingError) {
    return reply.status(400).send(openAIError(400, err.message, { param: err.param, code: 'invalid_value' }));
  }
  if (err instanceof AppError) {
    const details = (err.details ?? {}) as { fields?: { field: string; message: string }[]; extra?: Record<string, unknown> };
    if (err.status === 429 && typeof details.extra?.retryAfterSeconds === 'number') reply.header('retry-after', String(details.extra.retryAfterSeconds));
    if (err.status === 413) reply.header('connection', 'close');
    const param = paramOf(details.fields?.[0]?.field);
    const openaiType = (err as AppError & { openaiType?: string }).openaiType;
    const body = openAIError(err.status, err.message, {
      code: err.code === 'insufficient_credits' ? 'insufficient_quota' : err.code === 'invalid_request' ? 'invalid_value' : err.code,
      param,
    });
    if (openaiType) body.error.type = openaiType;
    return reply.status(err.status).send(body);
  }
  if (hasZodFastifySchemaValidationErrors(err)) {
    const first = err.validation[0];
    const path = (first?.instancePath ?? '').split('/').filter(Boolean);
    const message = err.validation
      .map((v) => `${[err.validationContext, ...v.instancePath.split('/').filter(Boolean)].join('.')}: ${v.message ?? 'invalid'}`)
      .join('; ');
    return reply.status(400).send(openAIError(400, `Invalid request: ${message}`, { param: path[0] ?? null, code: 'invalid_value' }));
  }
  // any error can arrive here: only an Error's fields are certain
  const fe = err as Error & Partial<FastifyError>;
  if (fe.validation) return reply.status(400).send(openAIError(400, fe.message, { code: 'invalid_value' }));
  const status = fe.statusCode ?? 500;
  if (status >= 400 && status < 500) {
    if (status === 413) reply.header('connection', 'close');
    return reply.status(status).send(openAIError(status, fe.message, { code: fe.code?.startsWith('FST_') ? null : (fe.code ?? null) }));
  }
  log.error({ err }, 'request failed');
  return reply
    .status(500)
    .send(
      openAIError(500, `Something went wrong on our side. Please try again; if it keeps happening, quote request id ${requestId}.`, { code: 'internal_error' }),
    );
}

/** the generation as OpenAI's Video */
const videoOf = (row: GenerationRow) =>
  toVideo({ ...row, failureText: row.failureCode ? failureMessage(row.failureCode, row.refunded ? row.priceCredits : null) : null });

const DATA_URL = /^data:(image\/[a-z0-9.+-]+);base64,([a-z0-9+/=\s]+)$/i;

export const openAIVideoRoutes: FastifyPluginAsyncZod<{ ctx: AppContext }> = async (app, { ctx }) => {
  const { generations, media, catalog, creations } = ctx.services;
  const imageMax = media.ceilings.image?.maxBytes ?? media.maxUploadBytes;
  // a data: URL carries the image in base64 (4 characters per 3 bytes)
  const dataUrlMax = Math.ceil((imageMax * 4) / 3) + 1024;

  await app.register(multipart, {
    limits: { files: 1, fields: 6, parts: 8, fileSize: imageMax, fieldSize: dataUrlMax, headerPairs: 50 },
    throwFileSizeLimit: true,
  });
  installApiKeyAuth(app, ctx, { errorStyle: 'openai' });
  app.setErrorHandler((err: FastifyError, req, reply) => renderError(clientErrorOf(err, req) ?? err, reply, req.log, req.id));
  // unknown paths under /v1 keep the app's JSON 404 (answered before any key check, like every unknown API path)

  /** the image of a create, uploaded as the user's reference; null when none was given */
  async function referenceImage(
    userId: string,
    ref: { file?: { bytes: Buffer; name: string | undefined; type: string }; imageUrl?: string },
  ): Promise<{ mediaId: string; hash: string } | null> {
    let file = ref.file;
    if (!file && ref.imageUrl !== undefined) {
      const [, type, base64] = DATA_URL.exec(ref.imageUrl) ?? [];
      if (type && base64) file = { bytes: Buffer.from(base64, 'base64'), name: undefined, type: type.toLowerCase() };
      else if (/^https?:\/\//i.test(ref.imageUrl)) {
        const view = await media.importUrl(userId, ref.imageUrl);
        if (view.kind !== 'image') {
          await media.delete(userId, view.id).catch(() => undefined);
          throw new MappingError('input_reference', `input_reference must be an image (JPEG, PNG or WebP); the URL gave ${view.contentType}.`);
        }
        return { mediaId: view.id, hash: `url:${ref.imageUrl}` };
      } else throw new MappingError('input_reference', 'input_reference.image_url must be an https URL or a base64 data: URL of an image.');
    }
    if (!file) return null;
    if (file.bytes.length > imageMax) {
      throw new AppError('payload_too_large', `The input_reference image is larger than ${formatMb(imageMax)}, the most it may be.`, 413);
    }
    const view = await media.upload(userId, Readable.from([file.bytes]), {
      fileName: file.name ?? 'input_reference',
      declaredType: file.type,
      contentLength: file.bytes.length,
    });
    if (view.kind !== 'image') {
      await media.delete(userId, view.id).catch(() => undefined);
      throw new MappingError('input_reference', `input_reference must be an image (JPEG, PNG or WebP), not ${view.contentType}.`);
    }
    return { mediaId: view.id, hash: `sha256:${createHash('sha256').update(file.bytes).digest('hex')}` };
  }

  /** The model a request names, with the allowed ones in the error. */
  async function modelFor(name: string | undefined) {
    const id = modelIdOf(name);
    const model = await catalog.get(id);
    if (!model || !model.enabled) {
      const ids = (await catalog.list()).filter((m) => m.enabled).map((m) => m.id);
      throw new MappingError('model', `Invalid value for 'model': ${JSON.stringify(name)} is not a model here; choose one of ${ids.join(', ')}.`, ids);
    }
    return model;
  }

  app.post(
    '/videos',
    {
      bodyLimit: dataUrlMax + 64 * 1024,
      attachValidation: true,
      schema: {
        tags: TAGS,
        summary: 'Create a video (OpenAI Videos API)',
        description:
          'JSON or multipart/form-data (as the OpenAI SDKs send it) with `model`, `prompt`, `seconds`, `size` and optionally `input_reference` (a file part, or `input_reference[image_url]`; in JSON `{"image_url"}`). `seconds` and `size` map to the model\'s durations, resolutions and aspect ratios; a value the model cannot make answers 400 with `param` naming the field and the allowed values in the message. Costs the same credits as the web app. An `Idempotency-Key` header makes retries safe. Needs the `videos:write` scope.',
        consumes: ['application/json', 'multipart/form-data'],
        headers: z.object({ 'idempotency-key': z.string().optional() }),
        body: createVideoBody,
        response: { 200: videoObject, ...errors, 402: openAIErrorBody, 409: openAIErrorBody, 413: openAIErrorBody, 503: openAIErrorBody },
      },
    },
    async (req, reply) => {
      const principal = requireScope(req, 'videos:write');
      let fields: CreateVideoFields;
      let file: { bytes: Buffer; name: string | undefined; type: string } | undefined;
      let imageUrl: string | undefined;
      if (req.isMultipart()) {
        const got: Record<string, string> = {};
        for await (const part of req.parts()) {
          if (part.type === 'file') {
            if (part.fieldname !== 'input_reference') {
              part.file.resume();
              throw new MappingError(part.fieldname, `Unknown file parameter '${part.fieldname}'; send the image as 'input_reference'.`);
            }
            file = { bytes: await part.toBuffer(), name: part.filename, type: part.mimetype };
          } else {
            got[part.fieldname] = String(part.value);
          }
        }
        const known = ['model', 'prompt', 'seconds', 'size', 'input_reference[image_url]', 'input_reference[file_id]'];
        const unknown = Object.keys(got).find((k) => !known.includes(k));
        if (unknown) throw new MappingError(unknown, `Unknown parameter: '${unknown}'.`);
        if (got['input_reference[file_id]'] !== undefined)
          throw new MappingError(
            'input_reference',
            'input_reference.file_id is not supported here; upload the image as input_reference or give input_reference[image_url].',
          );
        if (got.prompt === undefined) throw new MappingError('prompt', "Missing required parameter: 'prompt'.");
        fields = { model: got.model, prompt: got.prompt, seconds: got.seconds, size: got.size };
        imageUrl = got['input_reference[image_url]'];
      } else {
        // attachValidation: the body is whatever was sent (or nothing), not yet the schema's type
        const sent: unknown = req.body;
        const parsed = createVideoBody.safeParse(sent ?? {});
        if (!parsed.success) {
          const issue = parsed.error.issues[0];
          const param = issue?.code === 'unrecognized_keys' ? (issue.keys[0] ?? 'body') : String(issue?.path[0] ?? 'body');
          const message =
            issue?.code === 'unrecognized_keys'
              ? `Unknown parameter: '${issue.keys.join("', '")}'.`
              : param === 'prompt' && sent && typeof sent === 'object' && !('prompt' in sent)
                ? "Missing required parameter: 'prompt'."
                : `Invalid value for '${issue?.path.join('.') || 'body'}': ${issue?.message ?? 'invalid'}.`;
          throw new MappingError(param, message);
        }
        const body = parsed.data;
        if (body.input_reference?.file_id !== undefined)
          throw new MappingError(
            'input_reference',
            'input_reference.file_id is not supported here; give input_reference.image_url, or upload the image as a multipart file part named input_reference.',
          );
        fields = { model: body.model, prompt: body.prompt, seconds: body.seconds, size: body.size };
        imageUrl = body.input_reference?.image_url;
        if (body.input_reference && imageUrl === undefined) throw new MappingError('input_reference', 'input_reference needs image_url.');
      }

      // everything that can be checked before the image is stored
      const model = await modelFor(fields.model);
      toGenerationInput(model, fields);
      const image = await referenceImage(principal.userId, { ...(file ? { file } : {}), ...(imageUrl !== undefined ? { imageUrl } : {}) });
      const body = toGenerationInput(model, fields, image ?? undefined);
      const key = req.headers['idempotency-key'];
      try {
        const result = await generations.submit(principal.userId, body, {
          ...(key ? { idempotencyKey: key } : {}),
          source: 'api',
          apiKeyId: principal.keyId,
          ...(image ? { hashBody: { ...body, references: [{ kind: 'image', image: image.hash }] } } : {}),
        });
        if (result.replayed) {
          reply.header('idempotent-replayed', 'true');
          // the retry's copy of the image is not used: the first request's is
          if (image && !result.view.references.some((r) => r.mediaId === image.mediaId))
            await media.delete(principal.userId, image.mediaId).catch(() => undefined);
        }
        return videoOf(await generations.row(principal.userId, result.view.id));
      } catch (err) {
        if (image) await media.delete(principal.userId, image.mediaId).catch(() => undefined);
        throw err;
      }
    },
  );

  app.get(
    '/videos',
    {
      schema: {
        tags: TAGS,
        summary: 'List your videos (OpenAI Videos API)',
        description: 'Cursor pagination: pass the `last_id` of a page as `after` for the next one. Needs the `videos:read` scope.',
        querystring: listQuery,
        response: { 200: videoList, ...errors },
      },
    },
    async (req) => {
      const principal = requireScope(req, 'videos:read');
      const page = await generations.page(principal.userId, {
        limit: req.query.limit,
        order: req.query.order,
        ...(req.query.after ? { after: req.query.after } : {}),
      });
      const data = page.items.map(videoOf);
      return { object: 'list' as const, data, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null, has_more: page.hasMore };
    },
  );

  app.get(
    '/videos/:id',
    {
      schema: {
        tags: TAGS,
        summary: 'Retrieve a video (OpenAI Videos API)',
        description: 'Needs the `videos:read` scope.',
        params: idParams,
        response: { 200: videoObject, ...errors },
      },
    },
    async (req) => {
      const principal = requireScope(req, 'videos:read');
      return videoOf(await own(principal.userId, req.params.id));
    },
  );

  /** one of the user's videos; anything else (another user's, deleted, malformed) is 404 */
  async function own(userId: string, id: string): Promise<GenerationRow> {
    try {
      return await generations.row(userId, id);
    } catch (err) {
      if (err instanceof AppError && err.status === 404) throw new AppError('not_found', `Video with id '${id}' not found.`, 404);
      throw err;
    }
  }

  app.delete(
    '/videos/:id',
    {
      schema: {
        tags: TAGS,
        summary: 'Delete a video (OpenAI Videos API)',
        description:
          'Deletes the video and its files. A video that has not started yet is canceled first (its credits come back); one that is being made answers 409 until it finishes. Needs the `videos:write` scope.',
        params: idParams,
        response: { 200: deletedVideo, ...errors, 409: openAIErrorBody },
      },
    },
    async (req) => {
      const principal = requireScope(req, 'videos:write');
      const id = req.params.id;
      let row = await own(principal.userId, id);
      if (row.status === 'queued') {
        await generations.cancel(principal.userId, id);
        row = await own(principal.userId, id);
      }
      if (['queued', 'submitting', 'running', 'finalizing'].includes(row.status)) {
        throw new AppError('video_in_progress', 'This video is still being made and can no longer be canceled. Delete it once it has finished.', 409);
      }
      const result = await creations.delete(principal.userId, [id]);
      if (!result.deleted.length) throw new AppError('not_found', `Video with id '${id}' not found.`, 404);
      return { id: row.id, object: 'video.deleted' as const, deleted: true };
    },
  );

  // GET and HEAD in one route: Fastify's automatic HEAD would replace our Content-Length with 0
  app.route({
    method: ['GET', 'HEAD'],
    url: '/videos/:id/content',
    schema: {
      tags: TAGS,
      summary: 'Download the video (MP4) or its thumbnail (JPEG) (OpenAI Videos API)',
      description: '`variant=video` (default) streams the MP4, `thumbnail` a JPEG poster; `spritesheet` is not available. Needs the `videos:read` scope.',
      params: idParams,
      querystring: z.object({ variant: z.string().max(20).optional() }),
      produces: ['video/mp4', 'image/jpeg'],
      response: { ...errors, 409: openAIErrorBody },
    },
    handler: async (req, reply) => {
      const principal = requireScope(req, 'videos:read');
      const variant = req.query.variant ?? 'video';
      if (variant === 'spritesheet')
        throw new MappingError('variant', 'The spritesheet variant is not available here; ask for variant=video or variant=thumbnail.');
      if (variant !== 'video' && variant !== 'thumbnail')
        throw new MappingError('variant', `Invalid value for 'variant': choose video or thumbnail (got ${JSON.stringify(variant)}).`);
      const row = await own(principal.userId, req.params.id);
      if (row.status !== 'succeeded' || !row.outputUrl) {
        const status = toVideo({ ...row, failureText: null }).status;
        throw new AppError(
          'video_not_ready',
          status === 'failed'
            ? 'This video failed, so it has no content.'
            : `This video is not ready yet (status ${status}); download it once it is completed.`,
          status === 'failed' ? 400 : 409,
        );
      }
      const url = variant === 'video' ? row.outputUrl : row.outputThumbnailUrl;
      const type = variant === 'video' ? (row.outputContentType ?? 'video/mp4') : 'image/jpeg';
      if (!url) throw notFound(`This video's ${variant}`);
      reply.header('cache-control', 'private, max-age=3600');
      if (url.startsWith(STORE_PREFIX)) {
        // Range, ETag / If-None-Match and HEAD, like the signed file URLs: players and resumable downloads work here too
        return sendStoredObject(req, reply, ctx.store, url.slice(STORE_PREFIX.length), {
          contentType: type,
          disposition: `attachment; filename="${row.id}.${variant === 'video' ? 'mp4' : 'jpg'}"`,
          fail: (status, code, message) => {
            throw new AppError(code, message, status);
          },
        });
      }
      if (url.startsWith('file:')) return sendFile(req, reply, fileURLToPath(url), type);
      return reply.redirect(url, 302);
    },
  });

  app.post(
    '/videos/:id/remix',
    {
      schema: {
        tags: TAGS,
        summary: 'Remix a completed video with a new prompt (OpenAI Videos API)',
        description:
          "Makes a new video with the source's model and options (seconds, size, references) and the new prompt; `remixed_from_video_id` links it to the source. Costs what a new video costs. Needs the `videos:write` scope.",
        params: idParams,
        headers: z.object({ 'idempotency-key': z.string().optional() }),
        body: remixBody,
        response: { 200: videoObject, ...errors, 402: openAIErrorBody, 409: openAIErrorBody, 503: openAIErrorBody },
      },
    },
    async (req) => {
      const principal = requireScope(req, 'videos:write');
      const source = await own(principal.userId, req.params.id);
      if (source.status !== 'succeeded') {
        throw new AppError(
          'video_not_completed',
          `Only a completed video can be remixed (this one is ${toVideo({ ...source, failureText: null }).status}).`,
          400,
        );
      }
      const key = req.headers['idempotency-key'];
      const body = toRemixInput(source, req.body.prompt);
      const result = await generations.submit(principal.userId, body, {
        ...(key ? { idempotencyKey: key } : {}),
        source: 'api',
        apiKeyId: principal.keyId,
        remixedFrom: source.id,
        hashBody: { ...body, remixedFrom: source.id },
      });
      return videoOf(await generations.row(principal.userId, result.view.id));
    },
  );
};
