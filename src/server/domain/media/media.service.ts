import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Logger } from 'pino';
import sharp from 'sharp';
import type { ObjectStore } from '../../adapters/storage';
import { objectKey } from '../../adapters/storage';
import type { Config } from '../../config';
import type { Database } from '../../db/client';
import { AppError, notFound } from '../../errors';
import { mediaDeleteObjects } from '../../jobs/names';
import type { JobQueue } from '../../jobs/queue';
import { ffmpegPath, runTool } from '../../lib/ffmpeg';
import { systemClock, type Clock } from '../../adapters/clock';
import { createRateLimiter, type RateLimiter } from '../../lib/rate-limit';
import { formatMb, parseAllowHosts, safeFetch, SafeFetchError } from '../../lib/safe-fetch';
import type { MediaKind, MediaList, MediaView } from '../../../shared/api/media';
import type { ReferenceLimit } from '../../../shared/catalog/spec';
import { builtinCatalog, type CatalogEntry } from '../catalog/catalog-data';
import { invalidRequest } from '../catalog/catalog.service';
import { getUserGeneration } from '../generations/generations.repo';
import { frameIssue, videoFrameBound } from './frame-bound';
import { STORE_PREFIX } from './ingest';
import { getUserMedia, getUserMediaMany, insertMedia, listUserMedia, markMediaDeleted, markMediaDeletedById, type MediaRow } from './media.repo';
import { MediaRejected, probeStreams, sniffFile, type SniffedMedia, type StreamFacts } from './sniff';
import type { ModerationGate } from '../moderation/gate';
import { heldMediaAmong } from '../moderation/holds.repo';

/**
 * The user's reference library: files they upload, import from a URL, or take from their own
 * creations, to use in generations.
 *
 * Pipeline (memory stays bounded: bytes flow to a temp file, never into a buffer):
 *   stream to DATA_DIR/tmp while counting (abort past the largest ceiling of any kind)
 *   -> sniff the bytes (sniff.ts; the declared type and the name are ignored)
 *   -> video: refuse frames larger than the catalog's largest output, at least 4K (frame-bound.ts),
 *      from ffprobe's header facts, before anything decodes a frame
 *   -> recheck the size against the ceiling of the kind found
 *   -> images: sharp decodes (bounded pixels), auto-rotates from EXIF, re-encodes (JPEG q90, or
 *      PNG when the image has an alpha channel; GIF and WebP become a still JPEG/PNG, since no
 *      model accepts GIF) which drops ALL metadata (EXIF incl. GPS, XMP, IPTC, comments)
 *   -> video: ffmpeg remux without global metadata or chapters (drops location atoms), first video
 *      stream and the audio streams only (drops data/timecode/location tracks), faststart;
 *      poster = first frame
 *   -> audio: the same remux for the first audio stream (drops ID3 tags, cover art)
 *   -> per-kind duration ceilings, store original + 320 px JPEG preview, insert the row.
 *
 * A kind's ceiling is the most any model in the catalog accepts (largest maxBytes, widest
 * seconds range, union of content types); each model's own limits are checked at generation
 * submit with `checkAgainstLimit`.
 */

export interface KindCeiling {
  maxBytes: number;
  mimeTypes: string[];
  minSeconds?: number;
  maxSeconds?: number;
}

export type Ceilings = Record<MediaKind, KindCeiling | null>;

/** The most the catalog accepts per kind (null: no model takes that kind). */
export function referenceCeilings(entries: readonly Pick<CatalogEntry, 'references'>[] = builtinCatalog): Ceilings {
  const out: Ceilings = { image: null, video: null, audio: null };
  for (const entry of entries) {
    for (const kind of ['image', 'video', 'audio'] as const) {
      const limit = entry.references[kind];
      if (!limit) continue;
      const prev = out[kind];
      if (!prev) {
        out[kind] = {
          maxBytes: limit.maxBytes,
          mimeTypes: [...limit.mimeTypes],
          ...(limit.minSeconds !== undefined ? { minSeconds: limit.minSeconds } : {}),
          ...(limit.maxSeconds !== undefined ? { maxSeconds: limit.maxSeconds } : {}),
        };
        continue;
      }
      prev.maxBytes = Math.max(prev.maxBytes, limit.maxBytes);
      prev.mimeTypes = [...new Set([...prev.mimeTypes, ...limit.mimeTypes])];
      // a model without a bound removes the bound
      if (prev.minSeconds !== undefined) {
        if (limit.minSeconds === undefined) delete prev.minSeconds;
        else prev.minSeconds = Math.min(prev.minSeconds, limit.minSeconds);
      }
      if (prev.maxSeconds !== undefined) {
        if (limit.maxSeconds === undefined) delete prev.maxSeconds;
        else prev.maxSeconds = Math.max(prev.maxSeconds, limit.maxSeconds);
      }
    }
  }
  return out;
}

