import { fileURLToPath } from 'node:url';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from '../context';
import { STORE_PREFIX } from '../domain/media/ingest';
import { AppError } from '../errors';
import { sendFile } from './send-file';

/** signed file URLs handed out by the output routes work this long */
export const SIGNED_URL_SECONDS = 3600;

export type GenerationOutput = Awaited<ReturnType<AppContext['services']['generations']['output']>>;
export type OutputKind = 'video' | 'thumbnail' | 'preview';

export const OUTPUT_KINDS: Record<OutputKind, { pick: (o: GenerationOutput) => string | null; type: (o: GenerationOutput) => string; ext: string }> = {
  video: { pick: (o) => o.videoUrl, type: (o) => o.contentType ?? 'video/mp4', ext: 'mp4' },
  thumbnail: { pick: (o) => o.thumbnailUrl, type: () => 'image/jpeg', ext: 'jpg' },
  preview: { pick: (o) => o.previewUrl, type: () => 'video/mp4', ext: 'mp4' },
};

/**
 * Answer a generation's output: a 302 to a one-hour signed URL of the stored file (with a safe
 * download name when `download`), or the local file / upstream URL of tasks finished before the
 * store existed. The caller has already checked that the generation is the user's.
 */
export async function answerOutput(
  ctx: Pick<AppContext, 'store'>,
  req: FastifyRequest,
  reply: FastifyReply,
  opts: { id: string; out: GenerationOutput; which: OutputKind; download: boolean },
) {
  const how = OUTPUT_KINDS[opts.which];
  const url = how.pick(opts.out);
  if (!url) throw new AppError('not_found', `This generation has no ${opts.which}.`, 404);
  if (url.startsWith(STORE_PREFIX)) {
    const signed = await ctx.store.signedUrl(url.slice(STORE_PREFIX.length), {
      expiresInSeconds: SIGNED_URL_SECONDS,
      contentType: how.type(opts.out),
      ...(opts.download ? { downloadName: `savesora-${opts.id.slice(0, 8)}${opts.which === 'video' ? '' : `-${opts.which}`}.${how.ext}` } : { inline: true }),
    });
    // the answer depends on the session: never shared, and short-lived in the browser
    reply.header('cache-control', 'private, max-age=300');
    return reply.redirect(signed, 302);
  }
  reply.header('cache-control', 'private, max-age=3600');
  if (url.startsWith('file:')) return sendFile(req, reply, fileURLToPath(url), how.type(opts.out));
  return reply.redirect(url, 302);
}
