import multipart from '@fastify/multipart';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { errorBody } from '../../../shared/api';
import { fromCreationInput, importUrlInput, mediaList, mediaListQuery, mediaView, type MediaView } from '../../../shared/api/media';
import type { AppContext } from '../../context';
import { MULTIPART_MARGIN_BYTES, type MediaService } from '../../domain/media/media.service';
import { AppError } from '../../errors';
import { formatMb } from '../../lib/safe-fetch';
import { requireUser, requireVerifiedUser } from '../plugins/session';

/**
 * The reference library: `/api/uploads`. Uploads are multipart (one `file` part), streamed to a
 * temp file; a request that declares more bytes than the largest reference may be is refused with
 * 413 before its body is read. Everything is per user: another user's id answers 404.
 */

const idParams = z.object({ id: z.string().max(100) });
const errors = { 400: errorBody, 401: errorBody, 403: errorBody, 404: errorBody };

/** Retry-After on 429, and close the connection after a 413 so an oversized body is not drained. */
export async function answering<T>(reply: FastifyReply, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof AppError) {
      if (err.status === 429) {
        const retry = (err.details as { extra?: { retryAfterSeconds?: number } } | undefined)?.extra?.retryAfterSeconds;
        if (retry) reply.header('retry-after', String(retry));
      }
      if (err.status === 413) reply.header('connection', 'close');
    }
    throw err;
  }
}

/**
 * Multipart for reference files in this plugin's scope (one file, a few fields, the largest
 * reference size), and a 413 from the Content-Length alone, before a byte of the body is read, for
 * the upload routes `isUpload` names.
 */
export async function acceptReferenceUploads(app: FastifyInstance, maxBytes: number, isUpload: (req: FastifyRequest) => boolean): Promise<void> {
  await app.register(multipart, {
    limits: { files: 1, fields: 4, parts: 6, fileSize: maxBytes, fieldSize: 1024, headerPairs: 50 },
    throwFileSizeLimit: true,
  });
  app.addHook('onRequest', async (req, reply) => {
    if (req.method !== 'POST' || !isUpload(req)) return;
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > maxBytes + MULTIPART_MARGIN_BYTES) {
      return reply
        .status(413)
        .header('connection', 'close')
        .send({ error: { code: 'payload_too_large', message: `The file is larger than ${formatMb(maxBytes)}, the most a reference file may be.` } });
    }
  });
}

/** The one file of a multipart request (the part named `file`), streamed into the user's references. */
export async function uploadFromForm(req: FastifyRequest, media: MediaService, userId: string): Promise<MediaView> {
  const part = await req.file();
  if (!part) throw new AppError('invalid_request', 'Attach a file in the form field "file".', 400, { fields: [{ field: 'file', message: 'Attach a file.' }] });
  if (part.fieldname !== 'file') {
    part.file.resume();
    throw new AppError('invalid_request', 'Send the file in the form field named "file".', 400, { fields: [{ field: 'file', message: 'Attach a file.' }] });
  }
  const declared = Number(req.headers['content-length']);
  return media.upload(userId, part.file, {
    fileName: part.filename,
    declaredType: part.mimetype,
    contentLength: Number.isFinite(declared) ? declared : null,
  });
}

export const uploadRoutes: FastifyPluginAsyncZod<{ ctx: AppContext }> = async (app, { ctx }) => {
  const media = ctx.services.media;
  const maxBytes = media.maxUploadBytes;

  await acceptReferenceUploads(app, maxBytes, (req) => req.routeOptions.url === '/api/uploads');

  app.post(
    '/api/uploads',
    {
      schema: {
        tags: ['media'],
        summary: 'Upload a reference file (multipart/form-data, one part named `file`)',
        description: `Images (JPEG, PNG, WebP, GIF), videos (MP4, MOV, WebM) and audio (MP3, WAV, AAC, M4A). The type is decided from the content, not the name. Images are re-encoded without metadata (EXIF, GPS); videos and audio are remuxed without metadata. At most ${formatMb(maxBytes)}.`,
        consumes: ['multipart/form-data'],
        response: { 201: mediaView, ...errors, 406: errorBody, 413: errorBody, 429: errorBody },
      },
    },
    async (req, reply) =>
      answering(reply, async () => {
        const s = await requireVerifiedUser(ctx, req, reply);
        return reply.status(201).send(await uploadFromForm(req, media, s.user.id));
      }),
  );

  app.post(
    '/api/uploads/url',
    {
      schema: {
        tags: ['media'],
        summary: 'Import a reference file from a public http(s) URL',
        description: 'The URL must resolve to a public address (also after redirects). The file is checked and cleaned like an upload.',
        body: importUrlInput,
        response: { 201: mediaView, ...errors, 429: errorBody },
      },
    },
    async (req, reply) =>
      answering(reply, async () => {
        const s = await requireVerifiedUser(ctx, req, reply);
        return reply.status(201).send(await media.importUrl(s.user.id, req.body.url));
      }),
  );

  app.post(
    '/api/uploads/from-creation',
    {
      schema: {
        tags: ['media'],
        summary: 'Use one of your finished creations (its video, or its poster image) as a reference',
        body: fromCreationInput,
        response: { 201: mediaView, ...errors, 429: errorBody },
      },
    },
    async (req, reply) =>
      answering(reply, async () => {
        const s = await requireVerifiedUser(ctx, req, reply);
        return reply.status(201).send(await media.fromCreation(s.user.id, req.body.generationId, req.body.as));
      }),
  );

  app.get(
    '/api/uploads',
    { schema: { tags: ['media'], summary: 'Your reference files, newest first', querystring: mediaListQuery, response: { 200: mediaList, ...errors } } },
    async (req, reply) => {
      const s = await requireUser(ctx, req, reply);
      return media.list(s.user.id, req.query);
    },
  );

  app.get(
    '/api/uploads/:id',
    { schema: { tags: ['media'], summary: 'One of your reference files', params: idParams, response: { 200: mediaView, ...errors } } },
    async (req, reply) => {
      const s = await requireUser(ctx, req, reply);
      return media.get(s.user.id, req.params.id);
    },
  );

  app.delete(
    '/api/uploads/:id',
    {
      schema: {
        tags: ['media'],
        summary: 'Delete one of your reference files (unreachable at once; the stored files are removed)',
        params: idParams,
        response: { 204: z.null(), ...errors },
      },
    },
    async (req, reply) => {
      const s = await requireUser(ctx, req, reply);
      await media.delete(s.user.id, req.params.id);
      return reply.status(204).send(null);
    },
  );
};
