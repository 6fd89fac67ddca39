import { createReadStream, createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import type { ProviderOutput } from '../../adapters/providers/provider';
import { objectKey, type ObjectStore } from '../../adapters/storage';
import { filterValue } from '../../adapters/providers/local-render';
import { ffmpegPath, fontFile, probeMedia, runTool } from '../../lib/ffmpeg';
import type { GenerationRow } from '../generations/generations.repo';
import type { OutputHandoff, StoredOutput } from '../generations/output';
import type { Provenance } from './provenance';

/**
 * Output ingest: take a finished upstream video into our own store, before the provider's copy
 * expires. Download (streamed, size-capped, timed), check it is a real video with ffprobe, make a
 * poster from its first frame, embed a C2PA manifest in both (AI-generated, which model, which
 * generation), and store them under keys built from ids only. The task then points at
 * `store:<key>`, which the API serves through expiring signed URLs.
 */
export const STORE_PREFIX = 'store:';

export interface IngestOptions {
  store: ObjectStore;
  provenance: Provenance;
  /** scratch space (DATA_DIR/tmp) */
  workDir: string;
  /** model names for the manifest */
  modelName: (modelId: string) => string;
  maxBytes?: number;
  downloadTimeoutMs?: number;
  ffmpeg?: string;
  ffprobe?: string;
  /** text drawn in the bottom-right corner of every video (re-encodes it); unset: none */
  watermark?: string;
}

/** the hover preview: this many seconds, this wide, silent */
const PREVIEW_SECONDS = 3;
const PREVIEW_WIDTH = 320;

const DEFAULT_MAX_BYTES = 2 * 1024 ** 3;

async function download(url: string, to: string, maxBytes: number, timeoutMs: number): Promise<void> {
  if (url.startsWith('file:')) {
    // the local renderer's output, on this machine
    await fs.copyFile(fileURLToPath(url), to);
    return;
  }
  if (!/^https?:\/\//i.test(url)) throw new Error(`cannot fetch an output from ${url.slice(0, 40)}`);
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'follow' });
  if (!res.ok || !res.body) throw new Error(`the provider's output answered ${res.status}`);
  const declared = Number(res.headers.get('content-length') ?? 0);
  if (declared > maxBytes) throw new Error(`the output is ${declared} bytes, over the ${maxBytes} limit`);
  let seen = 0;
  // counted inside the pipeline: a 'data' listener on the source would start the flow before the
  // file is attached, and the first chunks (the MP4 header) would be lost
  const cap = new Transform({
    transform(chunk: Buffer, _enc, done) {
      seen += chunk.length;
      if (seen > maxBytes) done(new Error(`the output is over the ${maxBytes} byte limit`));
      else done(null, chunk);
    },
  });
  await pipeline(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>), cap, createWriteStream(to));
}

