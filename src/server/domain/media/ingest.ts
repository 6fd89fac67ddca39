import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import type { ProviderOutput } from '../../adapters/providers/provider';
import { objectKey, type ObjectStore } from '../../adapters/storage';
import { ffmpegPath, probeMedia, runTool } from '../../lib/ffmpeg';
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
}

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
  const body = Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>);
  body.on('data', (chunk: Buffer) => {
    seen += chunk.length;
    if (seen > maxBytes) body.destroy(new Error(`the output is over the ${maxBytes} byte limit`));
  });
  await pipeline(body, (await import('node:fs')).createWriteStream(to));
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
        const poster = path.join(dir, 'poster.jpg');
        await runTool(ffmpegPath(opts.ffmpeg), ['-y', '-v', 'error', '-i', raw, '-frames:v', '1', '-q:v', '3', poster], { timeoutMs: 60_000 });
        const info = {
          generationId: task.id,
          modelId: task.modelId,
          modelName: opts.modelName(task.modelId),
          provider: task.provider ?? 'unknown',
          createdAt: task.createdAt,
        };
        const video = path.join(dir, 'video.mp4');
        const image = path.join(dir, 'poster.signed.jpg');
        await opts.provenance.signVideo(raw, video, info);
        await opts.provenance.signImage(poster, image, info);
        const videoKey = objectKey('generations', task.userId.toLowerCase(), task.id.toLowerCase(), 'video.mp4');
        const posterKey = objectKey('generations', task.userId.toLowerCase(), task.id.toLowerCase(), 'poster.jpg');
        await opts.store.put(videoKey, createReadStream(video), { contentType: 'video/mp4', contentLength: (await fs.stat(video)).size });
        await opts.store.put(posterKey, createReadStream(image), { contentType: 'image/jpeg', contentLength: (await fs.stat(image)).size });
        return { videoUrl: `${STORE_PREFIX}${videoKey}`, thumbnailUrl: `${STORE_PREFIX}${posterKey}`, contentType: 'video/mp4' };
      } finally {
        await fs.rm(dir, { recursive: true, force: true });
      }
    },
  };
}