/** The largest file any kind accepts: the streaming cap before the kind is known. */
export const largestCeiling = (ceilings: Ceilings) => Math.max(0, ...Object.values(ceilings).map((c) => c?.maxBytes ?? 0));

const MIME_ALIASES: Record<string, string[]> = { 'audio/wav': ['audio/x-wav', 'audio/wave'], 'audio/x-wav': ['audio/wav'] };

/**
 * Why a stored reference does not fit one model's limit for its kind, as a sentence, or null when
 * it fits. (The caller checks that the model takes this kind at all.)
 */
export function checkAgainstLimit(media: Pick<MediaRow, 'kind' | 'contentType' | 'sizeBytes' | 'durationSeconds'>, limit: ReferenceLimit): string | null {
  const type = (media.contentType.split(';')[0] ?? '').trim().toLowerCase();
  const accepted = limit.mimeTypes.map((t) => t.toLowerCase());
  if (!accepted.includes(type) && !(MIME_ALIASES[type] ?? []).some((alias) => accepted.includes(alias))) {
    return `This ${media.kind} is ${type}; this model accepts ${limit.mimeTypes.join(', ')}.`;
  }
  if (media.sizeBytes > limit.maxBytes) return `This ${media.kind} is ${formatMb(media.sizeBytes)}; this model accepts at most ${formatMb(limit.maxBytes)}.`;
  const seconds = media.durationSeconds;
  if (seconds !== null && limit.minSeconds !== undefined && seconds < limit.minSeconds) {
    return `This ${media.kind} is ${round1(seconds)} s long; this model needs at least ${limit.minSeconds} s.`;
  }
  if (seconds !== null && limit.maxSeconds !== undefined && seconds > limit.maxSeconds + 0.05) {
    return `This ${media.kind} is ${round1(seconds)} s long; this model accepts at most ${limit.maxSeconds} s.`;
  }
  return null;
}

const round1 = (n: number) => Math.round(n * 10) / 10;

/** A user's file name for display: no path, no control or bidi characters, at most 200 characters. */
export function cleanFileName(name: string | null | undefined): string | null {
  if (!name) return null;
  const base = name.split(/[\\/]/).pop() ?? '';
  const clean = Array.from(
    base
      .normalize('NFC')
      .replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '')
      .replace(/[\p{Cc}\u200e\u200f\u202a-\u202e\u2066-\u2069]/gu, '')
      .trim(),
  )
    .slice(0, 200)
    .join('')
    .trim();
  return clean || null;
}

export interface UploadMeta {
  fileName?: string | null | undefined;
  /** the type the client declared: logged, never trusted */
  declaredType?: string | null | undefined;
  /** the request's Content-Length, when known (refused early when far above the ceiling) */
  contentLength?: number | null | undefined;
}

export interface MediaService {
  readonly ceilings: Ceilings;
  /** the largest reference file of any kind (the upload stream's cap) */
  readonly maxUploadBytes: number;
  upload(userId: string, stream: Readable, meta?: UploadMeta): Promise<MediaView>;
  importUrl(userId: string, url: string): Promise<MediaView>;
  /** the same import for a generation's URL reference at dispatch (the submit was already admitted: no rate limit) */
  importForTask(userId: string, url: string): Promise<MediaRow>;
  fromCreation(userId: string, generationId: string, as: 'video' | 'image'): Promise<MediaView>;
  list(userId: string, query: { limit: number; cursor?: string | undefined; kind?: MediaKind | undefined }): Promise<MediaList>;
  get(userId: string, id: string): Promise<MediaView>;
  delete(userId: string, id: string): Promise<void>;
  /** the user's live media for these ids, in the order given; a 400 naming the first id that is not theirs or is deleted */
  getOwnedForGeneration(userId: string, ids: readonly string[]): Promise<MediaRow[]>;
  /** a signed URL of the stored file (what providers get) */
  signedUrlFor(row: MediaRow, expiresInSeconds: number): Promise<string>;
  toView(row: MediaRow): Promise<MediaView>;
}