export function createIngestHandoff(opts: IngestOptions): OutputHandoff {
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES;
  return {
    async accept(task: GenerationRow, output: ProviderOutput): Promise<StoredOutput> {
      await fs.mkdir(opts.workDir, { recursive: true });
      const dir = await fs.mkdtemp(path.join(opts.workDir, `ingest-${task.id}-`));
      try {
        const raw = path.join(dir, 'raw.mp4');
        await download(output.videoUrl, raw, maxBytes, opts.downloadTimeoutMs ?? 10 * 60_000);
        const probe = await probeMedia(raw, opts.ffprobe ? { ffprobe: opts.ffprobe } : {});
        if (!probe.videoCodec || probe.durationSeconds <= 0) throw new Error('the provider output is not a playable video');
        const ffmpeg = ffmpegPath(opts.ffmpeg);
        // moov first (playback starts before the whole file arrives), and the optional watermark
        const ready = path.join(dir, 'ready.mp4');
        if (opts.watermark) {
          const textFile = path.join(dir, 'watermark.txt');
          await fs.writeFile(textFile, opts.watermark);
          const draw = `drawtext=${Object.entries({
            fontfile: fontFile(),
            textfile: textFile,
            expansion: 'none',
            fontsize: 'h/28',
            fontcolor: 'white@0.75',
            shadowcolor: 'black@0.6',
            shadowx: '2',
            shadowy: '2',
            x: 'w-tw-h/40',
            y: 'h-th-h/40',
          })
            .map(([k, v]) => `${k}=${filterValue(v)}`)
            .join(':')}`;
          await runTool(
            ffmpeg,
            [
              '-y',
              '-v',
              'error',
              '-i',
              raw,
              '-map',
              '0:v:0',
              '-map',
              '0:a?',
              '-vf',
              draw,
              '-c:v',
              'libx264',
              '-preset',
              'veryfast',
              '-crf',
              '20',
              '-pix_fmt',
              'yuv420p',
              '-c:a',
              'copy',
              '-map_metadata',
              '-1',
              '-movflags',
              '+faststart',
              ready,
            ],
            { timeoutMs: 15 * 60_000 },
          );
        } else {
          await runTool(ffmpeg, ['-y', '-v', 'error', '-i', raw, '-map', '0', '-c', 'copy', '-map_metadata', '-1', '-movflags', '+faststart', ready], {
            timeoutMs: 5 * 60_000,
          });
        }
        const poster = path.join(dir, 'poster.jpg');
        await runTool(ffmpeg, ['-y', '-v', 'error', '-i', ready, '-frames:v', '1', '-q:v', '3', poster], { timeoutMs: 60_000 });
        const preview = path.join(dir, 'preview.mp4');
        await runTool(
          ffmpeg,
          [
            '-y',
            '-v',
            'error',
            '-i',
            ready,
            '-t',
            String(PREVIEW_SECONDS),
            '-an',
            '-vf',
            `scale=${PREVIEW_WIDTH}:-2`,
            '-c:v',
            'libx264',
            '-preset',
            'veryfast',
            '-crf',
            '30',
            '-pix_fmt',
            'yuv420p',
            '-movflags',
            '+faststart',
            preview,
          ],
          { timeoutMs: 5 * 60_000 },
        );
        const info = {
          generationId: task.id,
          modelId: task.modelId,
          modelName: opts.modelName(task.modelId),
          provider: task.provider ?? 'unknown',
          createdAt: task.createdAt,
        };
        const video = path.join(dir, 'video.mp4');
        const image = path.join(dir, 'poster.signed.jpg');
        const small = path.join(dir, 'preview.signed.mp4');
        await opts.provenance.signVideo(ready, video, info);
        await opts.provenance.signImage(poster, image, info);
        await opts.provenance.signVideo(preview, small, info);
        const at = (name: string) => objectKey('generations', task.userId.toLowerCase(), task.id.toLowerCase(), name);
        const put = async (file: string, key: string, contentType: string) => {
          // stat first: a stream opened before an await could fail with no listener attached
          const { size } = await fs.stat(file);
          return opts.store.put(key, createReadStream(file), { contentType, contentLength: size });
        };
        const stored = await put(video, at('video.mp4'), 'video/mp4');
        await put(image, at('poster.jpg'), 'image/jpeg');
        await put(small, at('preview.mp4'), 'video/mp4');
        const final = await probeMedia(video, opts.ffprobe ? { ffprobe: opts.ffprobe } : {});
        return {
          videoUrl: `${STORE_PREFIX}${at('video.mp4')}`,
          thumbnailUrl: `${STORE_PREFIX}${at('poster.jpg')}`,
          previewUrl: `${STORE_PREFIX}${at('preview.mp4')}`,
          contentType: 'video/mp4',
          media: {
            durationSeconds: final.durationSeconds,
            width: final.width,
            height: final.height,
            codec: final.videoCodec,
            sizeBytes: stored.size,
            sha256: stored.sha256,
          },
        };
      } finally {
        await fs.rm(dir, { recursive: true, force: true });
      }
    },
  };
}