export interface MediaServiceDeps {
  database: Database;
  queue: JobQueue;
  store: ObjectStore;
  config: Config;
  logger: Logger;
  rateLimiter?: RateLimiter;
  /** signed view URLs expire, and upload windows end, by it (default: the system clock) */
  clock?: Clock;
  /** reference screening (issue 16): a flagged file is refused (422) and kept only as a case's evidence */
  moderation?: Pick<ModerationGate, 'checkReference'>;
  catalog?: readonly (Pick<CatalogEntry, 'references'> & Partial<Pick<CatalogEntry, 'resolutions' | 'aspectRatios'>>)[];
}

/** room for the multipart framing around the file */
export const MULTIPART_MARGIN_BYTES = 64 * 1024;
/** images above this many pixels are refused (about 8000 x 5000); bounds decoder memory */
export const MAX_IMAGE_PIXELS = 40_000_000;
const PREVIEW_PX = 320;
const VIEW_URL_SECONDS = 3600;

type Field = 'file' | 'url' | 'generationId';

interface Stored {
  kind: MediaKind;
  contentType: string;
  ext: string;
  file: string;
  preview: string | null;
  width: number | null;
  height: number | null;
  durationSeconds: number | null;
}

const VIDEO_OUT = {
  mp4: { muxer: 'mp4', type: 'video/mp4', ext: 'mp4' },
  mov: { muxer: 'mov', type: 'video/quicktime', ext: 'mov' },
  webm: { muxer: 'webm', type: 'video/webm', ext: 'webm' },
  matroska: { muxer: 'matroska', type: 'video/x-matroska', ext: 'mkv' },
} as const;
const AUDIO_OUT = {
  mp3: { muxer: 'mp3', type: 'audio/mpeg', ext: 'mp3' },
  wav: { muxer: 'wav', type: 'audio/wav', ext: 'wav' },
  aac: { muxer: 'adts', type: 'audio/aac', ext: 'aac' },
  m4a: { muxer: 'mp4', type: 'audio/mp4', ext: 'm4a' },
  mp4: { muxer: 'mp4', type: 'audio/mp4', ext: 'm4a' },
  mov: { muxer: 'mp4', type: 'audio/mp4', ext: 'm4a' },
  webm: { muxer: 'webm', type: 'audio/webm', ext: 'webm' },
  matroska: { muxer: 'matroska', type: 'audio/x-matroska', ext: 'mka' },
} as const;
type AvOutput = (typeof VIDEO_OUT)[keyof typeof VIDEO_OUT] | (typeof AUDIO_OUT)[keyof typeof AUDIO_OUT];
const IMAGE_TYPES: Record<string, string> = { jpeg: 'image/jpeg', png: 'image/png', webp: 'image/webp', gif: 'image/gif' };

export function createMediaService(deps: MediaServiceDeps): MediaService {
  const { database, queue, store, config, logger } = deps;
  const clock = deps.clock ?? systemClock;
  const rateLimiter = deps.rateLimiter ?? createRateLimiter(database, clock);
  const ceilings = referenceCeilings(deps.catalog ?? builtinCatalog);
  const frameBound = videoFrameBound(deps.catalog ?? builtinCatalog);
  const maxUploadBytes = largestCeiling(ceilings);
  const tmpRoot = path.join(config.dataDir, 'tmp');
  const allowHosts = parseAllowHosts(config.REFERENCE_FETCH_ALLOW_HOSTS);
  const ffmpeg = () => ffmpegPath(config.FFMPEG_PATH);
  const probeOpts = config.FFPROBE_PATH ? { ffprobe: config.FFPROBE_PATH } : {};

  const rejected = (field: Field, message: string) => invalidRequest([{ field, message }]);
  const tooLarge = (field: Field, message: string) =>
    field === 'file' ? new AppError('payload_too_large', message, 413, { fields: [{ field, message }] }) : rejected(field, message);

  async function throttle(userId: string): Promise<void> {
    const r = await rateLimiter.hit(`uploads:user:${userId}`, config.UPLOADS_PER_HOUR, 3600);
    if (!r.allowed) {
      throw new AppError(
        'rate_limited',
        `You have added ${r.limit} reference files in the last hour, the most allowed. Try again in ${Math.ceil(r.retryAfterSeconds / 60)} min.`,
        429,
        { extra: { retryAfterSeconds: r.retryAfterSeconds } },
      );
    }
  }

  // ---------------------------------------------------------------------------------------
  // processing

  async function processImage(input: string, sniffed: SniffedMedia, dir: string, field: Field, keepBytes: boolean): Promise<Stored> {
    let meta: sharp.Metadata;
    try {
      meta = await sharp(input, { limitInputPixels: false }).metadata();
    } catch {
      throw rejected(field, 'This image could not be read: it may be damaged or incomplete.');
    }
    if (meta.format !== sniffed.format) {
      throw rejected(field, 'This image could not be read: its content does not match its format.');
    }
    const pixels = meta.width * meta.height; // (NaN, falsy, if a decoder ever left one out)
    if (!pixels) throw rejected(field, 'This image has no size: it may be damaged.');
    if (pixels > MAX_IMAGE_PIXELS) {
      throw rejected(field, `This image is ${meta.width} x ${meta.height} pixels; images may have at most ${MAX_IMAGE_PIXELS / 1_000_000} megapixels.`);
    }
    const open = () => sharp(input, { limitInputPixels: MAX_IMAGE_PIXELS, failOn: 'error', animated: false });
    let file = input;
    const imageType = IMAGE_TYPES[sniffed.format];
    if (!imageType) throw rejected(field, 'This file is not a supported image format.');
    let contentType = imageType;
    let ext = sniffed.format === 'jpeg' ? 'jpg' : sniffed.format;
    let width = meta.width;
    let height = meta.height;
    try {
      if (!keepBytes) {
        // re-encoding keeps no metadata at all (sharp drops EXIF, XMP, IPTC unless asked to keep them)
        const alpha = meta.hasAlpha;
        ext = alpha ? 'png' : 'jpg';
        contentType = alpha ? 'image/png' : 'image/jpeg';
        file = path.join(dir, `original.${ext}`);
        const img = open().rotate();
        const info = await (alpha ? img.png({ compressionLevel: 6 }) : img.jpeg({ quality: 90, chromaSubsampling: '4:4:4' })).toFile(file);
        width = info.width;
        height = info.height;
      } else if ((meta.orientation ?? 1) >= 5) {
        [width, height] = [height, width];
      }
      const preview = path.join(dir, 'preview.jpg');
      await open()
        .rotate()
        .resize(PREVIEW_PX, PREVIEW_PX, { fit: 'inside', withoutEnlargement: true })
        .flatten({ background: '#ffffff' })
        .jpeg({ quality: 80 })
        .toFile(preview);
      return { kind: 'image', contentType, ext, file, preview, width, height, durationSeconds: null };
    } catch (err) {
      if (err instanceof AppError) throw err;
      logger.info({ err }, 'image rejected by the decoder');
      throw rejected(field, 'This image could not be read: it may be damaged or incomplete.');
    }
  }

  async function remux(input: string, output: string, args: string[], field: Field): Promise<void> {
    try {
      await runTool(
        ffmpeg(),
        ['-y', '-v', 'error', '-i', input, ...args, '-map_metadata', '-1', '-map_chapters', '-1', '-c', 'copy', '-fflags', '+bitexact', output],
        {
          timeoutMs: 120_000,
        },
      );
    } catch (err) {
      logger.info({ err }, 'media remux failed');
      throw rejected(field, 'This file could not be processed: it may be damaged, or use codecs its container does not allow.');
    }
  }

  async function poster(input: string, output: string): Promise<string | null> {
    try {
      await runTool(
        ffmpeg(),
        [
          '-y',
          '-v',
          'error',
          '-i',
          input,
          '-frames:v',
          '1',
          '-vf',
          `scale=w=${PREVIEW_PX}:h=${PREVIEW_PX}:force_original_aspect_ratio=decrease`,
          '-q:v',
          '4',
          output,
        ],
        { timeoutMs: 60_000 },
      );
      await fs.access(output);
      return output;
    } catch (err) {
      logger.warn({ err }, 'no poster for a reference video');
      return null;
    }
  }

  async function processAv(
    input: string,
    sniffed: Extract<SniffedMedia, { kind: 'video' | 'audio' }>,
    dir: string,
    field: Field,
    keepBytes: boolean,
  ): Promise<Stored> {
    const video = sniffed.kind === 'video';
    const outputs: Partial<Record<string, AvOutput>> = video ? VIDEO_OUT : AUDIO_OUT;
    const out = outputs[sniffed.format];
    if (!out) throw rejected(field, 'This file is not a supported video or audio format.');
    let file = input;
    let facts: StreamFacts = sniffed.probe;
    if (!keepBytes) {
      file = path.join(dir, `original.${out.ext}`);
      const faststart = out.muxer === 'mp4' || out.muxer === 'mov' ? ['-movflags', '+faststart'] : [];
      const maps = video ? ['-map', '0:v:0', '-map', '0:a?', '-dn', '-sn'] : ['-map', '0:a:0', '-vn', '-dn', '-sn'];
      await remux(input, file, [...maps, ...faststart, '-f', out.muxer], field);
      facts = await probeStreams(file, probeOpts).catch(() => {
        throw rejected(field, 'This file could not be processed: it may be damaged.');
      });
      if (!(facts.durationSeconds > 0)) throw rejected(field, 'This file has no playable duration: it may be damaged.');
    }
    const preview = video ? await poster(file, path.join(dir, 'preview.jpg')) : null;
    return {
      kind: sniffed.kind,
      contentType: out.type,
      ext: out.ext,
      file,
      preview,
      width: video ? facts.width : null,
      height: video ? facts.height : null,
      durationSeconds: facts.durationSeconds,
    };
  }

  function checkCeiling(kind: MediaKind, size: number, seconds: number | null, field: Field): KindCeiling {
    const ceiling = ceilings[kind];
    if (!ceiling) throw rejected(field, `No model accepts ${kind} references.`);
    if (size > ceiling.maxBytes) throw tooLarge(field, `This ${kind} is ${formatMb(size)}; ${kind} references may be at most ${formatMb(ceiling.maxBytes)}.`);
    if (seconds !== null) {
      if (ceiling.minSeconds !== undefined && seconds < ceiling.minSeconds) {
        throw rejected(field, `This ${kind} is ${round1(seconds)} s long; ${kind} references must be at least ${ceiling.minSeconds} s.`);
      }
      if (ceiling.maxSeconds !== undefined && seconds > ceiling.maxSeconds + 0.05) {
        throw rejected(field, `This ${kind} is ${round1(seconds)} s long; ${kind} references may be at most ${ceiling.maxSeconds} s.`);
      }
    }
    return ceiling;
  }

  /** Fetch a public URL into the user's library (SSRF-safe, size- and time-limited). */
  async function importFromUrl(userId: string, url: string): Promise<MediaRow> {
    let name: string | null = null;
    return ingest(userId, { source: 'url', name: () => name, field: 'url' }, async (file) => {
      try {
        const res = await safeFetch(url, { maxBytes: maxUploadBytes, timeoutMs: config.REFERENCE_FETCH_TIMEOUT_MS, allowHosts, to: file });
        const final = new URL(res.finalUrl);
        name = cleanFileName(decodeSafe(final.pathname.split('/').pop() ?? '')) ?? final.hostname;
      } catch (err) {
        if (err instanceof SafeFetchError) throw rejected('url', `The URL ${err.message}.`);
        throw err;
      }
    });
  }

  /**
   * The shared tail of every way in: `write` fills the temp file; then sniff, process, store,
   * insert. `keepBytes` stores the bytes as they are (our own creations: keeps their provenance).
   */
  async function ingest(
    userId: string,
    opts: { source: 'upload' | 'url'; name: string | null | (() => string | null); field: Field; keepBytes?: boolean },
    write: (file: string) => Promise<void>,
  ): Promise<MediaRow> {
    const id = randomUUID();
    await fs.mkdir(tmpRoot, { recursive: true });
    const dir = await fs.mkdtemp(path.join(tmpRoot, `media-${id}-`));
    const put: string[] = [];
    try {
      const input = path.join(dir, 'input');
      await write(input);
      const size = (await fs.stat(input)).size;
      let sniffed: SniffedMedia;
      try {
        sniffed = await sniffFile(input, probeOpts);
      } catch (err) {
        if (err instanceof MediaRejected) throw rejected(opts.field, err.message);
        throw err;
      }
      checkCeiling(sniffed.kind, size, sniffed.probe?.durationSeconds ?? null, opts.field);
      if (sniffed.kind === 'video') {
        // before the remux and the poster: the poster decodes a frame, and a frame's memory is its size
        const issue = frameIssue(sniffed.probe.frames, frameBound);
        if (issue) throw new AppError('reference_too_large', issue, 400, { fields: [{ field: opts.field, message: issue }] });
      }
      const keepBytes = opts.keepBytes ?? false;
      const stored =
        sniffed.kind === 'image' ? await processImage(input, sniffed, dir, opts.field, keepBytes) : await processAv(input, sniffed, dir, opts.field, keepBytes);
      const storedSize = (await fs.stat(stored.file)).size;
      checkCeiling(stored.kind, storedSize, stored.durationSeconds, opts.field);
      // our own creations (keepBytes) were screened when they were made
      if (!keepBytes && deps.moderation) {
        await deps.moderation.checkReference(userId, {
          path: stored.file,
          originalPath: input,
          kind: stored.kind,
          contentType: stored.contentType,
          sizeBytes: storedSize,
        });
      }

      const folder = ['uploads', userId.toLowerCase(), id] as const;
      const key = objectKey(...folder, `original.${stored.ext}`);
      put.push(key);
      const original = await store.put(key, createReadStream(stored.file), { contentType: stored.contentType, contentLength: storedSize });
      let previewKey: string | null = null;
      if (stored.preview) {
        previewKey = objectKey(...folder, 'preview.jpg');
        put.push(previewKey);
        const previewSize = (await fs.stat(stored.preview)).size;
        await store.put(previewKey, createReadStream(stored.preview), { contentType: 'image/jpeg', contentLength: previewSize });
      }
      return await insertMedia(database, {
        id,
        userId,
        kind: stored.kind,
        source: opts.source,
        name: typeof opts.name === 'function' ? opts.name() : opts.name,
        contentType: stored.contentType,
        storageKey: key,
        previewKey,
        sizeBytes: original.size,
        sha256: original.sha256,
        width: stored.width,
        height: stored.height,
        durationSeconds: stored.durationSeconds,
      });
    } catch (err) {
      if (put.length) await store.deleteMany(put).catch((e: unknown) => logger.warn({ err: e, keys: put }, 'could not remove objects of a failed upload'));
      throw err;
    } finally {
      await fs.rm(dir, { recursive: true, force: true }).catch(() => {});
    }
  }

  // ---------------------------------------------------------------------------------------
  // views

  async function toView(row: MediaRow): Promise<MediaView> {
    const expires = new Date(clock.nowMs() + VIEW_URL_SECONDS * 1000);
    const [url, previewUrl] = await Promise.all([
      store.signedUrl(row.storageKey, { expiresInSeconds: VIEW_URL_SECONDS, inline: true }),
      row.previewKey ? store.signedUrl(row.previewKey, { expiresInSeconds: VIEW_URL_SECONDS, inline: true }) : Promise.resolve(null),
    ]);
    return {
      id: row.id,
      kind: row.kind,
      source: row.source,
      name: row.name,
      contentType: row.contentType,
      sizeBytes: row.sizeBytes,
      width: row.width,
      height: row.height,
      durationSeconds: row.durationSeconds,
      url,
      previewUrl,
      urlExpiresAt: expires.toISOString(),
      createdAt: row.createdAt.toISOString(),
    };
  }

  const tooLargeUpload = () => tooLarge('file', `The file is larger than ${formatMb(maxUploadBytes)}, the most a reference file may be.`);

  return {
    ceilings,
    maxUploadBytes,

    async upload(userId, stream, meta = {}) {
      if (meta.contentLength && meta.contentLength > maxUploadBytes + MULTIPART_MARGIN_BYTES) {
        stream.resume();
        throw tooLargeUpload();
      }
      await throttle(userId);
      const row = await ingest(userId, { source: 'upload', name: cleanFileName(meta.fileName), field: 'file' }, async (file) => {
        let seen = 0;
        const counter = new Transform({
          transform(chunk: Buffer, _enc, cb) {
            seen += chunk.length;
            if (seen > maxUploadBytes) cb(tooLargeUpload());
            else cb(null, chunk);
          },
        });
        try {
          await pipeline(stream, counter, createWriteStream(file));
        } catch (err) {
          if (err instanceof AppError) throw err;
          const e = err as { statusCode?: number; code?: string };
          if (e.statusCode === 413 || e.code === 'FST_REQ_FILE_TOO_LARGE') throw tooLargeUpload();
          throw new AppError('upload_interrupted', 'The upload was interrupted before the file arrived in full. Please try again.', 400);
        }
        // busboy stops at its fileSize limit and marks the stream truncated
        if ((stream as Readable & { truncated?: boolean }).truncated) throw tooLargeUpload();
      });
      logger.info(
        { mediaId: row.id, kind: row.kind, contentType: row.contentType, declaredType: meta.declaredType ?? null, size: row.sizeBytes },
        'reference uploaded',
      );
      return toView(row);
    },

    async importUrl(userId, url) {
      await throttle(userId);
      return toView(await importFromUrl(userId, url));
    },

    importForTask: importFromUrl,

    async fromCreation(userId, generationId, as) {
      const g = await getUserGeneration(database, userId, generationId);
      if (!g || g.status !== 'succeeded') throw notFound('Creation');
      const location = as === 'video' ? g.outputUrl : g.outputThumbnailUrl;
      if (!location) throw rejected('generationId', as === 'video' ? 'This creation has no stored video.' : 'This creation has no poster image.');
      if (!location.startsWith(STORE_PREFIX)) throw rejected('generationId', 'This creation is not in our storage yet, so it cannot be used as a reference.');
      const key = location.slice(STORE_PREFIX.length);
      await throttle(userId);
      const head = await store.head(key).catch(() => null);
      if (!head) throw rejected('generationId', 'The file of this creation is no longer stored.');
      const ceiling = ceilings[as];
      if (ceiling && head.size > ceiling.maxBytes) {
        throw rejected('generationId', `This creation's ${as} is ${formatMb(head.size)}; ${as} references may be at most ${formatMb(ceiling.maxBytes)}.`);
      }
      const row = await ingest(
        userId,
        { source: 'upload', name: `creation-${g.id.slice(0, 8)}.${as === 'video' ? 'mp4' : 'jpg'}`, field: 'generationId', keepBytes: true },
        async (file) => {
          const { body } = await store.get(key);
          await pipeline(body, createWriteStream(file));
        },
      );
      if (row.kind !== as) {
        await markMediaDeletedById(database, row.id);
        await store.deleteMany([row.storageKey, ...(row.previewKey ? [row.previewKey] : [])]).catch(() => {});
        throw rejected('generationId', `This creation's file is not ${as === 'video' ? 'a video' : 'an image'}.`);
      }
      return toView(row);
    },

    async list(userId, query) {
      const page = await listUserMedia(database, userId, query);
      if (!page) throw invalidRequest([{ field: 'cursor', message: 'The cursor is not valid; start again without it.' }]);
      return { items: await Promise.all(page.items.map(toView)), nextCursor: page.nextCursor };
    },

    async get(userId, id) {
      const row = await getUserMedia(database, userId, id);
      if (!row) throw notFound('Reference file');
      return toView(row);
    },

    async delete(userId, id) {
      const row = await database.transaction(async (tx) => {
        const deleted = await markMediaDeleted(tx, userId, id);
        if (!deleted) return null;
        // under a legal hold: hidden from the user, the row and files stay until the hold ends (the purge removes them then)
        if ((await heldMediaAmong(tx, [deleted.id], clock.now())).size) return { ...deleted, held: true };
        const keys = [deleted.storageKey, ...(deleted.previewKey ? [deleted.previewKey] : [])];
        await queue.enqueue(mediaDeleteObjects, { keys }, { tx });
        return { ...deleted, held: false };
      });
      if (!row) throw notFound('Reference file');
      if (row.held) return;
      // at once, best effort: the job retries whatever this misses
      await store
        .deleteMany([row.storageKey, ...(row.previewKey ? [row.previewKey] : [])])
        .catch((err: unknown) => logger.warn({ err, mediaId: row.id }, 'immediate delete of reference objects failed; the job will retry'));
    },

    async getOwnedForGeneration(userId, ids) {
      const rows = await getUserMediaMany(database, userId, [...new Set(ids)]);
      const byId = new Map(rows.map((r) => [r.id, r]));
      return ids.map((id, i) => {
        const row = byId.get(id);
        if (!row) {
          throw new AppError('invalid_request', `Reference file ${id} was not found in your library.`, 400, {
            fields: [{ field: `references.${i}.mediaId`, message: `Reference file ${id} was not found in your library.` }],
          });
        }
        return row;
      });
    },

    signedUrlFor(row, expiresInSeconds) {
      return store.signedUrl(row.storageKey, { expiresInSeconds, contentType: row.contentType });
    },

    toView,
  };
}

function decodeSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
